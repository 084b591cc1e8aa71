"""The stop agreement of ``sgtk.train.stopping`` in one process (kills its mutants: the
verdict's inputs, a signal's number, ``stopped_by`` set only when the run stops, and a
callback's request overriding only a ``steps`` verdict short of the budget)."""

from __future__ import annotations

import signal
import time
from types import SimpleNamespace

from sgtk.train.loop import LoopState
from sgtk.train.stopping import agree_on_request, agree_on_stopping


def _config(**kw):
    base = dict(
        max_time=None, max_cpu_time=None, checkpoint_minutes=None, steps=10, checkpoint_every=5
    )
    return SimpleNamespace(**{**base, **kw})


def _run(step: int, **kw) -> LoopState:
    return LoopState(step=step, **kw)


def test_a_step_short_of_the_budget_goes_on_and_keeps_stopped_by():
    run = _run(3, stopped_by="kept")
    verdict = agree_on_stopping(run, _config(), SimpleNamespace(requested=None), None)
    assert (verdict.done, verdict.checkpoint_due, verdict.signum, verdict.stopped_by) == (
        False,
        False,
        0,
        None,
    )
    assert run.stopped_by == "kept"


def test_the_last_step_stops_by_steps_and_checkpoints_on_the_multiple():
    run = _run(10, stopped_by="other")
    verdict = agree_on_stopping(run, _config(), SimpleNamespace(requested=None), None)
    assert verdict.done and verdict.checkpoint_due and verdict.stopped_by == "steps"
    assert run.stopped_by == "steps"


def test_a_spent_time_budget_stops_by_time():
    run = _run(2, elapsed_before=100.0)
    verdict = agree_on_stopping(run, _config(max_time=50.0), SimpleNamespace(requested=None), None)
    assert verdict.done and verdict.stopped_by == "time" and run.stopped_by == "time"


def test_a_time_budget_not_spent_goes_on():
    run = _run(2, elapsed_before=0.0)
    verdict = agree_on_stopping(run, _config(max_time=1e6), SimpleNamespace(requested=None), None)
    assert not verdict.done and not verdict.checkpoint_due


def test_checkpoint_minutes_passed_make_a_checkpoint_due():
    run = _run(2, last_checkpoint=time.perf_counter() - 120.0)
    due = agree_on_stopping(
        run, _config(checkpoint_minutes=1.0), SimpleNamespace(requested=None), None
    )
    assert due.checkpoint_due and not due.done
    run = _run(2)
    fresh = agree_on_stopping(
        run, _config(checkpoint_minutes=1.0), SimpleNamespace(requested=None), None
    )
    assert not fresh.checkpoint_due


def test_a_signal_is_carried_with_its_number_and_does_not_stop_alone():
    run = _run(2)
    signals = SimpleNamespace(requested=int(signal.SIGTERM))
    verdict = agree_on_stopping(run, _config(), signals, None)
    assert verdict.signum == int(signal.SIGTERM) and not verdict.done


def test_a_callbacks_request_stops_with_its_reason():
    run = _run(2)
    verdict = agree_on_stopping(run, _config(), SimpleNamespace(requested=None), "plateau")
    assert verdict.done and verdict.stopped_by == "plateau" and run.stopped_by == "plateau"


def test_no_request_at_an_evaluation_changes_nothing():
    run = _run(2, stopped_by="steps")
    assert agree_on_request(run, 10, None) is False
    assert run.stopped_by == "steps"


def test_a_request_short_of_the_budget_names_its_reason():
    run = _run(2, stopped_by="steps")
    assert agree_on_request(run, 10, "plateau") is True
    assert run.stopped_by == "plateau"


def test_a_request_at_the_last_step_keeps_steps():
    run = _run(10, stopped_by="steps")
    assert agree_on_request(run, 10, "plateau") is True
    assert run.stopped_by == "steps"


def test_a_request_after_a_time_stop_keeps_time():
    run = _run(2, stopped_by="time")
    assert agree_on_request(run, 10, "plateau") is True
    assert run.stopped_by == "time"


def test_an_empty_reason_is_named_stop_request():
    run = _run(2, stopped_by="steps")
    assert agree_on_request(run, 10, "") is True
    assert run.stopped_by == "stop request"


def test_a_spent_cpu_budget_stops_by_cpu_time():
    run = _run(2, cpu_before=100.0)
    verdict = agree_on_stopping(
        run, _config(max_cpu_time=50.0), SimpleNamespace(requested=None), None
    )
    assert verdict.done and verdict.stopped_by == "cpu time" and run.stopped_by == "cpu time"
