"""The Trainer's loop, continued (see test_mutants_trainer.py): the run folder's records,
resumes, stop requests, signals, time budgets, other ranks and a run folder another process
holds."""

import dataclasses
import json
import math
import os
import signal
import subprocess
import sys

import pytest
import torch
from torch import nn

from sgtk.errors import SgtkError
from sgtk.train.callbacks import Callback
from sgtk.train.checkpoint import load_checkpoint
from sgtk.train.loop import TrainingDiverged
from sgtk.train.progress import ProgressState
from sgtk.train.signals import Interrupted
from sgtk.train.trainer import TrainConfig, Trainer
from tests.train.scripted_fits import (  # noqa: F401  (no_curves_png: an autouse fixture)
    PLOTS,
    Log,
    ScriptConfig,
    Scripted,
    no_curves_png,
    scripted_fit,
)


def test_the_run_folder_records_the_run_and_the_checkpoint_what_resumes_it(tmp_path):
    task = Scripted()
    config = TrainConfig(steps=2, eval_every=2, lr=0.05, batch_size=4)
    Trainer(task, config, tmp_path, command="sgtk train scripted", progress=False).fit()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert (manifest["task"], manifest["command"]) == ("scripted", "sgtk train scripted")
    assert manifest["task_config"] == {"model": "lin", "width": 2}
    assert manifest["fingerprint"] == {"generated": "scripted", "model": "lin", "width": 2}
    assert manifest["train_config"]["steps"] == 2
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    assert (state["task"], state["step"], state["optimizer_kind"]) == ("scripted", 2, "adam")
    assert state["task_config"] == {"model": "lin", "width": 2}
    assert task.folders == [tmp_path]
    [(records, path, title, units)] = PLOTS
    assert path == tmp_path / "curves.png" and title == "scripted · lin"
    assert units == {"loss": "MSE"} and records[-1]["final"] is True


def test_a_resume_without_its_manifest_says_so_in_one_line(tmp_path, capsys):
    config = TrainConfig(steps=2, eval_every=2, lr=0.05, batch_size=4)
    Trainer(Scripted(), config, tmp_path, progress=False).fit()
    (tmp_path / "manifest.json").unlink()
    config = TrainConfig(steps=4, eval_every=2, lr=0.05, batch_size=4)
    Trainer(Scripted(), config, tmp_path, progress=False).fit(resume=True)
    assert capsys.readouterr().err == ""
    (tmp_path / "manifest.json").unlink()
    config = TrainConfig(steps=6, eval_every=2, lr=0.05, batch_size=4)
    Trainer(Scripted(), config, tmp_path, callbacks=[ProgressState()]).fit(resume=True)
    assert "manifest.json was missing: written anew at step 4" in capsys.readouterr().err


def test_the_time_budget_stops_the_run_and_says_so(tmp_path, capsys):
    result, log, _ = scripted_fit(tmp_path, steps=10**6, max_time=1e-9, progress=True)
    assert (result["steps"], result["stopped_by"]) == (1, "time")
    assert log.of("checkpoint") == [(1,)]
    assert "ETA 0:00" in capsys.readouterr().err  # by the budget, not by the 10**6 steps


def test_checkpoint_minutes_checkpoint_every_step_once_due(tmp_path):
    _, log, _ = scripted_fit(tmp_path, steps=3, checkpoint_minutes=1e-9)
    assert log.of("checkpoint") == [(1,), (2,), (3,)]


def test_a_signal_checkpoints_then_stops_the_run(tmp_path):
    class TermAt3(Callback):
        def on_step(self, step, logs):
            if step == 3:
                os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(Interrupted) as e:
        scripted_fit(tmp_path, callbacks=[TermAt3()], steps=10, signal_expected=True)
    assert e.value.exit_code == 128 + signal.SIGTERM
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 3


