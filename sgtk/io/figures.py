"""Figures written atomically, in the format their file's name asks for.

matplotlib picks a format from ``savefig``'s ``format`` and not from the name, so
``--out curves.txt`` used to get PNG bytes under a text name; here the suffix decides, and a
suffix that is not a figure format is refused before any work is done.
"""

from __future__ import annotations

import io
from pathlib import Path

from sgtk.errors import SgtkError
from sgtk.io.files import atomic_write_bytes

FORMATS = ("png", "pdf", "svg")


def figure_format(path: Path | str) -> str:
    """``png``, ``pdf`` or ``svg`` from ``path``'s suffix; one line naming the fix otherwise."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        named = f"suffix .{suffix}" if suffix else "no suffix"
        raise SgtkError(
            f"`out` {path} has {named}: name the figure .png, .pdf or .svg (its format)"
        )
    return suffix


def save_figure(fig, path: Path | str, dpi: int = 120, tight: bool = True) -> Path:
    """Write ``fig`` to ``path`` in the format of its suffix, atomically, and close it if
    pyplot made it (a bare ``matplotlib.figure.Figure`` needs no closing, nor pyplot)."""
    import sys

    fmt = figure_format(path)
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format=fmt, dpi=dpi, **({"bbox_inches": "tight"} if tight else {}))
    finally:
        pyplot, number = sys.modules.get("matplotlib.pyplot"), getattr(fig, "number", None)
        if pyplot is not None and number is not None:  # only pyplot's figures have a number
            pyplot.close(number)
    atomic_write_bytes(Path(path), buf.getvalue())
    return Path(path)
