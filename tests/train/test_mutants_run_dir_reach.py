"""Run-folder rules that mutmut's earlier runs never reached (sgtk.train.run_dir's open, start,
save_state/save_best, the manifest writer; train_state's to_dict and best_record): a resume
without a manifest, what a fresh manifest holds, what each write refuses. No CLI, no subprocess
(CONTRIBUTING.md "Mutation testing")."""

import json
import math
import re
import tomllib

import pytest
import torch

from sgtk.errors import SgtkError
from sgtk.train.checkpoint import load_checkpoint
from sgtk.train.finite import NonFiniteWeights
from sgtk.train.run_dir import RunFolder, as_plain, best_record
from sgtk.train.train_config import TrainConfig
from sgtk.train.train_state import TrainState


def test_a_resume_without_a_manifest_writes_one_and_says_so(tmp_path):
    folder = RunFolder(tmp_path)
    for step in (5, 10, 20):
        folder.metrics.append({"step": step})
    note = folder.open(True, "again", 10, "toy", {"n": 3}, TrainConfig(), lambda: {"file": "d"})
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["rebuilt_at_step"] == 10 and manifest["task"] == "toy"
    assert manifest["fingerprint"] == {"file": "d"} and manifest["resumes"] == []
    assert manifest["task_config"] == {"n": 3} and manifest["command"] == "again"
    assert manifest["train_config"] == as_plain(TrainConfig())
    assert note == (
        f"note: {tmp_path / 'manifest.json'} was missing: written anew at step 10 with the data "
        "as it is now, so a change to the data before this resume goes unseen"
    )
    assert [r["step"] for r in folder.metrics.read()] == [5, 10]
    record = tomllib.loads((tmp_path / "config.toml").read_text())
    assert record["run"]["task"] == "toy" and record["run"]["command"] == "again"
    assert record["task"] == {"n": 3}


def test_a_fresh_run_and_a_resume_with_a_manifest_have_nothing_to_say(tmp_path):
    folder = RunFolder(tmp_path)
    assert folder.open(False, "c", 0, "toy", {}, TrainConfig(), lambda: {}) is None
    folder.metrics.append({"step": 3})
    assert folder.open(True, "c", 3, "toy", {}, TrainConfig(), dict) is None
    assert "rebuilt_at_step" not in folder.read_manifest()
    assert [r["step"] for r in folder.metrics.read()] == [3]


def test_a_run_folder_names_its_files(tmp_path):
    folder = RunFolder(str(tmp_path))
    assert folder.path == tmp_path and folder.manifest_path == tmp_path / "manifest.json"
    assert folder.checkpoint_path == tmp_path / "checkpoint.pt"
    assert folder.best_path == tmp_path / "best.pt"
    assert folder.metrics.path == tmp_path / "metrics.jsonl"


def test_a_fresh_manifest_records_what_produced_the_run(tmp_path, monkeypatch):
    import sgtk.train.run_dir as run_dir

    monkeypatch.setattr(run_dir, "versions", lambda: {"sgtk": "v"})
    monkeypatch.setattr(run_dir, "machine", lambda: {"cpu": "c"})
    got = RunFolder(tmp_path).start("toy", {"n": 1}, TrainConfig(steps=4), {"file": "d"}, "cmd")
    assert json.loads((tmp_path / "manifest.json").read_text()) == got
    assert list(got) == [
        "format", "task", "task_config", "train_config", "fingerprint", "versions", "machine",
        "command", "started", "resumes",
    ]  # fmt: skip
    assert got["versions"] == {"sgtk": "v"} and got["machine"] == {"cpu": "c"}
    assert got["train_config"] == as_plain(TrainConfig(steps=4)) and got["command"] == "cmd"
    assert re.fullmatch(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", got["started"])


def test_an_unwritable_out_names_the_folder_and_the_reason(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SgtkError) as caught:
        RunFolder(tmp_path / "file" / "run").check_writable()
    assert str(caught.value) == (
        f"cannot write to output directory {tmp_path / 'file' / 'run'} (Not a directory): "
        "choose a writable `run_dir`"
    )
    RunFolder(tmp_path / "a" / "b").check_writable()  # parents are made, no probe left
    assert list((tmp_path / "a" / "b").iterdir()) == []
    RunFolder(tmp_path / "a" / "b").check_writable()  # an existing folder is fine


def test_a_held_folder_is_refused_in_one_line_listing_its_run_files(tmp_path):
    for name in ("row.json", "manifest.json"):
        (tmp_path / name).write_text("x")
    with pytest.raises(SgtkError) as caught:
        RunFolder(tmp_path).check_fresh()
    assert str(caught.value) == (
        f"{tmp_path} already holds a run (manifest.json, row.json): choose another `run_dir`; "
        "sgtk never overwrites a run"
    )
    (tmp_path / "checkpoint.pt").write_text("x")
    with pytest.raises(SgtkError) as caught:
        RunFolder(tmp_path).check_fresh()
    assert str(caught.value) == (
        f"{tmp_path} already holds a run (manifest.json, checkpoint.pt, row.json): set `resume` "
        "to continue it, or choose another `run_dir`; sgtk never overwrites a run"
    )


def test_the_state_and_best_are_written_where_a_resume_and_a_report_read_them(tmp_path):
    folder = RunFolder(tmp_path)
    state = TrainState(
        task="toy", model={"w": torch.ones(1)}, optimizer={"state": {}, "param_groups": []},
        data_rng=[torch.Generator().get_state()], torch_rng=torch.get_rng_state(),
        task_state=[{}], step=7, elapsed=1.5, best=None,
    )  # fmt: skip
    folder.save_state(state)  # no optimiser step: its first one costs seconds of imports
    assert TrainState.from_dict(load_checkpoint(tmp_path / "checkpoint.pt"), "c").step == 7
    best = best_record("toy", {"w": torch.ones(1)}, 3, 0.5, {})
    folder.save_best(best)
    assert load_checkpoint(tmp_path / "best.pt")["step"] == 3
    with pytest.raises(NonFiniteWeights, match=f"{tmp_path / 'best.pt'} has non-finite"):
        folder.save_best(best_record("toy", {"w": torch.tensor([math.nan])}, 4, 0.1, {}))
    assert load_checkpoint(tmp_path / "best.pt")["step"] == 3  # the earlier best is kept