def test_a_stop_requested_after_a_step_ends_the_run_there(tmp_path):
    class StopAt3(Callback):
        def on_step(self, step, logs):
            if step == 3:
                trainer.request_stop("enough")

    config = TrainConfig(steps=10, eval_every=2, lr=0.05, batch_size=4, checkpoint_every=100)
    log = Log()
    trainer = Trainer(Scripted(), config, tmp_path, callbacks=[StopAt3(), log], progress=False)
    trainer.request_stop("left over")  # a request before fit() is no part of this run
    assert trainer.should_stop
    result = trainer.fit()
    assert (result["steps"], result["stopped_by"]) == (3, "enough")
    assert [s for s, _ in log.of("eval")] == [2, 3] and log.of("checkpoint") == [(3,)]


def test_a_stop_requested_at_the_last_evaluation_is_a_run_that_ran_its_steps(tmp_path):
    class StopAtEnd(Callback):
        def on_eval(self, step, record):
            trainer.request_stop("enough") if step == 6 else None

    config = TrainConfig(steps=6, eval_every=2, lr=0.05, batch_size=4)
    trainer = Trainer(Scripted(), config, tmp_path, callbacks=[StopAtEnd()], progress=False)
    assert trainer.fit()["stopped_by"] == "steps"


def test_every_non_finite_val_figure_is_named(tmp_path):
    class TwoBad(Scripted):
        def evaluate(self, model, device):
            return {"val_loss": math.nan, "val_aux": math.inf}

    with pytest.raises(
        TrainingDiverged, match=r"at step 2 \(val_loss became nan, val_aux became inf\)"
    ):
        scripted_fit(tmp_path, task=TwoBad())


def test_a_task_that_evaluates_on_test_is_named(tmp_path):
    class Leaky(Scripted):
        def evaluate(self, model, device):
            return {"val_loss": 0.1, "test_loss": 0.2}

    with pytest.raises(TypeError, match=r"^Leaky.evaluate returned \['test_loss'\]"):
        scripted_fit(tmp_path, task=Leaky())


def test_a_fit_that_only_changes_the_config_or_only_speaks_is_applied(tmp_path, capsys):
    class Silent(Scripted):
        def fit_to_budget(self, config, given=frozenset()):
            return dataclasses.replace(config, steps=3), ""

    class Speaks(Scripted):
        def fit_to_budget(self, config, given=frozenset()):
            return config, "kept as asked"

    result, _, _ = scripted_fit(tmp_path / "silent", task=Silent())
    assert result["steps"] == 3
    config = TrainConfig(steps=2, eval_every=2, lr=0.05, batch_size=4)
    Trainer(Speaks(), config, tmp_path / "speaks", callbacks=[ProgressState()]).fit()
    assert "kept as asked" in capsys.readouterr().err


def test_the_task_is_handed_the_model_the_device_and_the_runs_data_stream(tmp_path):
    task = Scripted()
    scripted_fit(tmp_path, task=task)
    cpu, gen, lin = torch.device, torch.Generator, nn.Linear
    assert task.handed == {
        ("train_batch", gen, cpu),
        ("evaluate", lin, cpu),
        ("on_eval", lin, cpu),
        ("report", lin, cpu),
    }
    assert [s for s, _ in task.hook.of("eval")] == [2, 4, 6]  # the task's own callback


def test_a_resume_restores_the_tasks_data_position(tmp_path):
    scripted_fit(tmp_path, steps=3, checkpoint_every=3)
    task = Scripted()
    scripted_fit(tmp_path, task=task, resume=True)
    assert task.restored == {"calls": 3}


def test_a_resume_of_a_finished_run_trains_no_further(tmp_path):
    scripted_fit(tmp_path)
    result, log, _ = scripted_fit(tmp_path, resume=True)
    assert log.of("step") == [] and result["steps"] == 6


def test_a_resume_refuses_another_task_config_or_other_data(tmp_path):
    scripted_fit(tmp_path, steps=2)
    wider = Scripted()
    wider.config = ScriptConfig(width=3)
    with pytest.raises(SgtkError, match=r"would change the run's task \(width 2 -> 3"):
        scripted_fit(tmp_path, task=wider, resume=True)

    class NewData(Scripted):
        def fingerprint(self):
            return {"generated": "scripted-v2", "model": "lin", "width": 2}

    with pytest.raises(SgtkError, match=r"the data changed since this run started"):
        scripted_fit(tmp_path, task=NewData(), resume=True)


