"""``sgtk.train.signals`` in this process (kills its mutants: which signals stop a run, the
exit code and pickling of ``Interrupted``, the first signal kept, ``raise_at_once``, and the
previous handlers put back, only in the main thread)."""

from __future__ import annotations

import os
import pickle
import signal
import threading

import pytest

from sgtk.train.signals import STOP_SIGNALS, Interrupted, StopSignals


def test_the_stop_signals():
    assert STOP_SIGNALS == (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)


@pytest.mark.parametrize(
    ("signum", "name", "code"),
    [
        (signal.SIGINT, "SIGINT", 130),
        (signal.SIGTERM, "SIGTERM", 143),
        (signal.SIGUSR1, "SIGUSR1", 138),
    ],
)
def test_interrupted_names_the_signal_and_its_exit_code(signum, name, code):
    error = Interrupted(int(signum))
    assert isinstance(error, KeyboardInterrupt)
    assert (str(error), error.signum, error.exit_code) == (name, int(signum), code)
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is Interrupted and (back.signum, back.exit_code) == (int(signum), code)


def test_a_signal_is_recorded_and_the_first_one_kept():
    with StopSignals() as signals:
        assert signals.requested is None and not signals.raise_at_once
        os.kill(os.getpid(), signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGTERM)
        assert signals.requested == signal.SIGUSR1


def test_raise_at_once_raises_interrupted():
    with pytest.raises(Interrupted) as error, StopSignals(raise_at_once=True) as signals:
        os.kill(os.getpid(), signal.SIGUSR1)
    assert error.value.signum == signal.SIGUSR1 and signals.requested == signal.SIGUSR1


def test_the_previous_handlers_are_put_back():
    seen = []
    previous = signal.signal(signal.SIGUSR1, lambda s, f: seen.append(s))
    try:
        with StopSignals() as signals:
            assert set(signals._previous) == set(STOP_SIGNALS)
            assert signal.getsignal(signal.SIGTERM) == signals._handle
        assert signals._previous == {}
        os.kill(os.getpid(), signal.SIGUSR1)
        assert seen == [signal.SIGUSR1] and signals.requested is None
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_outside_the_main_thread_nothing_is_installed():
    before = signal.getsignal(signal.SIGTERM)
    found = []

    def enter():
        with StopSignals() as signals:
            found.append((signals._previous, signal.getsignal(signal.SIGTERM)))

    thread = threading.Thread(target=enter)
    thread.start()
    thread.join()
    assert found == [({}, before)]
