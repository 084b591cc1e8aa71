"""The training loop's state and the rules it lives by: when to stop, when an evaluation is
a divergence, when ``--target`` is met. Pure functions of plain values, so each rule can be
tested without training anything."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from sgtk.errors import SgtkError


class TrainingDiverged(SgtkError):
    pass


WALL, CPU = 1, 2  # which time budget ended a run; the larger wins the ranks' all-reduce
BUDGET_REASONS = {WALL: "time", CPU: "cpu time"}


@dataclass
class LoopState:
    """What the loop changes as it runs; ``checkpoint.pt`` keeps it beside the weights."""

    step: int = 0
    elapsed_before: float = 0.0  # seconds spent by the earlier processes of this run
    cpu_before: float = 0.0  # CPU seconds they used
    best: float | None = None  # the best value of ``task.metric`` so far
    best_val: dict[str, float] = field(default_factory=dict)  # val figures at that evaluation
    sums: dict[str, float] = field(default_factory=dict)  # train statistics since the last eval
    count: int = 0
    stopped_by: str = "steps"
    saved_step: int | None = None  # the step of checkpoint.pt on disk, for a divergence's line
    best_step: int | None = None  # and of best.pt
    started: float = field(default_factory=time.perf_counter)
    cpu_started: float = field(default_factory=time.process_time)
    last_checkpoint: float = field(default_factory=time.perf_counter)

    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.started

    def cpu_seconds(self) -> float:
        """CPU time of this run, every thread of its processes: on a shared machine, the work
        done, where wall time also counts the waits for a core."""
        return self.cpu_before + time.process_time() - self.cpu_started

    def clock_due(
        self, max_time: float | None, minutes: float | None, max_cpu: float | None = None
    ) -> tuple[int, bool]:
        """(which budget is spent: 0 none, :data:`WALL` or :data:`CPU`; ``minutes`` have passed
        since the last checkpoint)."""
        time_up = WALL if max_time is not None and self.elapsed() >= max_time else 0
        if max_cpu is not None and self.cpu_seconds() >= max_cpu:
            time_up = CPU
        since = time.perf_counter() - self.last_checkpoint
        return time_up, minutes is not None and since >= minutes * 60

    def add_train_stats(self, stats: dict[str, float]) -> None:
        for k, v in stats.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
        self.count += 1


@dataclass(frozen=True)
class StopVerdict:
    done: bool
    checkpoint_due: bool
    signum: int  # a stop signal to re-raise once checkpointed, or 0
    stopped_by: str | None  # why the run ends here, when ``done``


def stop_verdict(
    step: int,
    steps: int,
    checkpoint_every: int,
    agreed: tuple[float, ...],
    reason: str | None,
) -> StopVerdict:
    """The loop's decision after ``step``, from what every rank agreed on: ``agreed`` is
    (time up, checkpoint minutes due, stop signal, stop requested), each the maximum over
    ranks; time up is :data:`WALL` or :data:`CPU` (which budget). ``reason`` is this rank's
    own stop request, if any."""
    time_up, minutes_due, signum = int(agreed[0]), bool(agreed[1]), int(agreed[2])
    done = step >= steps or bool(time_up) or bool(agreed[3])
    stopped_by = None
    if done:
        stopped_by = "steps"
        if step < steps:
            stopped_by = BUDGET_REASONS.get(time_up) or reason or "stop request"
    return StopVerdict(done, step % checkpoint_every == 0 or minutes_due, signum, stopped_by)


def non_finite_val(record: dict[str, Any]) -> list[str]:
    """``"val_x became nan"`` for each non-finite val figure: a NaN val loss beside a finite
    accuracy is a diverged model, never a better one."""
    return [
        f"{k} became {v}"
        for k, v in record.items()
        if k.startswith("val_") and isinstance(v, float) and not math.isfinite(v)
    ]


def reached(value: float, target: float, mode: str) -> bool:
    """Whether ``value`` meets ``target`` for a metric where ``mode`` ("max"/"min") is better."""
    return value >= target if mode == "max" else value <= target


def test_keys(*records: dict[str, Any]) -> list[str]:
    """The ``test_*`` keys among ``records``: test figures are computed once, at the end."""
    return sorted(k for r in records for k in r if k.startswith("test_"))


test_keys.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def diverged(
    run_dir: Any, step: int, what: str, saved_step: int | None, best: int | None, has_best: bool
) -> TrainingDiverged:
    """The one line that ends a diverged run: nothing of the diverged model is written, and
    the files on disk are the last finite ones (``best`` is best.pt's step, if known)."""
    kept = [f"checkpoint.pt of step {saved_step}"] if saved_step is not None else []
    if best is not None or has_best:
        kept.append("best.pt" + (f" of step {best}" if best else ""))
    keeps = f"{run_dir} keeps the last finite " + (" and ".join(kept) or "files")
    return TrainingDiverged(
        f"training diverged at step {step} ({what}): lower the learning rate or max_norm; " + keeps
    )


def evaluation_record(
    run: LoopState, metrics: dict[str, Any], extra: dict[str, Any], mean: Any, who: str
) -> dict[str, Any]:
    """One ``metrics.jsonl`` record: step, elapsed, the train statistics averaged since the
    last evaluation (``mean`` averages them over ranks), the val figures and the task's
    ``extra`` (a text sample). ``who`` (the task's class) is named if it leaks test figures."""
    leaked = test_keys(metrics, extra)
    if leaked:
        # Test figures are computed once, on the selected model, by Task.report.
        raise TypeError(f"{who}.evaluate returned {leaked}: move them to report()")
    n = max(run.count, 1)
    train = {f"train_{k}": mean(v / n) for k, v in run.sums.items()}
    return {"step": run.step, "elapsed": round(run.elapsed(), 3), **train, **metrics, **extra}