def test_a_divergence_right_after_a_resume_names_the_best_pt_on_disk(tmp_path):
    scripted_fit(tmp_path, steps=2)
    with pytest.raises(TrainingDiverged) as e:
        scripted_fit(tmp_path, task=Scripted(nan_loss_at=1), resume=True)
    assert str(e.value).endswith(
        f"{tmp_path} keeps the last finite checkpoint.pt of step 2 and best.pt"
    )


def test_a_task_without_a_config_or_a_model_name_trains(tmp_path, capsys):
    class Bare(Scripted):
        def __init__(self):
            super().__init__()
            del self.config

        def model_config(self):
            return {}

    config = TrainConfig(steps=2, eval_every=2, lr=0.05, batch_size=4)
    Trainer(Bare(), config, tmp_path).fit()
    assert load_checkpoint(tmp_path / "best.pt")["config"] == {"task_config": {}}
    assert load_checkpoint(tmp_path / "checkpoint.pt")["task_config"] == {}
    assert json.loads((tmp_path / "manifest.json").read_text())["task_config"] == {}
    assert PLOTS[0][2] == "scripted · "
    lines = capsys.readouterr().err.splitlines()
    assert lines and all(line.startswith("scripted step ") for line in lines)


def test_a_higher_is_better_metric_meets_its_target_from_below(tmp_path):
    class Accuracy(Scripted):
        mode = "max"

    result, _, _ = scripted_fit(tmp_path, task=Accuracy(vals=[0.1, 0.6, 0.9]), target=0.5, steps=10)
    assert (result["steps"], result["stopped_by"]) == (4, "target")


def test_a_stop_request_never_hides_the_target_and_an_empty_reason_is_named(tmp_path):
    class StopAt(Callback):
        def __init__(self, step, reason):
            self.step, self.reason = step, reason

        def on_eval(self, step, record):
            if step == self.step:
                trainers[-1].request_stop(self.reason)

    config = TrainConfig(steps=10, eval_every=2, lr=0.05, batch_size=4, target=0.2)
    trainers = [Trainer(Scripted(vals=[0.5, 0.1]), config, tmp_path / "t", progress=False)]
    trainers[0].callbacks.append(StopAt(4, "enough"))
    assert trainers[0].fit()["stopped_by"] == "target"
    config = TrainConfig(steps=10, eval_every=2, lr=0.05, batch_size=4)
    trainers.append(Trainer(Scripted(), config, tmp_path / "e", progress=False))
    trainers[1].callbacks.append(StopAt(2, ""))
    assert trainers[1].fit()["stopped_by"] == "stop request"


def _holding_the_lock(folder):
    """Another process holding ``folder``'s run lock, as a second sgtk run would."""
    from sgtk.io.lock import LOCK_NAME

    folder.mkdir(parents=True, exist_ok=True)
    holder = (
        "import filelock, sys, time; lock = filelock.FileLock(sys.argv[1]); lock.acquire(); "
        "print(1, flush=True); time.sleep(60)"
    )
    other = subprocess.Popen(
        [sys.executable, "-c", holder, str(folder / LOCK_NAME)], stdout=subprocess.PIPE
    )
    assert other.stdout.readline().strip() == b"1"
    return other


def test_another_rank_trains_in_step_but_writes_nothing_and_takes_no_lock(tmp_path, monkeypatch):
    from sgtk.train import distributed as dist

    monkeypatch.setattr(dist, "rank", lambda: 1)
    task = Scripted()
    other = _holding_the_lock(tmp_path / "run")  # rank 0 holds it in a real run
    try:
        result, log, _ = scripted_fit(tmp_path / "run", task=task)
    finally:
        other.kill()
        other.wait()
        other.stdout.close()
    assert result["steps"] == 6 and task.folders == [None]
    assert not [p for p in (tmp_path / "run").iterdir() if not p.name.startswith(".sgtk.lock")]


def test_a_run_folder_another_process_holds_is_refused(tmp_path):
    other = _holding_the_lock(tmp_path)
    try:
        with pytest.raises(SgtkError, match="is in use by another sgtk run"):
            scripted_fit(tmp_path)
    finally:
        other.kill()
        other.wait()
        other.stdout.close()
