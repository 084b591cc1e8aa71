"""Shared CLI plumbing: one-line errors, consoles, JSON and summary tables."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sgtk.errors import SgtkError
from sgtk.train.signals import Interrupted

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def flag_of(f: dataclasses.Field) -> str:
    """A config field's flag: its metadata's ``flag``, else ``--`` and its name, dashed."""
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def flags_of(*classes: type) -> dict[str, str]:
    """Field name -> flag for the fields of ``classes`` that are options (have a ``help``)."""
    return {
        f.name: flag_of(f)
        for cls in classes
        for f in dataclasses.fields(cls)
        if "help" in f.metadata
    }


def as_flags(error: SgtkError, flags: Mapping[str, str] | None = None) -> str:
    """The error's message with the config fields it names shown as flags.

    The library marks a field as Python spells it, in backticks (`` `out` ``), or names one
    field in ``error.field`` at the start of its message: it says ``lr -1.0 must be
    positive``, the CLI ``--lr -1.0 must be positive``. A marked field without a flag here
    keeps its name (a config key, reachable with ``--set``)."""
    message, name = str(error), getattr(error, "field", None)
    if flags is None:
        from sgtk.train.train_config import TrainConfig

        flags = flags_of(TrainConfig)
    message = re.sub(r"`([A-Za-z_][\w.]*)`", lambda m: flags.get(m[1], m[1]), message)
    flag = flags.get(name) if name else None
    if name is None or flag is None or flag in message:
        return message
    return re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", flag, message, count=1)


def guarded(fn: Callable[[], Any], flags: Mapping[str, str] | None = None) -> Any:
    """Run ``fn``; a person's mistake or a failed write is one line and exit 2, another I/O
    error one line and exit 1. A run stopped by a signal (``sgtk.train.signals.Interrupted``)
    exits with 128 + its number: 130 for Ctrl-C, 143 for SIGTERM, 138 for SIGUSR1.
    ``flags`` maps config fields to the command's flags (default: the train flags)."""
    try:
        return fn()
    except SgtkError as e:
        fail(as_flags(e, flags))
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        fail(f"{where}{e.strerror or e}: check the path, its permissions and free space", 1)
    except Interrupted as e:
        err.print(f"stopped by {e}: checkpoint written; rerun with --resume to continue")
        raise typer.Exit(e.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None


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
