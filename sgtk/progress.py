"""How far long preparation has got (a download, featurising molecules, building a kernel).

Library code calls :func:`report`; what it shows is up to the front end. By default, as PyG's
datasets do, a plain line on stderr, readable in a terminal, a Slurm log or a notebook: once a
job has run for ``delay`` seconds, then at most every ``every`` seconds, and when it ends. A
job that ends sooner says nothing, so quick preparation (and a one-line error after it) stays
quiet. ``set_reporter(None)`` silences it; the CLI may install its own. Imports nothing of
sgtk, so every layer may use it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

Reporter = Callable[[str, float, "float | None"], None]  # (what, done, total or None)


class PlainReporter:
    """``what: done/total (pct)`` on stderr for jobs that last longer than ``delay`` seconds."""

    def __init__(
        self,
        every: float = 5.0,
        stream: TextIO | None = None,
        delay: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.every, self.stream, self.delay, self.clock = every, stream, delay, clock
        self._started: dict[str, float] = {}
        self._shown: dict[str, float] = {}  # when each job last printed; absent: not yet

    def __call__(self, what: str, done: float, total: float | None) -> None:
        now = self.clock()
        if done == 0 or what not in self._started:  # a job (re)starting
            self._started[what] = now
            self._shown.pop(what, None)
        finished = total is not None and done >= total
        last = self._shown.get(what)
        if finished:
            del self._started[what]
            if self._shown.pop(what, None) is None:
                return  # it was quick: nothing was said, nothing to close
        elif last is None:
            if now - self._started[what] < self.delay:
                return
            self._shown[what] = now
        elif now - last < self.every:
            return
        else:
            self._shown[what] = now
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


@contextmanager
def working(what: str, tick: float = 1.0) -> Iterator[None]:
    """For one long call that cannot count its own progress (building a C++ extension):
    reports the whole seconds spent so far as ``"<what> (seconds)"`` from a background thread
    until the block ends, then once more as done."""
    label, start, stop = f"{what} (seconds)", time.monotonic(), threading.Event()

    def beat() -> None:
        while not stop.wait(tick):
            report(label, int(time.monotonic() - start))

    report(label, 0)
    thread = threading.Thread(target=beat, name="sgtk-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        spent = max(int(time.monotonic() - start), 1)
        report(label, spent, spent)
