"""The Trainer's protocol: select on val, report test once at the end, log what it promises."""

import csv
import json
import os
import signal
import sys

import pytest
import torch
from torch import nn

from sgtk.errors import SgtkError
from sgtk.train.callbacks import Callback
from sgtk.train.checkpoint import load_checkpoint
from sgtk.train.metrics import MetricsLog
from sgtk.train.signals import Interrupted
from sgtk.train.task import Task
from sgtk.train.trainer import TrainConfig, Trainer


class ToyTask(Task):
    """Linear regression on fixed data: fast, and its val and test sets differ on purpose."""

    name = "toy"
    metric = "val_loss"
    mode = "min"

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.w = torch.randn(4, 1, generator=g)
        self.val_x = torch.randn(64, 4, generator=g)
        self.test_x = torch.randn(64, 4, generator=g) * 3

    def build_model(self) -> nn.Module:
        return nn.Linear(4, 1)

    def train_batch(self, batch_size, generator, device):
        x = torch.randn(batch_size, 4, generator=generator)
        return x, x @ self.w

    def loss(self, model, batch):
        x, y = batch
        return nn.functional.mse_loss(model(x), y), {}

    def _mse(self, model, x):
        return nn.functional.mse_loss(model(x), x @ self.w).item()

    def evaluate(self, model, device):
        return {"val_loss": self._mse(model, self.val_x)}

    def report(self, model, device):
        return {"test_loss": self._mse(model, self.test_x)}


def _fit(tmp_path, task=None, **cfg):
    config = TrainConfig(**{"steps": 40, "eval_every": 10, "lr": 0.05, **cfg})
    return Trainer(task or ToyTask(), config, tmp_path).fit()


def test_no_test_key_in_metrics_jsonl_before_the_final_record(tmp_path):
    _fit(tmp_path)
    *records, final = MetricsLog(tmp_path / "metrics.jsonl").read()
    assert [r["step"] for r in records] == [10, 20, 30, 40]
    assert not [k for r in records for k in r if k.startswith("test_")]
    assert final["final"] is True and "test_loss" in final


def test_every_record_has_step_elapsed_train_and_val_figures(tmp_path):
    _fit(tmp_path)
    for r in MetricsLog(tmp_path / "metrics.jsonl").read()[:-1]:
        assert set(r) == {"step", "elapsed", "train_loss", "val_loss"}
        assert r["elapsed"] >= 0


def test_the_final_record_and_result_hold_the_best_val_figures_and_the_test_figures(tmp_path):
    result = _fit(tmp_path, lr=0.5, optimizer="sgd")  # large steps: val loss is not monotone
    *records, final = MetricsLog(tmp_path / "metrics.jsonl").read()
    best = min(records, key=lambda r: r["val_loss"])
    assert final["val_loss"] == result["val_loss"] == best["val_loss"]
    assert final["step"] == result["steps"] == 40
    assert result["test_loss"] == final["test_loss"]
    assert result["stopped_by"] == "steps" and result["run_dir"] == str(tmp_path)
    # best.pt is the best evaluation's (that report() ran on its weights, not on the last
    # ones, is checked where val peaks early: test_trainer_weights.py)
    state = torch.load(tmp_path / "best.pt", weights_only=True)
    assert state["step"] == best["step"]


def test_target_is_met_on_the_val_metric(tmp_path):
    result = _fit(tmp_path, steps=400, target=1e-3)
    assert result["stopped_by"] == "target" and result["val_loss"] <= 1e-3


def test_a_task_that_evaluates_on_test_is_refused(tmp_path):
    class Leaky(ToyTask):
        def evaluate(self, model, device):
            return {**super().evaluate(model, device), "test_loss": 0.0}

    with pytest.raises(TypeError, match="report"):
        _fit(tmp_path, task=Leaky())


def test_resume_of_a_finished_run_drops_its_final_record(tmp_path):
    _fit(tmp_path, steps=20)
    Trainer(ToyTask(), TrainConfig(steps=40, eval_every=10, lr=0.05), tmp_path).fit(resume=True)
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(x) for x in lines]
    assert [r["step"] for r in records] == [10, 20, 30, 40, 40]
    assert [r.get("final", False) for r in records] == [False] * 4 + [True]


class CheckpointCounter(Callback):
    def __init__(self):
        self.steps = []

    def on_checkpoint(self, step):
        self.steps.append(step)


def test_checkpoint_minutes_checkpoints_on_time_whatever_the_step_count(tmp_path):
    counter = CheckpointCounter()
    config = TrainConfig(steps=12, eval_every=6, checkpoint_every=10**9, checkpoint_minutes=1e-9)
    Trainer(ToyTask(), config, tmp_path / "minutes", callbacks=[counter]).fit()
    assert counter.steps == list(range(1, 13))  # a tiny M is due after every step
    counter = CheckpointCounter()
    config = TrainConfig(steps=12, eval_every=6, checkpoint_every=10**9)
    Trainer(ToyTask(), config, tmp_path / "steps", callbacks=[counter]).fit()
    assert counter.steps == [12]


