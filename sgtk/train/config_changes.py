"""A run's configs as plain data, and what a resume would change in them: the comparison
behind every "a resume never changes the task" refusal. Imports no torch."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from sgtk.errors import SgtkError


def as_plain(config: Any) -> dict[str, Any]:
    """A task or train config as a plain dict (JSON types), for the manifest and checks."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = dataclasses.asdict(config)
    return json.loads(json.dumps(dict(config or {}), default=str))


def _short(value: Any) -> str:
    text = repr(value)
    if isinstance(value, str) and len(value) == 64:  # a SHA-256: its head is enough
        text = value[:8] + "…"
    return text


def differences(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """``key old -> new`` for each key of ``saved`` that ``now`` holds with another value."""
    return [
        f"{k} {_short(saved[k])} -> {_short(now[k])}"
        for k in saved
        if k in now and saved[k] != now[k]
    ]


def task_changed(changed: list[str]) -> SgtkError:
    """The one line refusing a resume that would change the task (``key old -> new``)."""
    return SgtkError(
        f"`resume` would change the run's task ({', '.join(changed)}): drop those changes, "
        "or start a new run with another `run_dir`"
    )
