"""RNN vs GCN sweeps under one protocol: matched budgets, choices on val, results on test.

This module runs a sweep: it checks the output folder, then trains every run of this shard
(in this process or side by side), keeping ``results.json``/``.csv`` valid after each. The
settings and runs are :mod:`~sgtk.experiments.sweep`, one run's training
:mod:`~sgtk.experiments.runner`, the protocols :mod:`~sgtk.experiments.protocols`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from sgtk.errors import SgtkError
from sgtk.experiments.parallel import resolve_jobs, run_parallel
from sgtk.experiments.results import FIELDS, write_results
from sgtk.experiments.runner import CurveRecorder, SweepRunner, train_run
from sgtk.experiments.sweep import RunSpec, Sweep
from sgtk.experiments.sweep_files import (
    check_resume,
    read_curve,
    read_row,
    read_rows,
    write_sweep_file,
)

__all__ = [
    "FIELDS", "CurveRecorder", "SweepRunner", "check_out_dir", "prepare", "read_rows",
    "run_sweep", "threads", "train_run", "write_results",
]  # fmt: skip


ALL = "all"
# Flags that name one task's models, lengths or budget: meaningless across every task.
ONE_TASK = ("models", "layers", "lengths", "params", "graph")


def make_sweeps(
    task: str,
    config: Path | None = None,
    data: Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    **flags: Any,
) -> list[Sweep]:
    """The sweep of ``task`` (or one per task for ``all``) from compare.toml, ``config``,
    ``flags`` (None: not given) and ``overrides`` (``--set``); ``data`` is the file of the
    task's ``data_key``."""
    from sgtk.tasks.registry import TASK_NAMES, get_task

    if task != ALL:
        get_task(task)
    tasks = TASK_NAMES if task == ALL else (task,)
    given = [k for k in ONE_TASK if flags.get(k) is not None]
    if task == ALL and given:
        named = ", ".join(f"`{k}`" for k in given)
        raise SgtkError(f"{named} cannot apply to every task: drop it, or run one `task`")
    sweeps = []
    for name in tasks:
        key = get_task(name).data_key
        mine = dict(flags)
        if key is not None and mine.get(key) is None and data is not None and task != ALL:
            mine[key] = str(data)
        sweeps.append(Sweep.from_config(name, config, overrides, **mine))
    return sweeps


def check_out_dir(sweep: Sweep, out_dir: Path, resume: bool) -> None:
    """A folder with runs is only continued on a resume, only with the same settings, and
    only when its finished runs' files can be read (checked here, before anything is written)."""
    if (out_dir / "runs").exists() and any((out_dir / "runs").iterdir()):
        if not resume:
            raise SgtkError(
                f"{out_dir} already holds a sweep: set `resume` to finish it, or choose "
                "another `out_dir`"
            )
        check_resume(sweep, out_dir)
        read_rows([out_dir])


def prepare(sweep: Sweep, out_dir: Path, resume: bool = False) -> SweepRunner:
    """Data read, every model sized and the folder checked, before anything is written."""
    runner = SweepRunner(sweep, Path(out_dir))
    runner.prepare()
    check_out_dir(sweep, Path(out_dir), resume)
    return runner


OnRun = Callable[[int, int, dict[str, Any], bool], None]


def run_sweep(
    runner: SweepRunner, on_run: OnRun | None = None
) -> tuple[list[dict[str, Any]], dict[str, list[float]]]:
    """Train every run of the runner's sweep (this shard's) and keep rows, results and curves.
    ``on_run(done, total, row, skipped)`` after each run (skipped: finished before)."""
    from sgtk.io.lock import folder_lock

    with folder_lock(runner.out_dir, "compare", "out_dir"), threads(runner.sweep.threads):
        return _run_all(runner, on_run)


@contextmanager
def threads(n: int) -> Iterator[None]:
    """``n`` intra-op threads inside (0: leave torch's). One thread is the default: these
    models are small enough that a second thread costs more in hand-offs than it saves, and
    on a shared CPU a second spinning thread slows a run many times over (docs)."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _run_all(
    runner: SweepRunner, on_run: OnRun | None
) -> tuple[list[dict[str, Any]], dict[str, list[float]]]:
    sweep, out_dir = runner.sweep, runner.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    write_sweep_file(sweep, out_dir)
    runs = sweep.runs()
    order = {run.name: i for i, run in enumerate(runs)}
    rows: list[dict[str, Any]] = []
    curves: dict[str, list[float]] = {}
    write_results(rows, out_dir)  # valid from the start, whenever the sweep is stopped

    def keep(run: RunSpec, row: dict[str, Any], skipped: bool) -> None:
        rows.append(row)
        rows.sort(key=lambda r: order.get(r["name"], len(order)))  # sweep order, whoever ran it
        curve = out_dir / "runs" / run.name / "curve.json"
        curves[run.name] = read_curve(curve) if curve.exists() else []
        write_results(rows, out_dir)
        if on_run is not None:
            on_run(len(rows), len(runs), row, skipped)

    todo = []
    for run in runs:
        done = out_dir / "runs" / run.name / "row.json"
        if done.exists():
            keep(run, read_row(done), True)
        else:
            todo.append(run)
    jobs = min(resolve_jobs(sweep.jobs), len(todo))
    if jobs <= 1:
        for run in todo:
            keep(run, runner.execute(run), False)
        return rows, curves
    for run in todo:  # pilots run here, once, before the workers need their LR
        runner.lr(run)
    run_parallel(runner, todo, jobs, lambda run, row: keep(run, row, False))
    return rows, curves
