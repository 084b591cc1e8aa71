"""Issue 27, item 10: the LSTM extension build never hangs. A lock left by a killed build is
taken over, a wait behind a live build is bounded (then the Python loop runs, with one line)
and a stop signal ends the wait. ``load`` is replaced by one that waits on the lock exactly as
torch's does, so no test compiles anything."""

import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
import torch.utils.cpp_extension as cpp
from torch.utils.file_baton import FileBaton

from sgtk.nn import _build_turn
from sgtk.nn import _lstm_kernel as kernel
from sgtk.train.signals import StopSignals

SAFETY_SECONDS = 10  # the old code waits forever: a timer then removes the lock, and it fails
BOUND_SECONDS = 5


@pytest.fixture
def build_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    monkeypatch.delenv("SGTK_NO_EXT", raising=False)
    monkeypatch.setattr(kernel, "_state", {})
    monkeypatch.setattr(kernel, "_missing_tool", lambda: None)
    where = tmp_path / f"sgtk_lstm_{torch.backends.cpu.get_cpu_capability().lower()}"
    where.mkdir()
    return where


@pytest.fixture
def loads(monkeypatch) -> list[str]:
    """``cpp.load`` that takes torch's lock, or waits on it as torch does, and builds nothing."""
    done: list[str] = []

    def torch_like_load(name, **kwargs):
        baton = FileBaton(os.path.join(cpp._get_build_directory(name, False), "lock"))
        if baton.try_acquire():
            done.append(name)
            baton.release()
        else:
            baton.wait()

    monkeypatch.setattr(cpp, "load", torch_like_load)
    return done


def _kernel_timed(lock: Path) -> tuple[object, float]:
    """lstm_kernel() and its seconds; a timer frees a lock the code under test never frees."""
    safety = threading.Timer(SAFETY_SECONDS, lambda: lock.unlink(missing_ok=True))
    safety.start()
    start = time.monotonic()
    try:
        return kernel.lstm_kernel(), time.monotonic() - start
    finally:
        safety.cancel()


def test_a_stale_lock_of_a_killed_build_is_taken_over(build_dir, loads, caplog):
    lock = build_dir / "lock"
    lock.touch()  # what a build killed mid-way leaves: torch's lock, no process holding it
    with caplog.at_level(logging.WARNING):
        _, seconds = _kernel_timed(lock)
    assert seconds < BOUND_SECONDS and loads, "waited on a stale lock"
    assert not lock.exists()
    assert any("took over the stale LSTM build lock" in r.getMessage() for r in caplog.records)


def test_the_lock_of_a_build_whose_process_died_is_taken_over(build_dir, loads):
    lock = build_dir / "lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import time; from pathlib import Path; from sgtk.nn._build_turn import take_turn\n"
                f"d = Path({str(build_dir)!r}); turn, why = take_turn(d); assert why is None\n"
                "(d / 'lock').touch(); print('building', flush=True); time.sleep(120)"
            ),
        ],  # fmt: skip
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "building", holder.stderr.read()
    finally:
        holder.send_signal(signal.SIGKILL)  # killed mid-build: its lock stays behind
        holder.wait()
    assert lock.exists()
    _, seconds = _kernel_timed(lock)
    assert seconds < BOUND_SECONDS and loads
    assert not lock.exists()


def _hold_the_turn(build_dir: Path) -> int:
    """A live build elsewhere: the turn's flock held (on its own open file) and torch's lock."""
    fd = os.open(build_dir / _build_turn.TURN_FILE, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, b"4242")
    (build_dir / "lock").touch()
    return fd


def test_a_wait_behind_a_live_build_is_bounded_then_the_python_loop_runs(
    build_dir, loads, monkeypatch, caplog
):
    monkeypatch.setattr(_build_turn, "WAIT_SECONDS", 1.0)
    fd = _hold_the_turn(build_dir)
    try:
        with caplog.at_level(logging.WARNING):
            module, seconds = _kernel_timed(build_dir / "lock")
    finally:
        os.close(fd)
    assert module is None and not loads and seconds < BOUND_SECONDS
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "PID 4242" in lines[0] and "Python loop" in lines[0], lines
    assert (build_dir / "lock").exists()  # a live build's lock is left alone


def test_a_stop_signal_ends_the_wait_and_reaches_the_trainer(build_dir, loads, monkeypatch):
    monkeypatch.setattr(_build_turn, "WAIT_SECONDS", 60.0)
    fd = _hold_the_turn(build_dir)
    stop = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
    try:
        with StopSignals() as signals:  # as during a training step
            stop.start()
            module, seconds = _kernel_timed(build_dir / "lock")
    finally:
        stop.cancel()
        os.close(fd)
    assert module is None and seconds < BOUND_SECONDS
    assert signals.requested == signal.SIGTERM  # the Trainer still sees it, and checkpoints
