"""How far long preparation has got (a download, featurising molecules, building a kernel).

Library code calls :func:`report`; what it shows is up to the front end. By default, as PyG's
datasets do, a plain line on stderr at most every few seconds and at the end, readable in a
terminal, a Slurm log or a notebook. ``set_reporter(None)`` silences it; the CLI may install
its own. Imports nothing of sgtk, so every layer may use it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

Reporter = Callable[[str, float, "float | None"], None]  # (what, done, total or None)


class PlainReporter:
    """``what: done/total (pct)`` on stderr, at most every ``every`` seconds, and when done."""

    def __init__(self, every: float = 5.0, stream=None):
        self.every, self.stream = every, stream
        self._last: dict[str, float] = {}

    def __call__(self, what: str, done: float, total: float | None) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        first = what not in self._last
        if not (first or finished or now - self._last[what] >= self.every):
            return
        self._last[what] = now
        if finished:
            self._last.pop(what, None)
        if total:
            shown = f"{what}: {_amount(done)}/{_amount(total)} ({100 * done / total:.0f} %)"
        else:
            shown = f"{what}: {_amount(done)}"
        print(shown, file=self.stream or sys.stderr, flush=True)


def _amount(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


_reporter: Reporter | None = PlainReporter()


def set_reporter(reporter: Reporter | None) -> Reporter | None:
    """Install ``reporter`` (None: silent) and return the one it replaces."""
    global _reporter
    previous, _reporter = _reporter, reporter
    return previous


def report(what: str, done: float, total: float | None = None) -> None:
    if _reporter is not None:
        _reporter(what, done, total)
