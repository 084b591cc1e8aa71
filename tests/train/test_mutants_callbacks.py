"""``sgtk.train.callbacks`` without a Trainer (kills its mutants: ``Patience``'s argument
checks, the strict gain over ``min_delta`` (absolute or relative, min or max), the count of
evaluations without one, any metric's gain resetting it, and ``emit`` skipping absent hooks)."""

from __future__ import annotations

import pytest

from sgtk.train.callbacks import EVENTS, Callback, Patience, emit


class _Trainer:
    def __init__(self) -> None:
        self.requests: list[str] = []

    def request_stop(self, reason: str) -> None:
        self.requests.append(reason)


def _feed(patience: Patience, values: list[dict]) -> list[int]:
    """The evaluation indices at which a stop was requested."""
    stops = []
    for i, record in enumerate(values):
        before = len(patience.trainer.requests)
        patience.on_eval(i, record)
        if len(patience.trainer.requests) > before:
            stops.append(i)
    return stops


@pytest.mark.parametrize(
    "kw",
    [
        {"evals": 0},
        {"evals": 1, "min_delta": -0.1},
        {"evals": 1, "min_delta": float("nan")},
        {"evals": 1, "mode": "mean"},
    ],
)
def test_bad_arguments_are_refused(kw):
    with pytest.raises(ValueError) as error:
        Patience(_Trainer(), "val_loss", **kw)
    assert str(error.value).startswith("patience ")


def test_the_boundary_arguments_are_taken():
    p = Patience(_Trainer(), "val_loss", evals=1, min_delta=0.0, mode="max")
    assert (p.evals, p.metrics, p.min_delta, p.mode, p.relative) == (
        1,
        ("val_loss",),
        0.0,
        "max",
        False,
    )
    assert (p.best, p.since) == ({}, 0)
    assert Patience(_Trainer(), ("a", "b"), evals=1).metrics == ("a", "b")
    assert Patience(_Trainer(), ["a"], evals=1).metrics == ("a",)


def test_a_min_metric_stops_after_evals_without_a_gain():
    trainer = _Trainer()
    p = Patience(trainer, "loss", evals=2)
    stops = _feed(p, [{"loss": 3.0}, {"loss": 2.0}, {"loss": 2.0}, {"loss": 2.5}, {"loss": 1.0}])
    assert stops == [3] and trainer.requests == ["patience"]
    assert p.best == {"loss": 1.0} and p.since == 0


def test_a_gain_of_exactly_min_delta_is_not_progress():
    p = Patience(_Trainer(), "loss", evals=1, min_delta=0.5)
    assert _feed(p, [{"loss": 2.0}, {"loss": 1.5}, {"loss": 1.49}]) == [1]
    assert p.best == {"loss": 1.49}


def test_a_max_metric_needs_a_rise_above_min_delta():
    p = Patience(_Trainer(), "acc", evals=1, min_delta=0.1, mode="max")
    assert _feed(p, [{"acc": 0.5}, {"acc": 0.6}, {"acc": 0.61}, {"acc": 0.4}]) == [1, 3]
    assert p.best == {"acc": 0.61}


def test_a_relative_delta_scales_with_the_best_value():
    p = Patience(_Trainer(), "loss", evals=1, min_delta=0.1, relative=True)
    # best -4: a gain must beat 0.4 (|best|), so -4.3 is noise and -4.5 progress
    assert _feed(p, [{"loss": -4.0}, {"loss": -4.3}, {"loss": -4.5}]) == [1]
    q = Patience(_Trainer(), "acc", evals=1, min_delta=0.1, mode="max", relative=True)
    assert _feed(q, [{"acc": -2.0}, {"acc": -1.85}, {"acc": -1.7}]) == [1]


def test_any_metrics_gain_resets_the_count_and_absent_ones_are_skipped():
    p = Patience(_Trainer(), ("a", "b"), evals=2)
    records = [
        {"a": 1.0, "b": 1.0},
        {"a": 0.5, "b": 2.0},
        {"a": 0.9, "b": 0.9},
        {"c": 0.0},
        {"a": 0.4},
    ]
    assert _feed(p, records) == []
    assert p.best == {"a": 0.4, "b": 0.9}
    assert _feed(p, [{"c": 0.0}, {"c": 0.0}, {"c": 0.0}]) == [1, 2]


def test_the_count_grows_one_per_evaluation():
    p = Patience(_Trainer(), "loss", evals=3)
    _feed(p, [{"loss": 1.0}, {"loss": 1.0}, {"loss": 1.0}])
    assert p.since == 2 and p.trainer.requests == []


def test_emit_calls_each_present_hook_with_its_arguments():
    calls = []

    class Recorder(Callback):
        def on_step(self, step, logs):
            calls.append((step, logs))

    class Partial:  # duck-typed, no on_step
        pass

    emit([Recorder(), Partial(), Recorder()], "on_step", 3, {"loss": 1.0})
    assert calls == [(3, {"loss": 1.0}), (3, {"loss": 1.0})]
    assert EVENTS == ("on_start", "on_step", "on_eval", "on_checkpoint", "on_end")
    for event in EVENTS:
        assert getattr(Callback(), event)(*([0] * (2 if event in EVENTS[:3] else 1))) is None
