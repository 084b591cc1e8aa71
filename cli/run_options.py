"""The options of a `sgtk train TASK` run rather than of its configs (panels: see
sgtk_cli.help): where it goes, which files and overrides it reads, how it reports."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import typer


def _option(name: str, kind: Any, default: Any, *decls: str, **info: Any) -> inspect.Parameter:
    option = typer.Option(default, *decls, **info)
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)


RUN_OPTIONS = [
    _option("devices", int, 1, "--devices", help="Processes to train on (launches torchrun)."),
    _option(
        "out_dir",
        Path | None,
        None,
        "--out",
        help="Run directory (default runs/<task>-<model>-<time>; with --resume, the newest "
        "unfinished run of the task).",
    ),
    _option(
        "config", Path | None, None, "--config", help="TOML file overriding configs/<task>.toml."
    ),
    _option(
        "overrides",
        list[str] | None,
        None,
        "--set",
        metavar="SECTION.KEY=VALUE",
        help="Set any config key, e.g. --set train.weight_decay=0.1 (repeatable).",
        rich_help_panel="Run",
    ),
    _option(
        "resume", bool, False, "--resume", help="Continue from the run directory's checkpoint."
    ),
    _option("as_json", bool, False, "--json", help="Print the final metrics as one JSON line."),
    _option(
        "print_config",
        bool,
        False,
        "--print-config",
        help="Print the resolved config as TOML (a valid --config) and exit.",
    ),
]
