"""Issue 27, inputs: a NaN target, a duplicated header, a pipe, an endless file and a damaged
processed cache each end in one line (or a rebuild that says so), never a silent result."""

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from sgtk.data.molecule_datasets import load_dataset
from tests.helpers import assert_one_line_error, invoke

SMILES = [
    "C", "CC", "CCC", "CCCC", "CCO", "CCN", "CCCl", "c1ccccc1", "c1ccccc1O", "CC(=O)O",
    "CCOC", "CCCO", "CC(C)C", "C1CCCCC1", "CCBr", "OCCO", "CC#N", "C=CC", "CNC", "COC",
]  # fmt: skip
TINY_RUN = ("--model", "gcn", "--hidden", "8", "--layers", "1", "--steps", "2",
            "--eval-every", "2", "--batch-size", "8")  # fmt: skip


def write_csv(path: Path, targets: list[str], header: str = "smiles,y") -> Path:
    rows = [f"{s},{t}" for s, t in zip(SMILES, targets)]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def targets_with(bad: dict[int, str]) -> list[str]:
    """A target for each molecule, with ``bad`` (data row from 1 -> text) in place."""
    return [bad.get(row, f"{row * 0.5:.1f}") for row in range(1, len(SMILES) + 1)]


def test_a_nan_target_is_refused_at_load_naming_its_rows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "m.csv", targets_with({3: "nan", 7: "inf"}))
    r = invoke("train", "molecules", "--data", "m.csv", "--target-col", "y", *TINY_RUN)
    assert_one_line_error(r, "rows 3, 7", "lines 4, 8", "non-finite", "--drop-invalid")
    assert not list(tmp_path.glob("runs/*/best.pt"))  # refused before any training


