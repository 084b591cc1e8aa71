"""One process at a time builds or loads a C++ extension, and none waits forever.

``torch.utils.cpp_extension.load`` guards the build folder with a lock file (``lock``, its
``FileBaton``) and waits while it exists, ignoring every signal a Trainer only records. A build
killed mid-way (Ctrl-C twice, ``kill -9``, a full disk) leaves it, and every later process waits
forever. So a process first takes its turn on ``sgtk-build.lock`` in the same folder, an
``flock`` that the system drops when its holder dies: holding the turn, a torch lock there is
a dead build's and is removed. Where there is no flock (Windows), a torch lock older than
:data:`STALE_SECONDS` is. Waiting for a live build is bounded by :data:`WAIT_SECONDS`, after
which the caller runs its fallback, and a stop signal ends the wait at once.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)
WAIT_SECONDS = 60.0  # behind another process's build for longer: run the Python loop
STALE_SECONDS = 300.0  # a first build takes about a minute: a torch lock this old is left over
POLL_SECONDS = 0.1
TURN_FILE = "sgtk-build.lock"
_STOPS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGUSR1") if hasattr(signal, n))


def take_turn(build_dir: Path) -> tuple[int | None, str | None]:
    """Wait for this process's turn to build or load the extension of ``build_dir`` and clear
    a stale torch lock there.

    Returns the turn (an open file whose ``flock`` this process holds; None where there is no
    flock) and None, or None and why this process should not wait: another build held the
    folder for :data:`WAIT_SECONDS`, or a stop signal came meanwhile.
    """
    baton = build_dir / "lock"  # torch's FileBaton
    turn = _open_turn(build_dir / TURN_FILE)
    waited_from = time.monotonic()
    with _NoteStops() as stops:
        while True:
            mine = turn is None or _try_lock(turn)
            age = _age(baton)
            if age is None and mine:
                return turn, None
            # Holding the turn, no other sgtk process is building: the lock is a killed
            # build's. Without flock, only its age tells.
            if age is not None and ((mine and turn is not None) or age > STALE_SECONDS):
                baton.unlink(missing_ok=True)
                why = "its build process is gone" if age <= STALE_SECONDS else f"{age:.0f} s old"
                log.warning("sgtk: took over the stale LSTM build lock %s (%s)", baton, why)
                continue
            waited = time.monotonic() - waited_from
            if stops.signum is not None or waited > WAIT_SECONDS:
                release(turn)
                if stops.signum is not None:
                    return None, "stop requested while waiting for the LSTM kernel build"
                holder = _holder(build_dir / TURN_FILE)
                return None, (
                    f"the C++ LSTM kernel build in {build_dir} has been locked by {holder} for "
                    f"over {WAIT_SECONDS:.0f} s (delete {baton} if no build is running)"
                )
            time.sleep(POLL_SECONDS)


def _age(path: Path) -> float | None:
    try:
        return max(time.time() - path.stat().st_mtime, 0.0)
    except FileNotFoundError:
        return None


def _open_turn(path: Path) -> int | None:
    try:
        import fcntl  # noqa: F401  (POSIX only)
    except ImportError:
        return None
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


def _try_lock(fd: int) -> bool:
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    os.ftruncate(fd, 0)  # who holds it, for the message of whoever waits
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return True


def release(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)  # closing drops the flock


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        pid = ""
    return f"PID {pid}" if pid.isdigit() else "another process"


class _NoteStops:
    """While entered (main thread only), a stop signal is noted in ``signum`` and then handled
    as before: the Trainer's handler records it, Ctrl-C's raises, a default one ends the
    process. Either way the wait ends instead of ignoring it."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        previous = self._previous.get(signum)
        if previous == signal.SIG_IGN:
            return
        self.signum = signum if self.signum is None else self.signum
        if callable(previous):
            previous(signum, frame)
        elif previous in (signal.SIG_DFL, None):
            self.__exit__()
            signal.raise_signal(signum)

    def __enter__(self) -> _NoteStops:
        if threading.current_thread() is threading.main_thread():
            for s in _STOPS:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous.clear()
