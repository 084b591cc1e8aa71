"""The smallest fits there are, for the Trainer's mutation tests: a Linear(2, 1) task whose val
figures are scripted, a callback that logs every event, and a stub for curves.png (drawing it
takes seconds, the fits milliseconds)."""

import dataclasses
import math

import pytest
import torch
from torch import nn

from sgtk.train.callbacks import Callback
from sgtk.train.metrics import MetricsLog
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


def scripted_fit(
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


def records_of(tmp_path):
    return MetricsLog(tmp_path / "metrics.jsonl").read()


class Fitted(Scripted):
    def fit_to_budget(self, config, given=frozenset()):
        self.fits.append(given)
        return dataclasses.replace(config, steps=3, batch_size=2), "fitted: 3 steps of 2"