def test_a_second_sigterm_during_the_checkpoint_write_does_not_tear_it(tmp_path, monkeypatch):
    from sgtk.train import run_dir as trainer_module  # where checkpoint.pt is written

    real_save = trainer_module.save_checkpoint

    def save_while_signalled(state, path):
        if path.name == "checkpoint.pt":
            os.kill(os.getpid(), signal.SIGTERM)  # the second one, mid-write
        real_save(state, path)

    class TermAtStep3(Callback):
        def on_step(self, step, logs):
            if step == 3:
                os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(trainer_module, "save_checkpoint", save_while_signalled)
    config = TrainConfig(steps=100, eval_every=10, checkpoint_every=10**9)
    with pytest.raises(Interrupted) as stopped:
        Trainer(ToyTask(), config, tmp_path, callbacks=[TermAtStep3()]).fit()
    assert stopped.value.exit_code == 143
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 3
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers given back


def test_csv_logger_mirrors_metrics_jsonl_and_is_cut_back_on_resume(tmp_path):
    def fit(steps, resume):
        config = TrainConfig(steps=steps, eval_every=10, logger="csv", lr=0.05)
        Trainer(ToyTask(), config, tmp_path).fit(resume=resume)
        return list(csv.DictReader(open(tmp_path / "metrics.csv")))

    assert [(r["step"], r["final"]) for r in fit(20, False)][-1] == ("20", "True")
    rows = fit(30, True)  # the first run's final record is dropped, as in metrics.jsonl
    assert [(r["step"], r["final"]) for r in rows] == [
        ("10", "False"),
        ("20", "False"),
        ("30", "False"),
        ("30", "True"),
    ]
    assert rows[-1]["test_loss"] and not rows[0]["test_loss"]


def test_tensorboard_logger_without_tensorboard_is_one_line_before_anything_is_written(
    tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import fails, as when missing
    with pytest.raises(SgtkError, match=r"pip install 'sgtk\[tensorboard\]'"):
        Trainer(ToyTask(), TrainConfig(logger="tensorboard"), tmp_path / "run")
    assert not (tmp_path / "run").exists()


class TermAt(Callback):
    def __init__(self, step):
        self.step = step

    def on_step(self, step, logs):
        if step == self.step:
            os.kill(os.getpid(), signal.SIGTERM)


def _records_without_elapsed(path):
    return [
        {k: v for k, v in r.items() if k not in ("elapsed", "cpu_seconds")}
        for r in MetricsLog(path).read()
    ]


def test_a_stop_between_evaluations_resumes_to_the_same_records(tmp_path):
    config = TrainConfig(steps=30, eval_every=10, checkpoint_every=10**9, lr=0.05)
    Trainer(ToyTask(), config, tmp_path / "whole").fit()
    with pytest.raises(Interrupted):
        Trainer(ToyTask(), config, tmp_path / "cut", callbacks=[TermAt(13)]).fit()
    assert load_checkpoint(tmp_path / "cut" / "checkpoint.pt")["step"] == 13
    Trainer(ToyTask(), config, tmp_path / "cut").fit(resume=True)
    whole = _records_without_elapsed(tmp_path / "whole" / "metrics.jsonl")
    assert _records_without_elapsed(tmp_path / "cut" / "metrics.jsonl") == whole


def test_tensorboard_logger_writes_the_val_curve_and_the_test_figures(tmp_path):
    pytest.importorskip("tensorboard")  # an optional extra: sgtk[tensorboard]
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = TrainConfig(steps=20, eval_every=10, logger="tensorboard", lr=0.05)
    Trainer(ToyTask(), config, tmp_path).fit()
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert [e.step for e in events.Scalars("val/loss")] == [10, 20]
    assert [e.step for e in events.Scalars("test/loss")] == [20]


def test_the_progress_bar_follows_time_under_max_time():
    import io

    from rich.console import Console

    from sgtk_cli.progress import RichProgress

    console = Console(file=io.StringIO(), force_terminal=True)
    by_time = RichProgress("t", console, max_time=10.0)
    by_time.on_start(total_steps=100000, start_step=0)
    by_time.on_step(5, {"loss": 1.0, "elapsed": 4.0})
    bar = by_time.progress.tasks[0]
    assert (bar.total, bar.completed, by_time.step) == (10.0, 4.0, 5)
    by_steps = RichProgress("s", console)
    by_steps.on_start(total_steps=100, start_step=0)
    by_steps.on_step(5, {"loss": 1.0, "elapsed": 4.0})
    assert (by_steps.progress.tasks[0].total, by_steps.progress.tasks[0].completed) == (100, 5)
    by_time.stop()
    by_steps.stop()


def test_a_trainer_from_python_shows_plain_progress_unless_told_not_to(tmp_path, capsys):
    _fit(tmp_path / "a")
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" · ")[0] for line in lines if " step " in line] == [
        "toy step 10/40 (25 %)", "toy step 20/40 (50 %)", "toy step 30/40 (75 %)",
        "toy step 40/40 (100 %)",
    ]  # fmt: skip
    config = TrainConfig(steps=40, eval_every=10, lr=0.05)
    Trainer(ToyTask(), config, tmp_path / "b", progress=False).fit()
    assert " step " not in capsys.readouterr().err
