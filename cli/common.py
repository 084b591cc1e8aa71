"""Shared CLI plumbing: config layering, one-line errors, consoles and the progress bar."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from sgtk.errors import SgtkError
from sgtk.train.config import default_config, read_toml

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


def guarded(fn: Callable[[], Any]) -> Any:
    """Run ``fn``; a person's mistake becomes one line and exit 2, Ctrl-C exit 130."""
    try:
        return fn()
    except SgtkError as e:
        fail(str(e))
    except KeyboardInterrupt:
        err.print("interrupted: checkpoint written; rerun with --resume to continue")
        raise typer.Exit(130) from None


def layered(
    cls: type, section: str, task: str, config_file: Path | None, flags: dict[str, Any]
) -> Any:
    """``cls`` defaults <- configs/<task>.toml <- --config FILE <- flags that were given."""
    values: dict[str, Any] = dict(default_config(task).get(section, {}))
    if config_file:
        values.update(read_toml(Path(config_file)).get(section, {}))
    values.update({k: v for k, v in flags.items() if v is not None})
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise SgtkError(
            f"unknown key(s) {', '.join(unknown)} in [{section}] of the config: "
            f"valid keys are {', '.join(sorted(names))}"
        )
    return cls(**values)


def default_run_dir(*parts: Any) -> Path:
    return Path("runs") / ("-".join(str(p) for p in parts) + time.strftime("-%Y%m%d-%H%M%S"))


def print_json(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def summary_table(title: str, rows: dict[str, Any]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    for k, v in rows.items():
        table.add_row(k, f"{v:.4f}" if isinstance(v, float) else str(v))
    return table


class RichProgress:
    """The Trainer's progress bar: step, loss, the task's statistics, steps/s and ETA."""

    def __init__(self, title: str, show: tuple[str, ...] = ("loss",), enabled: bool = True):
        self.title, self.show = title, show
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
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
            self.title, total=total_steps, completed=start_step, stats="", rate=""
        )

    def on_step(self, step: int, logs: dict[str, float]) -> None:
        # Smooth the noisy per-batch figures.
        for k, v in logs.items():
            self.last[k] = v if k not in self.last else 0.9 * self.last[k] + 0.1 * v
        rate = (step - self.start) / max(time.perf_counter() - self.t0, 1e-9)
        stats = "  ".join(f"{k} {self.last[k]:.3f}" for k in self.show if k in self.last)
        stats += "".join(f"  [cyan]eval {k} {v:.3f}[/]" for k, v in self.evals.items())
        self.progress.update(self.task, completed=step, stats=stats, rate=f"{rate:.0f} it/s")

    def on_eval(self, step: int, record: dict[str, Any]) -> None:
        self.evals = {
            k: v for k, v in record.items() if k.startswith("val_") and isinstance(v, float)
        }

    def stop(self) -> None:
        self.progress.stop()
