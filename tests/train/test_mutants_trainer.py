"""The Trainer's loop (sgtk/train/trainer.py) through the smallest fits there are: a Linear(2, 1)
for a handful of steps, its val figures scripted so that each rule of the loop shows in what a
user reads (metrics.jsonl, best.pt, the result, the callbacks, the one-line errors). Written
against mutmut's survivors (CONTRIBUTING.md "Mutation testing"); each test runs in well under a
second, so the mutation run can afford them on every trainer mutant.

Kills: fit (when it evaluates and checkpoints, the target, the resume), _fit_to_budget,
_restore (the progress line), _train_step (the two divergence lines, the logs), _evaluate (best
on eligible evaluations only, best_val, the after_eval event), _agree_on_request, _finish (the
report on best.pt's weights, the final record, the result), _best_config, _diverged."""

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
from sgtk.train import trainer as trainer_module
from sgtk.train.callbacks import Callback
from sgtk.train.checkpoint import load_checkpoint
from sgtk.train.loop import TrainingDiverged
from sgtk.train.metrics import MetricsLog
from sgtk.train.progress import ProgressState
from sgtk.train.signals import Interrupted
from sgtk.train.task import Task
from sgtk.train.trainer import TrainConfig, Trainer

PLOTS = []


@pytest.fixture(autouse=True)
def no_curves_png(monkeypatch):
    """Drawing curves.png takes seconds, the fits milliseconds: record what would be drawn."""
    import sgtk.train.curves

    PLOTS.clear()
    monkeypatch.setattr(sgtk.train.curves, "plot_curves", lambda *args: PLOTS.append(args))


@dataclasses.dataclass
class ScriptConfig:
    model: str = "lin"
    width: int = 2


class Scripted(Task):
    """y = x1 + x2 with a Linear(2, 1); ``vals`` scripts the val loss of each evaluation."""

    name = "scripted"
    metric = "val_loss"
    mode = "min"
    units = {"loss": "MSE"}

    def __init__(self, vals=None, eligible_from=0, nan_loss_at=None, event_at=None):
        self.config = ScriptConfig()
        self.vals = list(vals or [])
        self.eligible_from, self.nan_loss_at, self.event_at = eligible_from, nan_loss_at, event_at
        self.calls = 0
        self.fits = []
        self.memory = []
        self.folders = []
        self.handed = set()  # (hook, type of what it was handed)
        self.hook = Log()  # the task's own callback
        self.restored = None

    def build_model(self) -> nn.Module:
        return nn.Linear(2, 1)

    def train_batch(self, batch_size, generator, device):
        self.handed.add(("train_batch", type(generator), type(device)))
        x = torch.randn(batch_size, 2, generator=generator)
        return x, x.sum(1, keepdim=True)

    def loss(self, model, batch):
        self.calls += 1
        x, y = batch
        loss = nn.functional.mse_loss(model(x), y)
        if self.calls == self.nan_loss_at:
            loss = loss * math.nan
        return loss, {"seen": float(self.calls)}

    def evaluate(self, model, device):
        self.handed.add(("evaluate", type(model), type(device)))
        val = self.vals.pop(0) if self.vals else 1.0
        return {"val_loss": val, "val_aux": 2.0}

    def report(self, model, device):
        self.handed.add(("report", type(model), type(device)))
        return {"test_w": model.weight.sum().item()}

    def model_config(self):
        return {"model": "lin", "width": 2}

    def eligible(self, record):
        return record["step"] >= self.eligible_from

    def after_eval(self, record):
        return {"event": "grow"} if record["step"] == self.event_at else None

    def check_memory(self, batch_size):
        self.memory.append(batch_size)

    def callbacks(self, run_dir):
        self.folders.append(run_dir)
        return [self.hook]

    def on_eval(self, model, device, step):
        self.handed.add(("on_eval", type(model), type(device)))
        return {"sample": f"at {step}"}

    def state_dict(self):
        return {"calls": self.calls}

    def load_state_dict(self, state):
        self.restored = state


class Log(Callback):
    def __init__(self):
        self.events = []

    def on_start(self, total_steps, start_step):
        self.events.append(("start", total_steps, start_step))

    def on_step(self, step, logs):
        self.events.append(("step", step, dict(logs)))

    def on_eval(self, step, record):
        self.events.append(("eval", step, dict(record)))

    def on_checkpoint(self, step):
        self.events.append(("checkpoint", step))

    def on_end(self, result):
        self.events.append(("end", dict(result)))

    def of(self, kind):
        return [e[1:] for e in self.events if e[0] == kind]


