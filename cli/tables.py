"""Tables that survive pipes and narrow terminals: no word is ever broken inside a cell."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

_WIDE = 100_000  # a console this wide lays any table out at its natural width


def _plain(cell: object) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def _measure(table: Table) -> tuple[int, int]:
    """(narrowest, natural) width of ``table``, unclamped by any console's width."""
    measured = Console(file=io.StringIO(), width=_WIDE).measure(table)
    return measured.minimum, measured.maximum


def protect_words(table: Table) -> Table:
    """Give each column at least the width of its longest word, so rich wraps cells between
    words and never inside one (``recurren``/``t`` made ``grep recurrent`` miss a row)."""
    for column in table.columns:
        words = [w for cell in (column.header, *column.cells) for w in _plain(cell).split()]
        longest = max((len(w) for w in words), default=0)
        column.min_width = max(column.min_width or 0, longest)
        column.overflow = "fold"  # only reached if a word is wider than the whole console
    return table


def show_table(table: Table, console: Console) -> None:
    """Print ``table`` whole: in a pipe or a file at its natural width (a log or ``grep``
    reads every cell on one line); on a terminal wrapped between words, or one ``key: value``
    line per cell when even the longest words do not fit side by side."""
    protect_words(table)
    narrowest, natural = _measure(table)
    if not console.is_terminal:
        # Console.print clamps its width to the console's, so a pipe gets a console of its own.
        Console(file=console.file, width=natural, highlight=False).print(table)
        return
    if narrowest <= console.width:
        console.print(table)
        return
    headers = [_plain(c.header) for c in table.columns]
    if table.title:
        console.print(_plain(table.title), markup=False)
    for row in zip(*(c.cells for c in table.columns), strict=True):
        console.print(
            "  ".join(f"{h}: {_plain(v)}" for h, v in zip(headers, row, strict=True)),
            markup=False,
        )
