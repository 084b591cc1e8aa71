"""One folder, one writer: an exclusive lock on ``<folder>/.sgtk.lock`` for a run's life.

The lock is ``filelock``'s (``flock`` on POSIX, ``msvcrt.locking`` on Windows), which the
operating system drops when its process dies: a run killed with ``kill -9`` leaves no stale
lock behind. The holder's PID goes in ``.sgtk.lock.pid`` beside it, for the refusal message.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from sgtk.errors import SgtkError

LOCK_NAME = ".sgtk.lock"
HOLDER_NAME = ".sgtk.lock.pid"
_held: set[Path] = set()  # folders this process holds: a nested lock on one is a no-op


def _holder(folder: Path) -> str:
    try:
        return (folder / HOLDER_NAME).read_text().strip()[:32] or "unknown"
    except OSError:
        return "unknown"


@contextmanager
def folder_lock(folder: Path | str, what: str = "run", field: str = "run_dir") -> Iterator[None]:
    """Hold ``folder`` for the ``with`` block, or refuse at once in one line naming the holder
    and ``field``, the argument that chose the folder (a front end shows its own name)."""
    folder = Path(folder).resolve()
    if folder in _held:
        yield
        return
    lock = FileLock(folder / LOCK_NAME, timeout=0)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except Timeout:
        raise SgtkError(
            f"{folder} is in use by another sgtk {what} (PID {_holder(folder)}): wait for it to "
            f"finish, or choose another `{field}`"
        ) from None
    except OSError as e:
        raise SgtkError(
            f"cannot write to {folder} ({e.strerror or e}): choose a writable `{field}`"
        ) from None
    try:
        try:
            (folder / HOLDER_NAME).write_text(f"{os.getpid()}\n")
        except OSError:
            pass  # only the refusal message of a second writer reads it
        _held.add(folder)
        yield
    finally:
        _held.discard(folder)
        lock.release()
