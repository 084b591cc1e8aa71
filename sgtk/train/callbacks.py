"""Hooks into the Trainer's loop. Subclass ``Callback`` and override the events you need."""

from __future__ import annotations

from typing import Any

EVENTS = ("on_start", "on_step", "on_eval", "on_checkpoint", "on_end")


class Callback:
    """Every hook does nothing by default. Only rank 0's callbacks should write files."""

    def on_start(self, total_steps: int, start_step: int) -> None:
        """Before the first step; ``start_step`` is above 0 on ``--resume``."""

    def on_step(self, step: int, logs: dict[str, float]) -> None:
        """After each optimiser step: the batch's loss, the task's statistics and ``lr``."""

    def on_eval(self, step: int, record: dict[str, Any]) -> None:
        """After each evaluation, with the record that ``metrics.jsonl`` gets."""

    def on_checkpoint(self, step: int) -> None:
        """After ``checkpoint.pt`` was written."""

    def on_end(self, result: dict[str, Any]) -> None:
        """After the final report, with the dict that ``Trainer.fit`` returns."""


class Patience(Callback):
    """Asks ``trainer`` to stop (``stopped_by: "patience"``) once no metric of ``metric``
    (one key, or several: any one's progress counts) has beaten its own best by more than
    ``min_delta`` for ``evals`` evaluations in a row.

    Only a gain above ``min_delta`` counts as progress (Keras' EarlyStopping rule), so a
    model at chance, whose val figures wander from one evaluation to the next, is not kept
    alive by that noise. With ``relative`` the gain is a fraction of the best value (0.01:
    one percent of the loss), which holds for a loss at 2.3 nats and at 0.01 alike.
    ``trainer`` needs ``request_stop(reason)``, as ``sgtk.train.trainer.Trainer`` has.
    """

    def __init__(
        self,
        trainer: Any,
        metric: str | tuple[str, ...],
        evals: int,
        min_delta: float = 0.0,
        mode: str = "min",
        relative: bool = False,
    ) -> None:
        if evals < 1 or not min_delta >= 0 or mode not in ("min", "max"):
            raise ValueError(f"patience {evals} >= 1, min_delta {min_delta} >= 0, mode {mode}")
        self.trainer, self.evals = trainer, evals
        self.metrics = (metric,) if isinstance(metric, str) else tuple(metric)
        self.min_delta, self.mode, self.relative = min_delta, mode, relative
        self.best: dict[str, float] = {}
        self.since = 0  # evaluations since the last gain

    def improved(self, name: str, value: float) -> bool:
        best = self.best.get(name)
        if best is None:
            return True
        delta = self.min_delta * abs(best) if self.relative else self.min_delta
        if self.mode == "max":
            return value > best + delta
        return value < best - delta

    def on_eval(self, step: int, record: dict[str, Any]) -> None:
        gains = [k for k in self.metrics if k in record and self.improved(k, record[k])]
        for k in gains:
            self.best[k] = record[k]
        if gains:
            self.since = 0
            return
        self.since += 1
        if self.since >= self.evals:
            self.trainer.request_stop("patience")


def emit(callbacks: list[Any], event: str, *args: Any) -> None:
    """Call ``event`` on every callback that has it (duck-typed ones may lack some)."""
    for cb in callbacks:
        hook = getattr(cb, event, None)
        if hook is not None:
            hook(*args)
