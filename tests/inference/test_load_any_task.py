"""``sgtk.load`` opens a run of any registered task (issue 29), not only the three with a
loader of their own: a task added later (Tree-NeighborsMatch here) is rebuilt by its own
Task class from the saved config, and scores as its run did."""

from __future__ import annotations

from pathlib import Path

import pytest

import sgtk
from sgtk.errors import SgtkError
from sgtk.inference.export import export_run
from sgtk.inference.loaded_task import LoadedTask
from sgtk.inference.model_files import load_model_files
from sgtk.tasks.neighbors_match import NeighborsMatchTask
from sgtk.tasks.neighbors_match_config import NeighborsMatchConfig
from sgtk.train.trainer import TrainConfig, Trainer


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("any-task") / "run"
    cfg = NeighborsMatchConfig(model="gcn", depth=2, hidden=16)
    task = NeighborsMatchTask(cfg)
    extra = {"model": cfg.model, "task_config": vars(cfg)}  # as `sgtk train` records it
    train = TrainConfig(steps=6, batch_size=16, eval_every=6, seed=0)
    result = Trainer(task, train, out, extra_config=extra, progress=False).fit()
    export_run(out, out.parent / "export")
    return out, result


def test_load_opens_a_run_and_an_export_of_a_task_without_its_own_loader(run):
    out, result = run
    for path in (out, out / "best.pt", out.parent / "export"):
        loaded = sgtk.load(path)
        assert isinstance(loaded, LoadedTask) and loaded.task_name == "neighbors-match"
        assert loaded.model_name == "gcn" and not loaded.model.training
        scores = loaded.evaluate("test")
        assert scores["test_accuracy"] == pytest.approx(result["test_accuracy"], abs=1e-4)
        assert NeighborsMatchTask.metric in loaded.evaluate("val")


def test_a_task_this_sgtk_does_not_know_is_one_line(run, monkeypatch):
    files = load_model_files(run[0])
    files.task = "proteins"  # e.g. a run written by a later sgtk
    monkeypatch.setattr("sgtk.inference.load.load_model_files", lambda path, device: files)
    with pytest.raises(SgtkError, match="'proteins' model, which this sgtk cannot open") as e:
        sgtk.load(run[0])
    assert "\n" not in str(e.value)
