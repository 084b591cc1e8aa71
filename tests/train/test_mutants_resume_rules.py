"""``sgtk.train.resume_rules`` on hand-written run folders, no training (kills its mutants:
which layers a resume reads from a manifest or an old ``config.toml``, the edits it reports,
a finished run, the newest unfinished run, and the same-task refusal)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sgtk.errors import SgtkError
from sgtk.train.resume_rules import (
    check_same_task,
    edited_keys,
    is_finished,
    newest_run,
    run_layers,
)


def _manifest(folder: Path, **manifest) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def _toml(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(text, encoding="utf-8")
    return folder


def test_the_latest_resumes_train_config_wins(tmp_path):
    folder = _manifest(
        tmp_path / "r",
        task="copy",
        task_config={"hidden": 4},
        train_config={"lr": 1},
        resumes=[{"train_config": {"lr": 2}}, {"train_config": {"lr": 3}}],
    )
    assert run_layers(folder, "copy") == {"task": {"hidden": 4}, "train": {"lr": 3}}


def test_without_resumes_the_manifests_own_train_config(tmp_path):
    folder = _manifest(tmp_path / "r", task="copy", task_config={"a": 1}, train_config={"lr": 1})
    assert run_layers(folder, "copy") == {"task": {"a": 1}, "train": {"lr": 1}}
    bare = _manifest(tmp_path / "s", task="copy", resumes=[{}])
    assert run_layers(bare, "copy") == {"task": {}, "train": {}}


def test_a_manifest_of_another_task_has_no_layers(tmp_path):
    assert run_layers(_manifest(tmp_path / "r", task="copy"), "sort") is None


def test_an_old_run_reads_its_config_toml(tmp_path):
    folder = _toml(tmp_path / "r", '[run]\ntask = "copy"\n[task]\nhidden = 4\n[train]\nlr = 0.5\n')
    assert run_layers(folder, "copy") == {"task": {"hidden": 4}, "train": {"lr": 0.5}}
    assert run_layers(folder, "sort") is None
    only_run = _toml(tmp_path / "s", '[run]\ntask = "copy"\n')
    assert run_layers(only_run, "copy") == {"task": {}, "train": {}}
    assert run_layers(_toml(tmp_path / "t", "[task]\na = 1\n"), "copy") is None
    assert run_layers(tmp_path / "empty", "copy") is None


def test_edited_keys_name_each_changed_value(tmp_path):
    folder = _toml(
        tmp_path / "r",
        "[task]\nhidden = 8\nsizes = [1, 2]\nname = 'a'\nextra = 1\n[train]\nlr = 1\nsteps = 5\n",
    )
    layer = {
        "task": {"hidden": 4, "sizes": [1, 2], "name": "a"},
        "train": {"lr": 1.0, "steps": 6},
    }
    assert edited_keys(folder, layer) == ["task.hidden", "train.steps"]


def test_edited_keys_compare_lists_by_length_and_item(tmp_path):
    folder = _toml(tmp_path / "r", "[task]\na = [1, 2]\nb = [1, 2]\nc = [1, 2]\nd = [2.0]\n")
    layer = {"task": {"a": (1, 2, 3), "b": [1, 3], "c": (1.0, 2.0), "d": [2]}}
    assert edited_keys(folder, layer) == ["task.a", "task.b"]


def test_edited_keys_of_an_unreadable_config_are_none(tmp_path):
    assert edited_keys(tmp_path, {"task": {"a": 1}}) == []
    folder = _toml(tmp_path / "bad", "[task\n")
    assert edited_keys(folder, {"task": {"a": 1}}) == []
    assert edited_keys(_toml(tmp_path / "r", "[task]\na = 2\n"), {}) == []


def test_is_finished_reads_the_last_record(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    assert not is_finished(tmp_path)
    metrics.write_text("", encoding="utf-8")
    assert not is_finished(tmp_path)
    metrics.write_text('{"final": true}\n{"step": 3}\n', encoding="utf-8")
    assert not is_finished(tmp_path)
    metrics.write_text('{"step": 3}\n{"final": true}\n\n', encoding="utf-8")
    assert is_finished(tmp_path)
    metrics.write_text('{"step": 3}\nnot json\n', encoding="utf-8")
    assert not is_finished(tmp_path)


def _checkpointed(root: Path, name: str, mtime: float, task: str = "copy") -> Path:
    folder = _manifest(root / name, task=task)
    (folder / "checkpoint.pt").write_bytes(b"x")
    os.utime(folder / "checkpoint.pt", (mtime, mtime))
    return folder


def test_newest_run_picks_the_latest_unfinished_run_of_the_task(tmp_path):
    _checkpointed(tmp_path, "old", 1000.0)
    newest = _checkpointed(tmp_path, "mid", 2000.0)
    _checkpointed(tmp_path, "other", 5000.0, task="sort")
    done = _checkpointed(tmp_path, "done", 4000.0)
    (done / "metrics.jsonl").write_text('{"final": true}\n', encoding="utf-8")
    damaged = _checkpointed(tmp_path, "damaged", 6000.0)
    (damaged / "manifest.json").write_text("[", encoding="utf-8")
    assert newest_run("copy", tmp_path) == newest
    assert newest_run("absent", tmp_path) is None


def test_same_task_with_a_manifest_refuses_a_change(tmp_path):
    folder = _manifest(tmp_path / "r", task="copy", task_config={"hidden": 4})
    check_same_task(folder, "copy", {"hidden": 4})
    with pytest.raises(SgtkError, match=r"hidden 4 -> 5"):
        check_same_task(folder, "copy", {"hidden": 5})


def test_same_task_of_an_old_run_compares_its_config_toml(tmp_path):
    folder = _toml(tmp_path / "r", '[run]\ntask = "copy"\n[task]\nhidden = 4\n')
    check_same_task(folder, "copy", {"hidden": 4, "new": 1})
    with pytest.raises(SgtkError) as error:
        check_same_task(folder, "copy", {"hidden": 5})
    assert str(error.value).startswith("`resume` would change the run's task (hidden 4 -> 5)")
    check_same_task(tmp_path / "empty", "copy", {"hidden": 5})


def test_edited_keys_compare_numbers_only_with_numbers(tmp_path):
    folder = _toml(tmp_path / "r", "[task]\na = 1\nb = ['x', 'y']\nc = 1\n")
    layer = {"task": {"a": "1", "b": "xy", "c": True}}
    assert edited_keys(folder, layer) == ["task.a", "task.b"]


def test_newest_run_looks_under_runs_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = _checkpointed(tmp_path / "runs", "r", 1000.0)
    assert newest_run("copy") == Path("runs") / "r" == folder.relative_to(tmp_path)


def test_a_damaged_config_toml_of_an_old_run_is_named_as_a_toml_file(tmp_path):
    folder = _toml(tmp_path / "r", "[run\n")
    with pytest.raises(SgtkError) as error:
        check_same_task(folder, "copy", {})
    assert str(error.value).startswith(f"TOML file {folder / 'config.toml'} is not valid TOML")
    assert error.value.field is None
