"""The Trainer's stop request and the Patience callback that uses it (min_delta, relative)."""

import pytest

from sgtk.train.callbacks import Callback, Patience
from sgtk.train.metrics import MetricsLog
from sgtk.train.trainer import TrainConfig, Trainer
from tests.train.test_trainer import ToyTask


class StopAt(Callback):
    """Asks its trainer to stop at ``step``, from ``on_step`` or from ``on_eval``."""

    def __init__(self, step: int, hook: str):
        self.step, self.hook, self.trainer = step, hook, None

    def on_step(self, step, logs):
        if self.hook == "on_step" and step == self.step:
            self.trainer.request_stop("asked")

    def on_eval(self, step, record):
        if self.hook == "on_eval" and step == self.step:
            self.trainer.request_stop("asked")


def _trainer(tmp_path, callbacks, **cfg):
    config = TrainConfig(**{"steps": 100, "eval_every": 10, "lr": 0.05, **cfg})
    trainer = Trainer(ToyTask(), config, tmp_path, callbacks=callbacks)
    for cb in callbacks:
        cb.trainer = trainer
    return trainer


@pytest.mark.parametrize("hook,step", [("on_eval", 30), ("on_step", 25)])
def test_a_stop_request_ends_the_run_there_with_its_reason_and_the_test_report(
    tmp_path, hook, step
):
    result = _trainer(tmp_path, [StopAt(step, hook)]).fit()
    assert (result["steps"], result["stopped_by"]) == (step, "asked")
    *records, final = MetricsLog(tmp_path / "metrics.jsonl").read()
    assert records[-1]["step"] == step  # the stopping step is evaluated, as a last step is
    assert final["final"] and final["step"] == step and "test_loss" in final
    assert (tmp_path / "best.pt").exists() and (tmp_path / "checkpoint.pt").exists()


def test_a_stop_request_does_not_outlive_its_run(tmp_path):
    trainer = _trainer(tmp_path / "a", [StopAt(20, "on_eval")], steps=40)
    trainer.fit()
    trainer.callbacks.clear()
    trainer.run_dir = tmp_path / "b"
    assert trainer.fit()["stopped_by"] == "steps"


def test_the_old_time_limit_hack_is_gone(tmp_path):
    trainer = _trainer(tmp_path, [StopAt(20, "on_eval")])
    result = trainer.fit()
    assert trainer.config.max_time is None and result["stopped_by"] == "asked"


class FakeTrainer:
    def __init__(self):
        self.stopped = None

    def request_stop(self, reason):
        self.stopped = reason


def _stops_after(values, **kwargs):
    """The 1-based evaluation at which Patience asks to stop, or None."""
    trainer = FakeTrainer()
    patience = Patience(trainer, "val_x", **kwargs)
    for i, v in enumerate(values, start=1):
        patience.on_eval(i * 100, {"val_x": v})
        if trainer.stopped:
            assert trainer.stopped == "patience"
            return i
    return None


# Val accuracy at chance (10 classes, 2,000 palindromes): noise of about a point.
CHANCE = [0.099, 0.104, 0.101, 0.108, 0.103, 0.109, 0.1, 0.112, 0.106, 0.113]


def test_noise_below_min_delta_does_not_reset_the_patience():
    assert _stops_after(CHANCE, evals=3, min_delta=0.02, mode="max") == 4


def test_without_min_delta_the_same_noise_keeps_resetting_it():
    # The reason min_delta exists: every new maximum of the noise restarts the count.
    assert _stops_after(CHANCE, evals=3, min_delta=0.0, mode="max") is None


def test_steady_progress_is_never_stopped():
    rising = [0.1, 0.2, 0.45, 0.8, 0.95, 0.98, 0.995, 0.999]
    assert _stops_after(rising, evals=2, min_delta=0.01, mode="max") is None


def test_relative_min_delta_holds_for_a_loss_at_chance_and_near_zero():
    at_chance = [2.303, 2.301, 2.306, 2.298, 2.304]  # gains under 1 % of 2.3 nats
    assert _stops_after(at_chance, evals=2, min_delta=0.01, relative=True) == 3
    converging = [2.3, 1.0, 0.3, 0.05, 0.02, 0.015, 0.012, 0.01]  # tiny, but > 1 %
    assert _stops_after(converging, evals=2, min_delta=0.01, relative=True) is None
    # the same 0.01 taken as absolute nats would stop the converging run
    assert _stops_after(converging, evals=2, min_delta=0.01) == 7


def test_progress_in_any_watched_metric_keeps_the_run_going():
    # A GCN at T=6 memorising first: val loss rises while train loss falls (then it learns).
    trainer = FakeTrainer()
    patience = Patience(trainer, ("val_loss", "train_loss"), 2, 0.01, relative=True)
    val = [2.43, 2.50, 2.53, 2.53, 2.22]
    train = [2.30, 2.28, 2.25, 2.23, 2.08]
    for i, (v, t) in enumerate(zip(val, train)):
        patience.on_eval(i, {"val_loss": v, "train_loss": t})
    assert trainer.stopped is None
    only_val = Patience(trainer, "val_loss", 2, 0.01, relative=True)
    for i, v in enumerate(val):
        only_val.on_eval(i, {"val_loss": v})
    assert trainer.stopped == "patience"  # watching val loss alone would have cut it


def test_patience_stops_a_trainer_that_has_stopped_improving(tmp_path):
    trainer = _trainer(tmp_path, [], steps=400, lr=0.05)
    trainer.callbacks.append(Patience(trainer, "val_loss", 2, min_delta=0.5, relative=True))
    result = trainer.fit()
    assert result["stopped_by"] == "patience" and result["steps"] < 400
