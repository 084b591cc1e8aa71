"""The training progress display: a redrawn two-row bar on a terminal, plain lines elsewhere."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column
from rich.text import Text

from sgtk.train.callbacks import Callback
from sgtk.train.progress import PlainProgress, ProgressState


class _TwoRows(Progress):
    """Rich's progress bar with the run's figures on a row of their own, so that however many
    metrics a run logs, the bar, the step count and the ETA never lose their place."""

    metrics: str = ""

    def get_renderables(self) -> Iterable[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        if self.metrics:
            yield Text("  " + self.metrics, style="cyan", overflow="ellipsis", no_wrap=True)


class RichProgress(ProgressState):
    """Row one: title, bar, step/total (seconds under ``--max-time``), rate, elapsed, ETA.
    Row two: the smoothed train figures and the latest val figures."""

    def __init__(
        self,
        title: str,
        console: Console,
        show: tuple[str, ...] = ("loss",),
        max_time: float | None = None,
    ):
        super().__init__(show, max_time)
        self.title = title
        count = (
            TextColumn("{task.completed:.0f}/{task.total:.0f} s")
            if max_time
            else MofNCompleteColumn()
        )
        self.progress = _TwoRows(
            # The title gives way first, so the bar, count and ETA fit in 80 columns.
            TextColumn(
                "[bold]{task.description}",
                table_column=Column(max_width=24, no_wrap=True, overflow="ellipsis"),
            ),
            BarColumn(bar_width=20),
            count,
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            expand=False,
        )

    def on_start(self, total_steps: int, start_step: int) -> None:
        super().on_start(total_steps, start_step)
        self.progress.start()
        self.task = self.progress.add_task(
            self.title,
            total=self.max_time or total_steps,
            completed=0 if self.max_time else start_step,
            rate="",
        )

    def on_step(self, step: int, logs: dict[str, float]) -> None:
        super().on_step(step, logs)
        done = min(self.elapsed, self.max_time) if self.max_time else step
        self.progress.metrics = self.metrics()
        self.progress.update(self.task, completed=done, rate=f"{self.rate:.0f} it/s")

    def on_eval(self, step: int, record: dict[str, Any]) -> None:
        super().on_eval(step, record)
        self.progress.metrics = self.metrics()

    def stop(self) -> None:
        self.progress.stop()


def progress_for(
    title: str, console: Console, show: tuple[str, ...], max_time: float | None
) -> Callback:
    """A redrawn bar where ``console`` is a terminal, else a plain line per evaluation and at
    least every 30 s (a Slurm log, ``nohup``, a pipe)."""
    if console.is_terminal:
        return RichProgress(title, console, show, max_time)
    return PlainProgress(title, show, max_time, stream=console.file)
