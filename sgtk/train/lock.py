"""One folder, one writer: an exclusive ``flock`` on ``<folder>/.sgtk.lock`` for a run's life."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sgtk.errors import SgtkError

LOCK_NAME = ".sgtk.lock"
_held: set[Path] = set()  # folders this process holds: a nested lock on one is a no-op


@contextmanager
def folder_lock(folder: Path | str, what: str = "run") -> Iterator[None]:
    """Hold ``folder`` for the ``with`` block, or refuse at once in one line naming the holder.

    The kernel drops a ``flock`` when its process dies, so a run killed with ``kill -9``
    leaves no stale lock behind: the lock file stays, and the next run takes it over.
    """
    folder = Path(folder).resolve()
    if folder in _held:
        yield
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise SgtkError(
            f"cannot write to {folder} ({e.strerror or e}): choose a writable --out"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise SgtkError(
                f"{folder} is in use by another sgtk {what} (PID {holder}): wait for it to "
                "finish, or choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _held.add(folder)
        try:
            yield
        finally:
            _held.discard(folder)
    finally:
        os.close(fd)  # closing the descriptor releases the lock
