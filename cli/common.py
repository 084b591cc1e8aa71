"""Shared CLI plumbing: config layering, one-line errors, consoles and the progress bar."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from sgtk.errors import SgtkError
from sgtk.train.callbacks import Callback
from sgtk.train.config import checked_values, default_config, read_config_file
from sgtk.train.signals import Interrupted

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def guarded(fn: Callable[[], Any]) -> Any:
    """Run ``fn``; a person's mistake or a failed write is one line and exit 2, another I/O
    error one line and exit 1. A run stopped by a signal (``sgtk.train.signals.Interrupted``)
    exits with 128 + its number: 130 for Ctrl-C, 143 for SIGTERM, 138 for SIGUSR1."""
    try:
        return fn()
    except SgtkError as e:
        fail(str(e))
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        fail(f"{where}{e.strerror or e}: check the path, its permissions and free space", 1)
    except Interrupted as e:
        err.print(f"stopped by {e}: checkpoint written; rerun with --resume to continue")
        raise typer.Exit(e.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None


def layered(
    cls: type, section: str, task: str, config_file: Path | None, flags: dict[str, Any]
) -> Any:
    """``configs/<task>.toml`` <- ``--config FILE`` <- the flags that were given."""
    values: dict[str, Any] = dict(default_config(task).get(section, {}))
    source = f"configs/{task}.toml"
    if config_file:
        values.update(read_config_file(Path(config_file), task).get(section, {}))
        source = str(config_file)
    values.update({k: v for k, v in flags.items() if v is not None})
    return checked_values(cls, section, source, values)


def default_run_dir(*parts: Any) -> Path:
    return Path("runs") / ("-".join(str(p) for p in parts) + time.strftime("-%Y%m%d-%H%M%S"))


def json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinite float as ``None``: JSON has no NaN, and a bare
    ``NaN`` breaks every strict reader (jq, JSON.parse)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def print_json(obj: dict[str, Any]) -> None:
    """One line of strict JSON (a non-finite number is ``null``, never a bare ``NaN``)."""
    sys.stdout.write(json.dumps(json_safe(obj), allow_nan=False) + "\n")
    sys.stdout.flush()


def summary_table(title: str, rows: dict[str, Any]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    for k, v in rows.items():
        table.add_row(k, f"{v:.4f}" if isinstance(v, float) else str(v))
    return table


class RichProgress(Callback):
    """The Trainer's progress bar: step, loss, the task's statistics, steps/s and ETA.

    Under ``--max-time`` (``max_time``) the bar's total and ETA are seconds, not steps.
    """

    def __init__(
        self,
        title: str,
        show: tuple[str, ...] = ("loss",),
        enabled: bool = True,
        max_time: float | None = None,
    ):
        self.title, self.show, self.max_time = title, show, max_time
        count = "step {task.fields[step]}  {task.completed:.0f}/{task.total:.0f} s"
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn(count if max_time else "{task.completed}/{task.total}"),
            TextColumn("{task.fields[stats]}"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=err,
            transient=False,
            disable=not enabled,
        )
        self.last: dict[str, float] = {}
        self.evals: dict[str, Any] = {}

    def on_start(self, total_steps: int, start_step: int) -> None:
        self.t0, self.start = time.perf_counter(), start_step
        self.progress.start()
        self.task = self.progress.add_task(
            self.title,
            total=self.max_time or total_steps,
            completed=0 if self.max_time else start_step,
            step=start_step,
            stats="",
            rate="",
        )

    def on_step(self, step: int, logs: dict[str, float]) -> None:
        # Smooth the noisy per-batch figures.
        for k, v in logs.items():
            self.last[k] = v if k not in self.last else 0.9 * self.last[k] + 0.1 * v
        rate = (step - self.start) / max(time.perf_counter() - self.t0, 1e-9)
        stats = "  ".join(f"{k} {self.last[k]:.3f}" for k in self.show if k in self.last)
        stats += "".join(f"  [cyan]eval {k} {v:.3f}[/]" for k, v in self.evals.items())
        # The Trainer's elapsed time counts earlier processes of a resumed run too.
        done = min(logs.get("elapsed", 0.0), self.max_time) if self.max_time else step
        self.progress.update(
            self.task, completed=done, step=step, stats=stats, rate=f"{rate:.0f} it/s"
        )

    def on_eval(self, step: int, record: dict[str, Any]) -> None:
        self.evals = {
            k: v for k, v in record.items() if k.startswith("val_") and isinstance(v, float)
        }

    def stop(self) -> None:
        self.progress.stop()