def _fit(
    tmp_path, task=None, callbacks=(), resume=False, progress=False, signal_expected=False, **cfg
):
    config = TrainConfig(
        **{"steps": 6, "eval_every": 2, "checkpoint_every": 100, "lr": 0.05, "batch_size": 4, **cfg}
    )
    log = Log()
    t = Trainer(
        task or Scripted(), config, tmp_path, callbacks=[log, *callbacks], progress=progress
    )
    try:
        return t.fit(resume=resume), log, t
    except Interrupted as e:
        if signal_expected:
            raise
        # a KeyboardInterrupt would end the whole pytest session: fail this test instead
        pytest.fail(f"the run stopped on signal {e.signum} that nobody sent")


def _records(tmp_path):
    return MetricsLog(tmp_path / "metrics.jsonl").read()


def test_evaluations_fall_on_multiples_of_eval_every_and_on_the_last_step(tmp_path):
    result, log, _ = _fit(tmp_path, steps=5, checkpoint_every=3)
    assert [s for s, _ in log.of("eval")] == [2, 4, 5]
    assert log.of("checkpoint") == [(3,), (5,)]
    assert log.of("start") == [(5, 0)]
    assert [r["step"] for r in _records(tmp_path)] == [2, 4, 5, 5]
    assert result["steps"] == 5 and result["stopped_by"] == "steps"


def test_best_pt_holds_the_best_val_and_the_report_is_of_its_weights(tmp_path):
    result, log, _ = _fit(tmp_path, task=Scripted(vals=[0.3, 0.1, 0.2]))
    best = load_checkpoint(tmp_path / "best.pt")
    assert (best["task"], best["step"], best["metric"]) == ("scripted", 4, 0.1)
    assert result["val_loss"] == 0.1 and result["val_aux"] == 2.0
    assert not [k for k in result if k.startswith("train_")]
    torch.testing.assert_close(result["test_w"], best["model"]["weight"].sum().item())
    *records, final = _records(tmp_path)
    assert final == {
        "final": True,
        "step": 6,
        "elapsed": final["elapsed"],
        "val_loss": 0.1,
        "val_aux": 2.0,
        "test_w": result["test_w"],
    }
    assert final["elapsed"] == round(final["elapsed"], 3) and 0 < final["elapsed"] < 3
    assert isinstance(result["seconds"], float) and result["seconds"] == round(result["seconds"], 2)
    assert abs(result["seconds"] - final["elapsed"]) <= 0.006
    assert result["run_dir"] == str(tmp_path)
    assert log.of("end") == [(result,)]


def test_best_pt_records_what_rebuilds_the_model_over_extra_config(tmp_path):
    config = TrainConfig(steps=2, eval_every=2, lr=0.05, batch_size=4)
    extra = {"model": "overridden", "note": 1}
    Trainer(Scripted(), config, tmp_path, extra_config=extra, progress=False).fit()
    best = load_checkpoint(tmp_path / "best.pt")
    assert best["config"] == {
        "task_config": {"model": "lin", "width": 2},
        "model": "lin",
        "width": 2,
        "note": 1,
    }


def test_an_ineligible_evaluation_never_chooses_best_nor_meets_the_target(tmp_path):
    task = Scripted(vals=[0.0, 0.5, 0.4], eligible_from=3)
    result, _, _ = _fit(tmp_path, task=task, target=0.45)
    assert result["stopped_by"] == "target" and result["steps"] == 6
    assert load_checkpoint(tmp_path / "best.pt")["step"] == 6
    assert result["val_loss"] == 0.4


def test_the_target_stops_at_the_first_evaluation_that_meets_it(tmp_path):
    task = Scripted(vals=[0.5, 0.2, 0.1])
    result, log, _ = _fit(tmp_path, task=task, target=0.2, steps=10)
    assert (result["steps"], result["stopped_by"]) == (4, "target")
    assert log.of("checkpoint") == [(4,)]
    assert [s for s, _ in log.of("eval")] == [2, 4]


def test_the_tasks_event_is_logged_after_its_evaluation(tmp_path):
    _fit(tmp_path, task=Scripted(event_at=4))
    records = _records(tmp_path)
    assert records[2] == {"step": 4, "event": "grow"}
    assert [r["step"] for r in records[:2]] == [2, 4] and "val_loss" in records[1]


def test_train_figures_average_the_steps_since_the_last_evaluation(tmp_path):
    _, log, _ = _fit(tmp_path)
    records = [r for _, r in log.of("eval")]
    assert [r["train_seen"] for r in records] == [1.5, 3.5, 5.5]
    keys = {"step", "elapsed", "train_loss", "train_seen", "val_loss", "val_aux", "sample"}
    assert set(records[0]) == keys and records[1]["sample"] == "at 4"


