"""Runs of a sweep side by side, one single-threaded process per core.

The sweep's models are small: one intra-op thread each is faster than two (see
``compare.threads``), which leaves every other core idle. Runs are independent and seeded, so
they go to ``jobs`` worker processes, each given one run at a time. Only ``jobs`` runs are in
flight. A stop signal (Ctrl-C reaches every process of the group; Slurm and ``docker stop``
signal them all) makes each busy worker checkpoint its run, as a lone Trainer does, and the
parent start no other: ``--resume`` goes on from there.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

import torch

from sgtk.train.signals import STOP_SIGNALS, StopSignals

_runner: Any = None  # the worker's SweepRunner, set once by _start_worker


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


def _start_worker(runner: Any, threads: int) -> None:
    global _runner
    _runner = runner
    for s in STOP_SIGNALS:  # an idle worker outlives a stop; a busy one's Trainer handles it
        signal.signal(s, signal.SIG_IGN)
    if threads:
        torch.set_num_threads(threads)


def _execute(run: dict[str, Any]) -> dict[str, Any]:
    return _runner.execute(run)


def run_parallel(
    runner: Any,
    runs: Iterable[dict[str, Any]],
    jobs: int,
    on_done: Callable[[dict[str, Any], dict[str, Any]], None],
) -> None:
    """Train ``runs`` on ``jobs`` processes; ``on_done(run, row)`` in the parent as each ends.

    A worker's error (an SgtkError, say) is raised here as it was raised there.
    """
    todo = iter(runs)
    # In the parent every stop signal is a KeyboardInterrupt (not only SIGINT), so the pool's
    # exit waits for the workers to checkpoint their runs before the sweep stops.
    with StopSignals(raise_at_once=True):
        _run(runner, todo, jobs, on_done)


def _run(runner: Any, todo: Iterator[dict[str, Any]], jobs: int, on_done: Callable) -> None:
    context = multiprocessing.get_context("spawn")  # fork would copy torch's thread pools
    with ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_start_worker,
        initargs=(runner, runner.sweep.threads),
    ) as pool:  # fmt: skip
        in_flight: dict[Future, dict[str, Any]] = {}

        def submit_next() -> None:
            run = next(todo, None)
            if run is not None:
                in_flight[pool.submit(_execute, run)] = run

        for _ in range(jobs):
            submit_next()
        while in_flight:
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                run = in_flight.pop(future)
                on_done(run, future.result())
                submit_next()
