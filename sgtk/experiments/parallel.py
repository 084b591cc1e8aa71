"""Runs of a sweep side by side, one single-threaded process per core.

The sweep's models are small: one intra-op thread each is faster than two (see
``compare.threads``), which leaves every other core idle. Runs are independent and seeded, so
they go to ``jobs`` worker processes, each given one run at a time. Only ``jobs`` runs are in
flight. A stop signal to the parent alone (``docker stop`` signals PID 1 only) is forwarded to
every worker; Ctrl-C in a terminal reaches them all anyway. Each busy worker checkpoints its
run, as a lone Trainer does, the parent starts no other and keeps every row that finished,
then stops: ``--resume`` goes on from there.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import torch

from sgtk.train.signals import STOP_SIGNALS, Interrupted, StopSignals

_runner: Any = None  # the worker's SweepRunner, set once by _start_worker
_stop: list[int] = []  # a stop signal a worker got while no Trainer was listening
POLL_SECONDS = 0.2  # how often the parent looks for a stop request while runs are in flight


def resolve_jobs(jobs: int) -> int:
    """``jobs`` worker processes; 0 means one per usable core (one on a GPU, shared by all)."""
    if jobs > 0:
        return jobs
    if torch.cuda.is_available():
        return 1
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # macOS and Windows have no affinity mask
        return max(os.cpu_count() or 1, 1)


def _note_stop(signum: int, frame: object) -> None:
    if not _stop:
        _stop.append(signum)


def _start_worker(runner: Any, threads: int) -> None:
    global _runner
    _runner = runner
    # Outside a Trainer a stop is only noted: an idle worker waits for the pool to end it, and
    # a run that is being set up stops at its first step (PendingStop).
    for s in STOP_SIGNALS:
        signal.signal(s, _note_stop)
    if threads:
        torch.set_num_threads(threads)


class PendingStop:
    """Hands a stop noted before the Trainer listened to its own handler, at the first step:
    the run then checkpoints and stops like one signalled mid-run."""

    def __init__(self) -> None:
        self.sent = False

    def on_step(self, step: int, logs: dict[str, float]) -> None:
        if _stop and not self.sent:
            self.sent = True
            signal.raise_signal(_stop[0])


def _execute(run: Any) -> dict[str, Any]:
    if _stop:  # the sweep is stopping: start nothing
        raise Interrupted(_stop[0])
    return _runner.execute(run, callbacks=[PendingStop()])


def run_parallel(
    runner: Any,
    runs: Iterable[Any],
    jobs: int,
    on_done: Callable[[Any, dict[str, Any]], None],
) -> None:
    """Train ``runs`` on ``jobs`` processes; ``on_done(run, row)`` in the parent as each ends.

    A worker's error (an SgtkError, say) is raised here as it was raised there. A stop signal
    raises ``Interrupted`` once every worker has checkpointed its run, and after ``on_done``
    has seen every row that finished.
    """
    # The parent only notes a stop and acts on it between waits: raised at an arbitrary
    # point, it could tear the pool's bookkeeping or a results write.
    with StopSignals() as signals:
        _run(runner, iter(runs), jobs, on_done, signals)


def _run(
    runner: Any, todo: Iterator[Any], jobs: int, on_done: Callable, signals: StopSignals
) -> None:
    context = multiprocessing.get_context("spawn")  # fork would copy torch's thread pools
    with ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_start_worker,
        initargs=(runner, runner.sweep.threads),
    ) as pool:  # fmt: skip
        in_flight: dict[Future, Any] = {}  # future -> its RunSpec
        forwarded = False

        def submit_next() -> None:
            run = next(todo, None)
            if run is not None and signals.requested is None:
                in_flight[pool.submit(_execute, run)] = run

        for _ in range(jobs):
            submit_next()
        while in_flight:
            if signals.requested is not None and not forwarded:
                forwarded = True
                _forward(pool, signals.requested)
            finished, _ = wait(in_flight, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in finished:
                run = in_flight.pop(future)
                try:
                    row = future.result()
                except KeyboardInterrupt as stopped:  # a worker signalled alone stops all
                    if signals.requested is None:
                        signals.requested = getattr(stopped, "signum", signal.SIGINT)
                    continue  # its checkpoint is written
                except BrokenProcessPool:  # a worker the signal found still starting up
                    if signals.requested is None:
                        raise
                    continue
                on_done(run, row)
                submit_next()
    if signals.requested is not None:
        raise Interrupted(signals.requested)


def _forward(pool: ProcessPoolExecutor, signum: int) -> None:
    """Send ``signum`` to every worker process still alive."""
    for process in list(getattr(pool, "_processes", {}).values()):
        if process.pid is not None and process.exitcode is None:
            try:
                os.kill(process.pid, signum)
            except ProcessLookupError:
                pass
