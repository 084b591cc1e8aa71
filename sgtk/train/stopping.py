"""When every rank stops: the loop's verdict after a step, and a callback's stop request at
an evaluation, each agreed by one collective. A rank that stopped alone would leave the
others waiting in their next collective."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sgtk.train import distributed as dist
from sgtk.train import loop as rules
from sgtk.train.loop import LoopState, StopVerdict

if TYPE_CHECKING:
    from sgtk.train.signals import StopSignals
    from sgtk.train.train_config import TrainConfig


def agree_on_stopping(
    run: LoopState, config: TrainConfig, signals: StopSignals, stop_reason: str | None
) -> StopVerdict:
    """The loop's verdict after this step (done, checkpoint due, a signal to re-raise), the
    same on every rank; ``stop_reason``: a callback's request (Trainer.request_stop)."""
    time_up, minutes_due = run.clock_due(
        config.max_time, config.checkpoint_minutes, config.max_cpu_time
    )
    # One all-reduce; a stop request from any rank's callbacks stops every rank.
    requested = stop_reason is not None
    agreed = dist.maximum(time_up, minutes_due, signals.requested or 0, requested)
    verdict = rules.stop_verdict(
        run.step, config.steps, config.checkpoint_every, tuple(agreed), stop_reason
    )
    if verdict.stopped_by is not None:
        run.stopped_by = verdict.stopped_by
    return verdict


def agree_on_request(run: LoopState, steps: int, stop_reason: str | None) -> bool:
    """Whether a callback asked to stop at this evaluation, on any rank."""
    if not dist.any_true(stop_reason is not None)[0]:
        return False
    if run.stopped_by == "steps" and run.step < steps:  # not target or time
        run.stopped_by = stop_reason or "stop request"
    return True
