"""Stop requests from outside: Ctrl-C, ``kill``/``docker stop``/Slurm (SIGTERM), Slurm's
requeue warning (SIGUSR1). Each one finishes the step, writes ``checkpoint.pt``, then stops."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

# Looked up by name: Windows has no SIGUSR1, and sgtk must still import there.
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGUSR1") if hasattr(signal, name)
)
# What signal.signal takes and returns (typeshed's private signal._HANDLER).
_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


class Interrupted(KeyboardInterrupt):
    """The run stopped on a signal after writing its checkpoint; resume it with ``--resume``.

    A ``KeyboardInterrupt``, so code that handles Ctrl-C handles every stop request.
    ``exit_code`` is the shell's convention, 128 + the signal number: 130 for SIGINT, 143 for
    SIGTERM, 138 for SIGUSR1.
    """

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum

    def __reduce__(self) -> tuple[type, tuple[int]]:  # a worker process sends it back whole
        return type(self), (self.signum,)


class StopSignals:
    """While entered, the stop signals only set ``requested``; the loop decides when to stop.
    With ``raise_at_once``, the first one raises ``Interrupted`` where the program is.

    A second signal while the checkpoint is written is only recorded too, so it cannot tear
    the write. Signal handlers exist only in the main thread; elsewhere this does nothing.
    """

    def __init__(self, raise_at_once: bool = False) -> None:
        self.requested: int | None = None
        self.raise_at_once = raise_at_once  # for a process that has no loop to ask
        self._previous: dict[int, _Handler] = {}

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested is None:
            self.requested = signum
            if self.raise_at_once:
                raise Interrupted(signum)

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for s in STOP_SIGNALS:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(
        self, kind: type | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous.clear()
