"""Issue 27, a new user's pass over inference: export never overwrites what it did not write,
predict fails when nothing could be predicted, a palindrome model names a bad sequence,
`sgtk.load` says what a wrong file is, and `generate --length 0` generates nothing."""

import json
from pathlib import Path

import pytest

import sgtk
from sgtk.errors import SgtkError
from sgtk.inference.export import export_run
from tests.faults.test_inference import molecule_run  # noqa: F401 (a fixture)
from tests.helpers import assert_one_line_error, invoke


@pytest.fixture(scope="module")
def palindrome_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("palindrome") / "run"
    r = invoke("train", "palindrome", "--model", "gcn", "--length", "5", "--hidden", "8",
               "--layers", "1", "--steps", "2", "--eval-every", "2", "--out", run)  # fmt: skip
    assert r.exit_code == 0, r.output
    return run


def test_export_refuses_a_folder_holding_a_file_it_did_not_write(palindrome_run, tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "README.md").write_text("# mine\n")
    assert_one_line_error(invoke("export", palindrome_run, "--out", proj), "README.md")
    assert (proj / "README.md").read_text() == "# mine\n"
    assert sorted(p.name for p in proj.iterdir()) == ["README.md"]
    (proj / "notes.txt").write_text("x")  # beside a file an export does write
    with pytest.raises(SgtkError, match="notes.txt"):
        export_run(palindrome_run, proj)


def test_export_refusals_name_out_in_python_and_its_flag_on_the_cli(palindrome_run, tmp_path):
    from sgtk.errors import ConfigError

    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "README.md").write_text("# mine\n")
    with pytest.raises(ConfigError) as e:
        export_run(palindrome_run, proj)
    assert e.value.field == "out" and str(e.value).startswith(f"out {proj} holds README.md")
    assert_one_line_error(invoke("export", palindrome_run, "--out", proj), f"--out {proj} holds")
    gone = tmp_path / "gone.pt"
    r = invoke("export", gone, "--out", tmp_path / "x")
    assert_one_line_error(r, f"RUN {gone} does not exist")  # the argument, as --help names it


def test_export_refuses_another_run_s_export_but_replaces_its_own(
    palindrome_run,
    molecule_run,  # noqa: F811
    tmp_path,
):
    out = tmp_path / "export"
    assert invoke("export", palindrome_run, "--out", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert invoke("export", palindrome_run, "--out", out).exit_code == 0  # its own: fine
    assert_one_line_error(invoke("export", molecule_run, "--out", out), "another run")
    assert json.loads((out / "config.json").read_text())["task"] == "palindrome"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    with pytest.raises(SgtkError, match="another run"):
        export_run(molecule_run, out)
    copy = tmp_path / "copy"  # the same weights from an export: still the same run
    export_run(out, copy)
    export_run(palindrome_run, copy)


def test_predict_fails_when_no_smiles_could_be_predicted(molecule_run, tmp_path):  # noqa: F811
    r = invoke("predict", "molecules", "--checkpoint", molecule_run, "--smiles", "xyz", "")
    assert_one_line_error(r, "none of the 2 SMILES", "xyz")
    assert r.exit_code == 2
    r = invoke("predict", "molecules", "--checkpoint", molecule_run, "--smiles", "CCO", "")
    assert r.exit_code == 0, r.output
    assert "empty SMILES" in r.stdout and "untokenisable" not in r.stdout
    assert "1 of 2 SMILES could not be predicted" in r.stderr
    data = tmp_path / "bad.csv"
    data.write_text("smiles\nxyz\n")
    r = invoke("predict", "molecules", "--checkpoint", molecule_run, "--data", data,
               "--out", tmp_path / "p.csv")  # fmt: skip
    assert_one_line_error(r, "none of the 1 rows")
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize(
    "sequences, words",
    [
        (["abcd"], ("sequence 0", "'abcd'", "digits 0-9")),
        (["0123", "12a4"], ("sequence 1", "'12a4'", "digits 0-9")),
        ([[1, 2, 3, 12]], ("sequence 0", "digits 0-9")),
        ([[1, 2, -1, 3]], ("sequence 0", "digits 0-9")),
        (["012345"], ("sequence 0", "has 6 digits", "reads 4 digits")),
        ([None], ("sequence 0", "digits 0-9")),
    ],
)
def test_a_palindrome_model_names_a_sequence_it_cannot_read(palindrome_run, sequences, words):
    loaded = sgtk.load(palindrome_run)
    with pytest.raises(SgtkError) as e:
        loaded.predict(sequences)
    assert all(w in str(e.value) for w in words) and "\n" not in str(e.value), e.value
    assert loaded.predict(["0123", [1, 2, 3, 4]]) == loaded.predict(["0123", "1234"])


def test_load_says_what_a_file_that_is_not_a_model_is(palindrome_run, tmp_path):
    script = tmp_path / "model.py"
    script.write_text("import os\n")
    for path in (script, palindrome_run / "metrics.jsonl", palindrome_run / "config.toml"):
        with pytest.raises(SgtkError) as e:
            sgtk.load(path)
        text = str(e.value)
        assert "is not an sgtk checkpoint or export: pass a run folder" in text, text
        assert "weights_only" not in text and "\n" not in text
    with pytest.raises(SgtkError) as e:
        sgtk.load(palindrome_run / "checkpoint.pt")
    assert "is a resume checkpoint: pass the run folder" in str(e.value)
    assert "retrain" not in str(e.value)


@pytest.mark.parametrize("extra", [[], ["--beam", "3"], ["--num-samples", "2"]])
def test_generate_length_0_prints_no_character(extra):
    r = invoke("generate", "--length", "0", "--seed", "1", *extra)
    assert r.exit_code == 0, r.output
    assert {line for line in r.stdout.splitlines() if "sample" not in line} <= {""}, r.stdout
    r = invoke("generate", "--length", "0", "--prefix", "Th", *extra)
    assert r.exit_code == 0, r.output
    assert {line for line in r.stdout.splitlines() if "sample" not in line} == {"Th"}
