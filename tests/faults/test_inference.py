"""Issue 27, inference: predict, export and generate never overwrite their input, never leave
an export where it would shadow a run's model, refuse weights that are not finite and turn
every impossible number or device into one line."""

from pathlib import Path

import pytest
import torch

from sgtk.inference.generate import PRETRAINED
from tests.faults.test_inputs import SMILES, TINY_RUN, targets_with, write_csv
from tests.helpers import assert_one_line_error, invoke


@pytest.fixture(scope="module")
def molecule_run(tmp_path_factory) -> Path:
    """A two-step molecule run (the CLI's own), in a folder of its own."""
    tmp = tmp_path_factory.mktemp("molecules")
    write_csv(tmp / "m.csv", targets_with({}))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp)
        r = invoke("train", "molecules", "--data", "m.csv", "--target-col", "y", *TINY_RUN,
                   "--out", "run")  # fmt: skip
    assert r.exit_code == 0, r.output
    return tmp / "run"


def smiles_csv(path: Path) -> Path:
    path.write_text("smiles\n" + "\n".join(SMILES[:5]) + "\n")
    return path


def test_predict_refuses_an_out_that_is_its_input(molecule_run, tmp_path):
    data = smiles_csv(tmp_path / "in.csv")
    before = data.read_bytes()
    r = invoke("predict", "molecules", "--checkpoint", molecule_run, "--data", data,
               "--out", data)  # fmt: skip
    assert_one_line_error(r, "--out", "is the input")
    assert data.read_bytes() == before
    (tmp_path / "link.csv").symlink_to(data)  # the same file by another name
    r = invoke("predict", "molecules", "--checkpoint", molecule_run, "--data", data,
               "--out", tmp_path / "link.csv")  # fmt: skip
    assert_one_line_error(r, "is the input")
    assert data.read_bytes() == before


def test_predict_and_export_refuse_an_out_inside_the_run_folder(molecule_run, tmp_path):
    data = smiles_csv(tmp_path / "in.csv")
    before = sorted(p.name for p in molecule_run.iterdir())
    r = invoke("predict", "molecules", "--checkpoint", molecule_run, "--data", data,
               "--out", molecule_run / "preds.csv")  # fmt: skip
    assert_one_line_error(r, "inside the model folder")
    for out in (molecule_run, molecule_run / "export"):
        assert_one_line_error(invoke("export", molecule_run, "--out", out), "inside")
    assert sorted(p.name for p in molecule_run.iterdir()) == before  # nothing left behind


def test_a_folder_with_best_pt_and_an_export_is_refused_not_guessed(molecule_run, tmp_path):
    import shutil

    assert invoke("export", molecule_run, "--out", tmp_path / "export").exit_code == 0
    both = tmp_path / "both"
    shutil.copytree(molecule_run, both)
    for name in ("model.safetensors", "config.json"):  # a stale export beside best.pt
        shutil.copy(tmp_path / "export" / name, both / name)
    r = invoke("predict", "molecules", "--checkpoint", both, "--smiles", "CCO")
    assert_one_line_error(r, "ambiguous", "best.pt")
    r = invoke("predict", "molecules", "--checkpoint", both / "best.pt", "--smiles", "CCO")
    assert r.exit_code == 0, r.output


def nan_copy(best: Path, dest: Path) -> Path:
    """``best`` with one weight set to NaN, saved as ``dest/best.pt`` (torch.save: no guard)."""
    state = torch.load(best, weights_only=True)
    name = next(k for k, v in state["model"].items() if v.is_floating_point())
    state["model"][name] = torch.full_like(state["model"][name], float("nan"))
    dest.mkdir()
    torch.save(state, dest / "best.pt")
    return dest


@pytest.mark.parametrize("command", ["generate", "predict", "export"])
def test_non_finite_weights_are_refused(command, molecule_run, tmp_path):
    if command == "generate":
        run = nan_copy(PRETRAINED, tmp_path / "run")
        r = invoke("generate", "--checkpoint", run, "--length", 20, "--seed", 0)
    elif command == "predict":
        run = nan_copy(molecule_run / "best.pt", tmp_path / "run")
        r = invoke("predict", "molecules", "--checkpoint", run, "--smiles", "CCO", "CCC")
    else:
        run = nan_copy(molecule_run / "best.pt", tmp_path / "run")
        r = invoke("export", run, "--out", tmp_path / "export")
        assert not (tmp_path / "export").exists()
    assert_one_line_error(r, "non-finite", "best.pt")
    assert "nan" not in r.stdout.lower()


@pytest.mark.parametrize(
    "args,words",
    [
        (("--seed", 2**70), ("--seed", "out of range")),
        (("--seed", -1), ("--seed", "out of range")),
        (("--length", 10**12), ("--length", "GiB")),
        (("--num-samples", 10**9), ("--num-samples", "GiB")),
        (("--beam", 10**9), ("--beam", "GiB")),
        (("--top-k", 10**6), ("--top-k", "changes nothing")),
    ],
)
def test_generate_numbers_it_cannot_honour_are_one_line(args, words):
    assert_one_line_error(invoke("generate", *args), *words)


def test_a_tiny_tau_samples_as_greedy_does():
    tiny = invoke("generate", "--prefix", "The ", "--length", 40, "--tau", "1e-40", "--seed", 3)
    greedy = invoke("generate", "--prefix", "The ", "--length", 40, "--greedy")
    assert tiny.exit_code == 0, tiny.output
    assert tiny.stdout == greedy.stdout


def test_a_device_this_machine_lacks_is_not_blamed_on_the_checkpoint():
    r = invoke("generate", "--device", "mps", "--length", 5)
    assert_one_line_error(r, "mps")
    assert "delete" not in r.output and "corrupt" not in r.output
