"""What a finished sweep leaves behind: results files, plots, and for ``--task all`` report.md."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sgtk.experiments.results import write_results
from sgtk.experiments.stats import budget_table, markdown, result_table
from sgtk.experiments.sweep_files import check_same_sweep, read_rows
from sgtk.io.files import atomic_write_bytes
from sgtk.tasks.registry import get_task


@dataclass
class Outcome:
    """One task's rows, tables and figures, as the CLI renders them and report.md lists them."""

    task: str
    out_dir: Path
    rows: list[dict[str, Any]]
    tables: list[tuple[str, list[str], list[list[str]]]] = field(default_factory=list)
    pngs: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


LAST_STEP_NOTE = (
    "the assignment protocol: each figure is the last step's model, not the val-chosen one "
    "(the course assignment's reading, not the fair protocol)"
)


def finish(task: str, rows: list[dict[str, Any]], curves: dict, out_dir: Path) -> Outcome:
    """results.json/csv, the tables and the plots of one task's rows."""
    from sgtk.experiments.plots import plot_sweep

    out_dir = Path(out_dir)
    write_results(rows, out_dir)
    pngs, notes = plot_sweep(task, rows, curves, out_dir) if rows else ([], ["no finished runs"])
    if any(r.get("selected") == "last step" for r in rows):
        notes.insert(0, LAST_STEP_NOTE)
    tables = [result_table(task, rows), budget_table(rows)] if rows else []
    for key in reversed(get_task(task).tables):  # the task's further figures, after its own
        if any(r.get(key) is not None for r in rows):
            tables.insert(1, result_table(task, rows, key))
    return Outcome(task, out_dir, rows, tables, pngs, notes)


def merge(dirs: list[Path], out_dir: Path) -> list[Outcome]:
    """Rebuild results, tables and plots from the run folders of several shards of a sweep.

    Shards of different sweeps (their sweep.json differs), and one run found twice with
    different results, are refused in one line: a merged table mixes nothing.

    One task goes straight into ``out_dir``; several go into ``out_dir/<task>`` with a report.
    """
    from sgtk.errors import SgtkError

    missing = [str(d) for d in dirs if not (Path(d) / "runs").is_dir()]
    if missing:
        raise SgtkError(
            f"{', '.join(missing)} holds no runs/ folder: point merge at the folders compare wrote"
        )
    check_same_sweep([Path(d) for d in dirs])  # before a row is read: one sweep, or nothing
    rows, curves = read_rows([Path(d) for d in dirs])
    if not rows:
        raise SgtkError("no finished runs (runs/*/row.json) in those folders: nothing to merge")
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    outcomes = []
    for task in tasks:
        mine = sorted((r for r in rows if r["task"] == task), key=_run_order)
        where = Path(out_dir) if len(tasks) == 1 else Path(out_dir) / task
        outcomes.append(finish(task, mine, curves, where))
    if len(tasks) > 1:
        write_report(Path(out_dir), outcomes, "sgtk compare merge " + " ".join(map(str, dirs)))
    return outcomes


def _run_order(row: dict[str, Any]) -> tuple:
    return (row["length"], row["model"], row["layers"], row["seed"])


def machine() -> dict[str, str]:
    """Versions, git commit, host and machine (sgtk.train.machine's, as run folders record
    them), with the core count, AVX-512 and the date, for report.md."""
    from sgtk.experiments.sweep_files import produced_by

    info = {k: str(v) for k, v in produced_by().items() if k != "command"}
    try:
        flags = "AVX-512" if "avx512f" in Path("/proc/cpuinfo").read_text() else "no AVX-512"
    except OSError:
        flags = "AVX-512 unknown"
    info["cpu"] = f"{info.get('cpu', 'unknown')} ({flags}), {os.cpu_count()} cores, "
    info["cpu"] += platform.system()
    info["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return info


def write_report(out_dir: Path, outcomes: list[Outcome], command: str) -> Path:
    """report.md: the command, versions and machine, then every task's tables and figures."""
    lines = ["# sgtk compare report", "", "```bash", command, "```", ""]
    lines += [f"- {k}: {v}" for k, v in machine().items()]
    for o in outcomes:
        lines += ["", f"## {o.task}", ""]
        seconds = sum(r.get("seconds") or 0 for r in o.rows)
        lines.append(f"{len(o.rows)} runs, {seconds:.0f} s of training in all.")
        lines.append("")
        lines += [markdown(*t) for t in o.tables]
        lines += [f"![{p.stem}]({p.relative_to(out_dir)})" for p in o.pngs]
        lines += [f"- {n}" for n in o.notes]
    path = Path(out_dir) / "report.md"
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode())
    return path
