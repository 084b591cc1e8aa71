"""Shared CLI plumbing: config layering, one-line errors, consoles, JSON and summary tables."""

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
from rich.table import Table

from sgtk.errors import SgtkError
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