def test_each_step_reports_its_loss_the_tasks_figures_the_lr_and_the_time(tmp_path):
    _, log, _ = _fit(tmp_path, lr=0.05, lr_schedule="step", lr_decay=0.5, lr_step=3)
    steps = log.of("step")
    assert [s for s, _ in steps] == [1, 2, 3, 4, 5, 6]
    assert set(steps[0][1]) == {"loss", "seen", "lr", "elapsed"}
    assert [logs["lr"] for _, logs in steps] == pytest.approx([0.05] * 3 + [0.025] * 3)
    assert [logs["seen"] for _, logs in steps] == [1, 2, 3, 4, 5, 6]
    assert all(logs["elapsed"] > 0 and logs["loss"] > 0 for _, logs in steps)


def test_a_non_finite_loss_names_the_step_it_broke_and_the_files_kept(tmp_path):
    with pytest.raises(TrainingDiverged) as e:
        _fit(tmp_path, task=Scripted(nan_loss_at=3), checkpoint_every=2)
    assert str(e.value) == (
        "training diverged at step 3 (the loss became nan): lower the learning rate or "
        f"max_norm; {tmp_path} keeps the last finite checkpoint.pt of step 2 and best.pt of "
        "step 2"
    )


def test_weights_an_update_made_non_finite_end_the_run_at_that_step(tmp_path, monkeypatch):
    real = trainer_module.update

    def poisoned(loss, optimizer, parameters, *args):
        real(loss, optimizer, parameters, *args)
        if optimizer.state and len(poisoned.seen) == 2:
            with torch.no_grad():
                optimizer.param_groups[0]["params"][0].fill_(math.inf)
        poisoned.seen.append(1)

    poisoned.seen = []
    monkeypatch.setattr(trainer_module, "update", poisoned)
    with pytest.raises(TrainingDiverged) as e:
        _fit(tmp_path)
    assert str(e.value) == (
        "training diverged at step 3 (the update made some weights NaN or inf): lower the "
        f"learning rate or max_norm; {tmp_path} keeps the last finite best.pt of step 2"
    )


def test_a_non_finite_val_figure_ends_the_run(tmp_path):
    with pytest.raises(TrainingDiverged, match=r"at step 4 \(val_loss became nan\)"):
        _fit(tmp_path, task=Scripted(vals=[0.3, math.nan]))
    assert load_checkpoint(tmp_path / "best.pt")["step"] == 2


class Fitted(Scripted):
    def fit_to_budget(self, config, given=frozenset()):
        self.fits.append(given)
        return dataclasses.replace(config, steps=3, batch_size=2), "fitted: 3 steps of 2"


def test_the_budget_fit_replaces_the_config_and_says_so(tmp_path, capsys):
    task = Fitted()
    config = TrainConfig(steps=6, eval_every=2, lr=0.05, batch_size=4)
    trainer = Trainer(task, config, tmp_path, given=frozenset({"lr"}))
    result = trainer.fit()
    assert result["steps"] == 3 and trainer.config.batch_size == 2
    assert task.memory == [4, 2] and task.fits == [frozenset({"lr"})]
    err = capsys.readouterr().err
    assert "fitted: 3 steps of 2\n" in err and "scripted lin" in err
    Trainer(Fitted(), config, tmp_path / "quiet", progress=False).fit()
    assert capsys.readouterr().err == ""


def test_a_budget_fit_that_breaks_the_config_is_refused(tmp_path):
    class Broken(Scripted):
        def fit_to_budget(self, config, given=frozenset()):
            return dataclasses.replace(config, steps=0), ""

    config = TrainConfig(steps=6, eval_every=2, lr=0.05, batch_size=4)
    with pytest.raises(Exception, match="steps"):
        Trainer(Broken(), config, tmp_path, progress=False).fit()


def test_a_resume_continues_from_its_step_and_is_never_refitted(tmp_path):
    task = Fitted()
    _fit(tmp_path, task=task)
    _, log, _ = _fit(tmp_path, task=task, resume=True, steps=5)
    assert len(task.fits) == 1
    assert log.of("start") == [(5, 3)]
    assert [s for s, _ in log.of("step")] == [4, 5]


def test_a_stop_requested_at_an_evaluation_ends_the_run_with_its_reason(tmp_path):
    class StopAt4(Callback):
        def on_eval(self, step, record):
            if step == 4:
                trainer.request_stop("enough")

    config = TrainConfig(steps=10, eval_every=2, lr=0.05, batch_size=4, checkpoint_every=100)
    log = Log()
    trainer = Trainer(Scripted(), config, tmp_path, callbacks=[StopAt4(), log], progress=False)
    result = trainer.fit()
    assert (result["steps"], result["stopped_by"]) == (4, "enough")
    assert log.of("checkpoint") == [(4,)]


