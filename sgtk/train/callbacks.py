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


def emit(callbacks: list[Any], event: str, *args: Any) -> None:
    """Call ``event`` on every callback that has it (duck-typed ones may lack some)."""
    for cb in callbacks:
        hook = getattr(cb, event, None)
        if hook is not None:
            hook(*args)
