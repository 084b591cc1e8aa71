"""Issue 27, compare's files: merge mixes no two sweeps and drops no row (item 5); a corrupt
row.json, curve.json or sweep.json is one line naming the file and the fix (item 11)."""

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import assert_one_line_error, invoke

# Two runs at T=5 (rnn, gcn k=3): shard 0/2 holds the rnn, shard 1/2 the gcn.
SWEEP = ("--lengths", "5", "--models", "rnn,gcn", "--layers", "3", "--seeds", "1",
         "--steps", "4", "--params", "3000", "--jobs", "1")  # fmt: skip


def _compare(out: Path, *extra: str) -> None:
    r = invoke("compare", "rnn-vs-gcn", *SWEEP, *extra, "--out", out)
    assert r.exit_code == 0, r.output


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("shards")
    made = {"s0": ("--shard", "0/2"), "s1": ("--shard", "1/2")}
    made |= {"more_steps": ("--shard", "1/2", "--steps", "6")}
    made |= {"rnn_only": ("--shard", "0/2", "--models", "rnn")}
    for name, extra in made.items():
        _compare(root / name, *extra)
    return {name: root / name for name in made}


def _copy(shards, name: str, to: Path) -> Path:
    shutil.copytree(shards[name], to)
    return to


@pytest.mark.parametrize("other,field", [("more_steps", "steps"), ("rnn_only", "models")])
def test_merge_refuses_shards_of_different_sweeps_naming_the_field(shards, tmp_path, other, field):
    r = invoke("compare", "merge", shards["s0"], shards[other], "--out", tmp_path / "all")
    assert_one_line_error(r, "not shards of one sweep", f"{field}:", "sweep.json")
    assert not (tmp_path / "all").exists()


def test_merge_of_two_shards_of_one_sweep_still_works(shards, tmp_path):
    r = invoke("compare", "merge", shards["s0"], shards["s1"], "--out", tmp_path / "all")
    assert r.exit_code == 0, r.output
    rows = json.loads((tmp_path / "all" / "results.json").read_text())
    assert {row["name"] for row in rows} == {"rnn-T5-k0-s0", "gcn-T5-k3-s0"}


def test_merge_refuses_one_run_twice_with_different_results(shards, tmp_path):
    twin = _copy(shards, "s0", tmp_path / "twin")
    row_file = twin / "runs" / "rnn-T5-k0-s0" / "row.json"
    row = json.loads(row_file.read_text())
    row["test_accuracy"] = row["test_accuracy"] + 0.25
    row_file.write_text(json.dumps(row))
    r = invoke("compare", "merge", shards["s0"], twin, "--out", tmp_path / "all")
    assert_one_line_error(r, "rnn-T5-k0-s0", "different results", "test_accuracy")
    assert not (tmp_path / "all").exists()


def test_merge_counts_an_identical_duplicate_once(shards, tmp_path):
    twin = _copy(shards, "s0", tmp_path / "twin")
    row_file = twin / "runs" / "rnn-T5-k0-s0" / "row.json"
    row_file.write_text(json.dumps({**json.loads(row_file.read_text()), "seconds": 99.0}))
    r = invoke("compare", "merge", shards["s0"], twin, shards["s1"], "--out", tmp_path / "all")
    assert r.exit_code == 0, r.output
    rows = json.loads((tmp_path / "all" / "results.json").read_text())
    assert sorted(row["name"] for row in rows) == ["gcn-T5-k3-s0", "rnn-T5-k0-s0"]


def test_resume_still_refuses_other_settings_naming_the_field(shards, tmp_path):
    sweep = _copy(shards, "s0", tmp_path / "s0")
    r = invoke("compare", "rnn-vs-gcn", *SWEEP, "--shard", "0/2", "--params", "4000",
               "--resume", "--out", sweep)  # fmt: skip
    assert_one_line_error(r, "other settings", "params: 3000", "4000")


CORRUPT = {"torn": '{"name": "rnn-T5', "binary": "\x00\xff\xfe", "wrong shape": "[1, 2]"}
FILES = {"row.json": "runs/rnn-T5-k0-s0/row.json", "curve.json": "runs/rnn-T5-k0-s0/curve.json",
         "sweep.json": "sweep.json"}  # fmt: skip


def _corrupt(path: Path, how: str) -> None:
    text = CORRUPT[how]
    if how == "wrong shape" and path.name == "curve.json":
        text = '{"a": 1}'
    path.write_bytes(text.encode("latin-1"))


def _commands(sweep: Path, out: Path) -> dict[str, tuple]:
    return {
        "compare --resume": (
            "compare",
            "rnn-vs-gcn",
            *SWEEP,
            "--shard",
            "0/2",
            "--resume",
            "--out",
            sweep,
        ),  # fmt: skip
        "compare merge": ("compare", "merge", sweep, "--out", out),
        "plot zoo": ("plot", "zoo", sweep, "--out", out / "zoo.png"),
    }


@pytest.mark.parametrize("how", list(CORRUPT))
@pytest.mark.parametrize("name", list(FILES))
@pytest.mark.parametrize("command", ["compare --resume", "compare merge", "plot zoo"])
def test_a_corrupt_sweep_file_is_one_line_naming_it_and_the_fix(
    shards, tmp_path, name, how, command
):
    if name == "sweep.json" and command == "plot zoo":
        pytest.skip("plot zoo reads no sweep.json")
    sweep = _copy(shards, "s0", tmp_path / "s0")
    target = sweep / FILES[name]
    _corrupt(target, how)
    results_before = (sweep / "results.json").read_bytes()
    r = invoke(*_commands(sweep, tmp_path / "out")[command])
    assert_one_line_error(r, name, "corrupt", "delete")
    assert str(target.parent) in r.output.replace("\n", "")
    assert (sweep / "results.json").read_bytes() == results_before  # nothing rewritten
    assert not (tmp_path / "out").exists()


def test_a_run_killed_before_its_first_checkpoint_is_trained_again_on_resume(tmp_path, monkeypatch):
    # A kill -9 or a crash mid-run leaves best.pt, metrics.jsonl and the manifest but no
    # checkpoint.pt: nothing to resume, and a fresh run refuses a folder holding a run's files.
    from sgtk.experiments import compare
    from sgtk.experiments.compare import prepare, run_sweep
    from sgtk.experiments.sweep import Sweep
    from tests.experiments.test_compare import TINY

    sweep = Sweep.from_config("palindrome", **TINY)
    real_on_step = compare.CurveRecorder.on_step

    def killed_at_step_4(self, step, logs):
        real_on_step(self, step, logs)
        if step == 4:
            raise SystemExit("killed")

    monkeypatch.setattr(compare.CurveRecorder, "on_step", killed_at_step_4)
    with pytest.raises(SystemExit):
        run_sweep(prepare(sweep, tmp_path))
    first = next((tmp_path / "runs").iterdir())
    assert (first / "metrics.jsonl").exists() and not (first / "checkpoint.pt").exists()
    monkeypatch.setattr(compare.CurveRecorder, "on_step", real_on_step)
    rows, _ = run_sweep(prepare(sweep, tmp_path, resume=True))
    assert len(rows) == 6 and all(r["steps"] == 6 for r in rows)
