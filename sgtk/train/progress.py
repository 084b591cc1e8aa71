"""Training progress for any front end: a terminal, a Slurm log, a notebook.

:class:`ProgressState` follows the run (step, rate, ETA, smoothed train figures, the latest
val figures); :class:`PlainProgress` prints it as one plain line at every evaluation and at
least every ``every`` seconds, which reads well where there is no terminal to redraw.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from sgtk.train.callbacks import Callback


def clock(seconds: float) -> str:
    """``75`` -> ``1:15``, ``3725`` -> ``1:02:05``."""
    seconds = max(int(seconds), 0)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ProgressState(Callback):
    """What a progress display shows, kept up to date by the Trainer's events."""

    def __init__(self, show: tuple[str, ...] = ("loss",), max_time: float | None = None):
        self.show, self.max_time = show, max_time
        self.step = self.start = self.total = 0
        self.elapsed = 0.0
        self.train: dict[str, float] = {}
        self.val: dict[str, float] = {}
        self._t0 = time.perf_counter()

    def on_start(self, total_steps: int, start_step: int) -> None:
        self.total, self.step, self.start = total_steps, start_step, start_step
        self._t0 = time.perf_counter()

    def on_step(self, step: int, logs: dict[str, float]) -> None:
        self.step = step
        self.elapsed = float(logs.get("elapsed", self.elapsed))
        for k, v in logs.items():  # smooth the noisy per-batch figures
            self.train[k] = v if k not in self.train else 0.9 * self.train[k] + 0.1 * v

    def on_eval(self, step: int, record: dict[str, Any]) -> None:
        self.val = {
            k: v
            for k, v in record.items()
            if k.startswith("val_") and isinstance(v, int | float) and not isinstance(v, bool)
        }

    @property
    def rate(self) -> float:
        """Steps a second in this process (a resumed run's earlier steps are not counted)."""
        return (self.step - self.start) / max(time.perf_counter() - self._t0, 1e-9)

    @property
    def eta(self) -> float | None:
        """Seconds left: by time under ``max_time`` (whichever ends first), else by steps."""
        by_steps = (self.total - self.step) / self.rate if self.rate > 0 else None
        if self.max_time is None:
            return by_steps
        by_time = max(self.max_time - self.elapsed, 0.0)
        return by_time if by_steps is None else min(by_time, by_steps)

    def metrics(self) -> str:
        """``loss 0.412 · val_accuracy 0.930``: the shown train figures, then the val ones."""
        parts = [f"{k} {self.train[k]:.3f}" for k in self.show if k in self.train]
        parts += [f"{k} {v:.4g}" for k, v in self.val.items()]
        return " · ".join(parts)

    def line(self, title: str) -> str:
        pct = 100 * self.step / self.total if self.total else 0.0
        eta = self.eta
        head = [
            f"{title} step {self.step}/{self.total} ({pct:.0f} %)",
            f"{self.rate:.1f} it/s",
            f"{clock(self.elapsed)} elapsed",
            f"ETA {clock(eta)}" if eta is not None else "ETA ?",
        ]
        metrics = self.metrics()
        return " · ".join(head + ([metrics] if metrics else []))


class PlainProgress(ProgressState):
    """One plain line at every evaluation and at least every ``every`` seconds between."""

    def __init__(
        self,
        title: str = "",
        show: tuple[str, ...] = ("loss",),
        max_time: float | None = None,
        every: float = 30.0,
        stream: IO[str] | None = None,
    ):
        super().__init__(show, max_time)
        self.title, self.every, self.stream = title, every, stream
        self._printed = time.perf_counter()

    def _print(self) -> None:
        print(self.line(self.title), file=self.stream or sys.stderr, flush=True)
        self._printed = time.perf_counter()

    def on_start(self, total_steps: int, start_step: int) -> None:
        super().on_start(total_steps, start_step)
        self._printed = time.perf_counter()

    def on_step(self, step: int, logs: dict[str, float]) -> None:
        super().on_step(step, logs)
        if time.perf_counter() - self._printed >= self.every:
            self._print()

    def on_eval(self, step: int, record: dict[str, Any]) -> None:
        super().on_eval(step, record)
        self._print()