def test_a_progress_callback_replaces_the_plain_progress_line(tmp_path, capsys):
    config = TrainConfig(steps=2, eval_every=2, lr=0.05, batch_size=4)
    Trainer(Scripted(), config, tmp_path, callbacks=[Log(), ProgressState()]).fit()
    assert "scripted" not in capsys.readouterr().err
    Trainer(Scripted(), config, tmp_path / "plain").fit()
    lines = capsys.readouterr().err.splitlines()
    assert lines and all(line.startswith("scripted lin step ") for line in lines)


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
    result, log, _ = _fit(tmp_path, steps=10**6, max_time=1e-9, progress=True)
    assert (result["steps"], result["stopped_by"]) == (1, "time")
    assert log.of("checkpoint") == [(1,)]
    assert "ETA 0:00" in capsys.readouterr().err  # by the budget, not by the 10**6 steps


def test_checkpoint_minutes_checkpoint_every_step_once_due(tmp_path):
    _, log, _ = _fit(tmp_path, steps=3, checkpoint_minutes=1e-9)
    assert log.of("checkpoint") == [(1,), (2,), (3,)]


def test_a_signal_checkpoints_then_stops_the_run(tmp_path):
    class TermAt3(Callback):
        def on_step(self, step, logs):
            if step == 3:
                os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(Interrupted) as e:
        _fit(tmp_path, callbacks=[TermAt3()], steps=10, signal_expected=True)
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
        _fit(tmp_path, task=TwoBad())


def test_a_task_that_evaluates_on_test_is_named(tmp_path):
    class Leaky(Scripted):
        def evaluate(self, model, device):
            return {"val_loss": 0.1, "test_loss": 0.2}

    with pytest.raises(TypeError, match=r"^Leaky.evaluate returned \['test_loss'\]"):
        _fit(tmp_path, task=Leaky())


def test_a_fit_that_only_changes_the_config_or_only_speaks_is_applied(tmp_path, capsys):
    class Silent(Scripted):
        def fit_to_budget(self, config, given=frozenset()):
            return dataclasses.replace(config, steps=3), ""

    class Speaks(Scripted):
        def fit_to_budget(self, config, given=frozenset()):
            return config, "kept as asked"

    result, _, _ = _fit(tmp_path / "silent", task=Silent())
    assert result["steps"] == 3
    config = TrainConfig(steps=2, eval_every=2, lr=0.05, batch_size=4)
    Trainer(Speaks(), config, tmp_path / "speaks", callbacks=[ProgressState()]).fit()
    assert "kept as asked" in capsys.readouterr().err


def test_the_task_is_handed_the_model_the_device_and_the_runs_data_stream(tmp_path):
    task = Scripted()
    _fit(tmp_path, task=task)
    cpu, gen, lin = torch.device, torch.Generator, nn.Linear
    assert task.handed == {
        ("train_batch", gen, cpu),
        ("evaluate", lin, cpu),
        ("on_eval", lin, cpu),
        ("report", lin, cpu),
    }
    assert [s for s, _ in task.hook.of("eval")] == [2, 4, 6]  # the task's own callback


def test_a_resume_restores_the_tasks_data_position(tmp_path):
    _fit(tmp_path, steps=3, checkpoint_every=3)
    task = Scripted()
    _fit(tmp_path, task=task, resume=True)
    assert task.restored == {"calls": 3}


def test_a_resume_of_a_finished_run_trains_no_further(tmp_path):
    _fit(tmp_path)
    result, log, _ = _fit(tmp_path, resume=True)
    assert log.of("step") == [] and result["steps"] == 6


def test_a_resume_refuses_another_task_config_or_other_data(tmp_path):
    _fit(tmp_path, steps=2)
    wider = Scripted()
    wider.config = ScriptConfig(width=3)
    with pytest.raises(SgtkError, match=r"would change the run's task \(width 2 -> 3"):
        _fit(tmp_path, task=wider, resume=True)

    class NewData(Scripted):
        def fingerprint(self):
            return {"generated": "scripted-v2", "model": "lin", "width": 2}

    with pytest.raises(SgtkError, match=r"the data changed since this run started"):
        _fit(tmp_path, task=NewData(), resume=True)


def test_a_divergence_right_after_a_resume_names_the_best_pt_on_disk(tmp_path):
    _fit(tmp_path, steps=2)
    with pytest.raises(TrainingDiverged) as e:
        _fit(tmp_path, task=Scripted(nan_loss_at=1), resume=True)
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

    result, _, _ = _fit(tmp_path, task=Accuracy(vals=[0.1, 0.6, 0.9]), target=0.5, steps=10)
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
        result, log, _ = _fit(tmp_path / "run", task=task)
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
            _fit(tmp_path)
    finally:
        other.kill()
        other.wait()
        other.stdout.close()