def test_drop_invalid_drops_counts_and_reports_strict_json(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SGTK_DATA", str(tmp_path / "data"))  # the same root either way
    write_csv(tmp_path / "m.csv", targets_with({3: "NaN", 7: "-inf", 9: "1e999"}))
    r = invoke("train", "molecules", "--data", "m.csv", "--target-col", "y", *TINY_RUN,
               "--drop-invalid", "--out", "run", "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout.strip().splitlines()[-1], parse_constant=_no_constants)
    assert result["n_molecules"] == len(SMILES) - 3
    (meta,) = tmp_path.glob("data/csv/m/processed/meta-*.json")
    assert json.loads(meta.read_text())["n_dropped_invalid"] == 3


def _no_constants(name: str):
    raise AssertionError(f"--json printed a bare {name}, which is not JSON")


def test_json_output_never_holds_a_bare_nan(capsys):
    from sgtk_cli.common import print_json

    print_json({"test_rmse": float("nan"), "curve": [1.0, float("inf")], "n": 3})
    text = capsys.readouterr().out
    assert json.loads(text, parse_constant=_no_constants) == {
        "test_rmse": None,
        "curve": [1.0, None],
        "n": 3,
    }


def test_a_duplicated_header_is_refused_naming_the_column(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = [f"{s},{i},{-i}" for i, s in enumerate(SMILES)]
    (tmp_path / "m.csv").write_text("smiles,y,y\n" + "\n".join(rows) + "\n")
    r = invoke("train", "molecules", "--data", "m.csv", "--target-col", "y", *TINY_RUN)
    assert_one_line_error(r, "'y'", "columns 2 and 3", "rename")


def _read_from_stdin(
    code: str, data: bytes, env: dict | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], input=data, capture_output=True, timeout=120, env=env
    )


def test_text_from_a_pipe_keeps_its_first_bytes(tmp_path):
    text = "".join(f"line {i:05d} of the piped corpus\n" for i in range(2000))  # ~60 KB
    code = "from sgtk.data.text import read_text; print(len(read_text('/dev/stdin')), end='')"
    done = _read_from_stdin(code, text.encode())
    assert done.returncode == 0, done.stderr.decode()
    assert int(done.stdout) == len(text)  # the old probe read swallowed the first 8-16 KB


def test_a_molecule_csv_from_a_pipe_is_read_once(tmp_path):
    csv = write_csv(tmp_path / "m.csv", targets_with({})).read_bytes()
    code = (
        "from sgtk.data.molecule_datasets import load_dataset; "
        f"ds = load_dataset(data='/dev/stdin', target_col='y', root={str(tmp_path)!r}); "
        "print(len(ds.molecules()), end='')"
    )
    done = _read_from_stdin(code, csv)
    assert done.returncode == 0, done.stderr.decode()
    assert int(done.stdout) == len(SMILES)  # hashing and parsing share one read


@pytest.mark.parametrize("task", ["text", "molecules"])
def test_data_dev_zero_ends_in_one_line_with_the_limit(task, tmp_path):
    import os

    env = {**os.environ, "SGTK_MAX_INPUT_BYTES": "1000000"}
    done = subprocess.run(
        ["sgtk", "train", task, "--data", "/dev/zero", "--steps", "1", "--out", tmp_path / "r"],
        capture_output=True,
        timeout=120,  # the old code read /dev/zero until memory ran out
        env=env,
        cwd=tmp_path,
    )
    lines = [ln for ln in done.stderr.decode().splitlines() if ln.strip()]
    assert done.returncode == 2, done.stderr.decode()
    assert len(lines) == 1 and "1,000,000 bytes" in lines[0], lines
    assert "SGTK_MAX_INPUT_BYTES" in lines[0]


@pytest.mark.parametrize("damage", ["empty", "garbage", "meta"])
def test_a_corrupt_processed_cache_is_rebuilt_and_said(tmp_path, caplog, damage):
    csv = write_csv(tmp_path / "m.csv", targets_with({}))
    first = load_dataset(data=csv, target_col="y", root=tmp_path / "data")
    data_file, meta_file = (Path(p) for p in first.processed_paths)
    if damage == "empty":
        data_file.write_bytes(b"")
    elif damage == "garbage":
        data_file.write_bytes(b"PK\x03\x04 not a torch file")
    else:
        meta_file.write_text("{}")
    with caplog.at_level(logging.WARNING):
        again = load_dataset(data=csv, target_col="y", root=tmp_path / "data")
    assert again.molecules().smiles == first.molecules().smiles
    said = [r.getMessage() for r in caplog.records if "rebuilding" in r.getMessage()]
    assert len(said) == 1 and str(data_file.name) in said[0]
    caplog.clear()
    load_dataset(data=csv, target_col="y", root=tmp_path / "data")  # rebuilt: loads quietly
    assert not [r for r in caplog.records if "rebuilding" in r.getMessage()]


def test_a_header_only_csv_says_it_has_no_rows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.csv").write_text("smiles,y\n")
    r = invoke("train", "molecules", "--data", "m.csv", "--target-col", "y", *TINY_RUN)
    assert_one_line_error(r, "m.csv", "no data rows")  # was: "check --target-col"


def test_targets_that_do_not_parse_show_the_first_row_as_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.csv").write_text('smiles,y\n"CCO,1.0\n')  # an unclosed quote eats the row
    r = invoke("train", "molecules", "--data", "m.csv", "--target-col", "y", *TINY_RUN)
    assert_one_line_error(r, "none of the 1 rows", "'CCO,1.0'", "quoting")


def test_a_text_too_short_for_any_window_names_the_length_that_is(tmp_path, monkeypatch):
    from sgtk.data.text import TextData, shortest_text

    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.txt").write_text("hello world")
    r = invoke("train", "text", "--data", "t.txt", "--seq-length", "4", "--model", "lstm",
               "--hidden", "8", "--layers", "1", "--steps", "1")  # fmt: skip
    assert_one_line_error(r, "11 characters", f"at least {shortest_text(4)} characters")
    assert "below 1" not in r.output and "at most" not in r.output  # no --seq-length fits
    TextData("ab" * 5000, 64)  # long enough: no error
    for n in range(shortest_text(64), shortest_text(64) + 200):
        TextData("a" * n, 64)  # the length named is enough, and every longer one


def test_a_file_that_cannot_be_read_is_one_line(tmp_path, monkeypatch):
    """Regression guard (root reads a chmod-000 file, so the refusal is simulated)."""
    import builtins

    import sgtk.io.files as files

    monkeypatch.chdir(tmp_path)
    csv = write_csv(tmp_path / "m.csv", targets_with({}))

    def refuse(path, *args, **kwargs):
        if str(path).endswith("m.csv"):
            raise PermissionError(13, "Permission denied")
        return builtins.open(path, *args, **kwargs)

    monkeypatch.setattr(files, "open", refuse, raising=False)
    r = invoke("train", "molecules", "--data", csv, "--target-col", "y", *TINY_RUN)
    assert_one_line_error(r, "cannot be read", "Permission denied", "permissions")


@pytest.mark.parametrize("case", ["directory", "empty", "not gzip", "damaged gzip", "binary"])
@pytest.mark.parametrize("task", ["text", "molecules"])
def test_bad_input_files_end_in_one_line(task, case, tmp_path, monkeypatch):
    """Regression guard for the rest of issue 27's input list: each was one line already."""
    import gzip

    monkeypatch.chdir(tmp_path)
    path = tmp_path / ("in.csv.gz" if "gzip" in case else "in.csv")
    expected = {
        "directory": "is a directory",
        "empty": "empty",
        "not gzip": "is not gzip",
        "damaged gzip": "damaged gzip",
        "binary": "UTF-8" if task == "molecules" else "binary",
    }[case]
    if case == "directory":
        path.mkdir()
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "not gzip":
        path.write_text("smiles,y\nCCO,1\n")
    elif case == "damaged gzip":
        path.write_bytes(gzip.compress(b"smiles,y\n" + b"CCO,1\n" * 100)[:30])
    else:
        path.write_bytes(b"\x00\xff\xfe" * 100)
    args = ("--target-col", "y", *TINY_RUN) if task == "molecules" else ("--steps", "1")
    r = invoke("train", task, "--data", path, *args, "--out", tmp_path / "r")
    assert_one_line_error(r, expected)
    assert not (tmp_path / "r").exists()
