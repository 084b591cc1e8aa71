"""What `sgtk compare`'s command line means: an I/N shard, comma-separated lists, and the
flag of each setting that the library's messages name (`` `models` ``, `` `out` ``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from sgtk.errors import SgtkError


def command_flags(command: Callable[..., Any], **more: str) -> dict[str, str]:
    """Each option of ``command`` by its parameter name -> its flag (``--carry-state`` for
    ``--carry-state/--no-carry-state``); ``more``: the library's names for some of them."""
    flags = {}
    for name, parameter in inspect.signature(command).parameters.items():
        decls = getattr(parameter.default, "param_decls", None)
        if decls:
            flags[name] = decls[0].split("/")[0]
    return flags | more


def parse_shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise SgtkError(f"--shard {text!r} is not I/N: use e.g. --shard 0/4") from None
    if not 0 <= i < n:
        raise SgtkError(f"--shard {text} is out of range: use I/N with 0 <= I < N")
    return i, n


def parse_list(
    text: str | None, flag: str, kind: type = int, allow: tuple[str, ...] = ()
) -> list | None:
    """``--lengths 5,10``: the values of a comma-separated flag (``allow``: words kept as
    they are, such as ``auto``); None when the flag was not given."""
    if text is None:
        return None
    try:
        values = [
            v.strip() if v.strip() in allow else kind(v) for v in text.split(",") if v.strip()
        ]
    except ValueError:
        raise SgtkError(
            f"{flag} {text!r} is not a comma-separated list of {kind.__name__}s "
            f"(e.g. {flag} {'5,10' if kind is int else '3e-4,1e-3'})"
        ) from None
    if not values:
        raise SgtkError(f"{flag} is empty: give at least one value (e.g. {flag} 5,10)")
    return values
