"""`sgtk plot horizon`: palindrome test accuracy against T, from finished run folders.

Each run folder (of `sgtk train palindrome` or a compare sweep) gives one point: its
``config.toml`` names the model, length, initialisation and curriculum, the last record of
its ``metrics.jsonl`` the test accuracy of its best.pt. Runs of one setup form one line, mean ±
std over the seeds found at each length, with the number of runs behind each point.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from sgtk.errors import SgtkError
from sgtk.experiments.stats import t_interval
from sgtk.tasks.registry import TASK_REGISTRY
from sgtk.train.config import read_toml
from sgtk.train.metrics import read_metrics


def read_run(run_dir: Path) -> dict[str, Any]:
    """One finished palindrome run (of a task swept by length): its setup and test figure.

    metrics.jsonl is read as every reader of it does: a torn last line (a crash mid-write) is
    dropped, so the last whole record decides whether the run finished."""
    run_dir = Path(run_dir)
    config_path, metrics = run_dir / "config.toml", run_dir / "metrics.jsonl"
    if not (config_path.is_file() and metrics.is_file()):
        raise SgtkError(f"{run_dir} has no config.toml and metrics.jsonl: pass run folders")
    config = read_toml(config_path)
    spec = TASK_REGISTRY.get(str(config.get("run", {}).get("task")))
    if spec is None or not spec.by_length:
        raise SgtkError(f"{run_dir} is not a palindrome run: pass `train palindrome` folders")
    records = read_metrics(metrics).records
    final = records[-1] if records else {}
    if not final.get("final"):
        raise SgtkError(f"{run_dir} has not finished (no final record): let it end, or drop it")
    task = config["task"]
    config_class = spec.config_class()
    names = {f.name for f in dataclasses.fields(config_class)}
    known = {k: v for k, v in task.items() if k in names}
    init = config_class(**known).resolved_init()
    curriculum = task.get("curriculum", 0)
    return {
        "setup": f"{task['model'].upper()} {init}" + (" + curriculum" if curriculum else ""),
        "length": int(task["length"]),
        "test_accuracy": float(final["test_accuracy"]),
        "steps": int(final["step"]),
        "seed": config.get("train", {}).get("seed"),
    }


def horizon_points(runs: list[dict[str, Any]]) -> dict[str, dict[int, tuple[float, float, int]]]:
    """setup -> {T: (mean, std, n)} of test accuracy."""
    groups: dict[str, dict[int, list[float]]] = {}
    for r in runs:
        groups.setdefault(r["setup"], {}).setdefault(r["length"], []).append(r["test_accuracy"])
    return {
        setup: {t: (*t_interval(v)[:2], len(v)) for t, v in sorted(by_t.items())}
        for setup, by_t in sorted(groups.items())
    }


def _count(ns: list[int]) -> str:
    return f"n={ns[0]}" if min(ns) == max(ns) else f"n={min(ns)}-{max(ns)}"


def plot_horizon(run_dirs: list[Path], path: Path, solved: float = 0.99) -> dict[str, Any]:
    """One line per setup: test accuracy (mean ± std over seeds) against T."""
    from sgtk.experiments.plots import CHANCE, _save, plt
    from sgtk.io.figures import figure_format

    figure_format(path)
    runs = [read_run(Path(d)) for d in run_dirs]
    points = horizon_points(runs)
    steps = {s: max(r["steps"] for r in runs if r["setup"] == s) for s in points}
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, (setup, by_t) in enumerate(points.items()):
        lengths = list(by_t)
        means, stds, ns = zip(*by_t.values())
        style = "--" if "xavier" in setup else "-"
        marker = "s" if setup.startswith("LSTM") else "o"  # apart where the lines meet at 1
        ax.errorbar(lengths, means, yerr=stds, fmt=style, marker=marker, capsize=3, ms=7 - i,
                    color=f"C{i}",
                    label=f"{setup} ({_count(list(ns))}, <= {steps[setup]:,} steps)")  # fmt: skip
    ax.axhline(solved, color="grey", lw=0.8, ls=":", label=f"solved ({solved})")
    ax.axhline(CHANCE, color="grey", lw=0.8, ls="-.", label="chance (0.1)")
    ax.set(xlabel="palindrome length T", ylabel="test accuracy", ylim=(0, 1.05),
           title="Memory horizon: test accuracy against T\n(mean ± std over seeds; "
                 "n = runs per point)")  # fmt: skip
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return {"path": _save(fig, path), "points": points, "steps": steps}
