"""PNG figures of a sweep. Each function returns the arrays it draws, so tests can check them.

Error bars are the tables' 95 % intervals (:func:`sgtk.experiments.stats.interval`, inside the
metric's range), with every seed's value as a dot up to three seeds; every caption says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.transforms import offset_copy  # noqa: E402

from sgtk.experiments.stats import SHOW_SEEDS, Stat, _ordered, headline, summarise  # noqa: E402
from sgtk.io.figures import save_figure  # noqa: E402
from sgtk.tasks.registry import get_task  # noqa: E402

CHANCE = 0.1  # ten digits
BOUNDARY_LABEL = "k = T-2: the last node reaches the first digit"


def _save(fig, path: Path) -> Path:
    return save_figure(fig, path)


def running_average(values: list[float], window: int = 21) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if len(v) < window:
        return v
    return np.convolve(v, np.ones(window) / window, mode="valid")


def interval_bars(stats: list[Stat]) -> np.ndarray:
    """matplotlib's asymmetric yerr (2 x n: below, above the mean) of the tables' intervals."""
    return np.array([s.error_bar() for s in stats], dtype=float).reshape(-1, 2).T


def seed_dots(ax, x: list[float], stats: list[Stat], colour: Any) -> list[tuple[float, float]]:
    """Each seed's value beside the mean where there are at most three seeds."""
    dots = [(xi, v) for xi, s in zip(x, stats) if 1 < s.n <= SHOW_SEEDS for v in s.values]
    if dots:  # hollow, a few points to the right of the bar, so the bar does not hide them
        beside = offset_copy(ax.transData, fig=ax.figure, x=6, units="points")
        ax.scatter(*zip(*dots), s=14, facecolors="none", edgecolors=colour, linewidths=0.9,
                   zorder=3, transform=beside)  # fmt: skip
    return dots


def accuracy_vs_length(rows: list[dict[str, Any]], path: Path) -> dict[str, Any]:
    """Test accuracy against T per model (the seed's Figs 1a/2a); the auto series names its k."""
    stats = summarise(rows, "test_accuracy")
    drawn = {}
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for label in _ordered({s for s, _ in stats}, rows):
        keys = sorted((k for k in stats if k[0] == label), key=lambda k: k[1])
        x = np.array([k[1] for k in keys])
        y = np.array([stats[k].mean for k in keys])
        err = interval_bars([stats[k] for k in keys])
        auto = label.endswith("k=auto")  # dashed: it often lies on a fixed-k line
        line = ax.errorbar(x, y, yerr=err, marker="s" if auto else "o", ls="--" if auto else "-",
                           capsize=3, label=label)  # fmt: skip
        dots = seed_dots(ax, list(x), [stats[k] for k in keys], line.lines[0].get_color())
        drawn[label] = {"x": x, "y": y, "err": err, "seeds": dots}
        if auto:
            for k, xi, yi in zip(keys, x, y):
                depth = ",".join(map(str, stats[k].layers))
                ax.annotate(f"k={depth}", (xi, yi), textcoords="offset points", xytext=(4, 6),
                            fontsize=8)  # fmt: skip
    ax.axhline(CHANCE, color="grey", ls=":", lw=1, label="chance (0.1)")
    ax.set_xticks(sorted({t for _, t in stats}))
    ax.set(
        xlabel="palindrome length T (digits)",
        ylabel="test accuracy (fraction correct)",
        ylim=(-0.02, 1.08),
        title="Test accuracy against length\n(mean and 95 % interval over seeds; dots: each seed)",
    )
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    return {"path": _save(fig, path), "series": drawn}


def training_curves(
    rows: list[dict[str, Any]], curves: dict[str, list[float]], path: Path, window: int = 21
) -> dict[str, Any]:
    """Running average of the training accuracy over steps, seed 0, one panel per model."""
    labels = _ordered({s for r in rows for s in r.get("series", [r["model"]])}, rows)
    fig, axes = plt.subplots(1, len(labels), figsize=(4.2 * len(labels), 3.4), squeeze=False)
    drawn = {}
    axes[0][0].set_ylabel(f"train accuracy (running mean of {window} steps)")
    for ax, label in zip(axes[0], labels):
        mine = sorted((r for r in rows if label in r.get("series", [r["model"]])),
                      key=lambda r: r["length"])  # fmt: skip
        for r in mine:
            if r["seed"] == 0 and curves.get(r["name"]):
                y = running_average(curves[r["name"]], window)
                ax.plot(np.arange(len(y)) + min(window, len(curves[r["name"]])), y,
                        label=f"T={r['length']}")  # fmt: skip
                drawn[(label, r["length"])] = y
        ax.axhline(CHANCE, color="grey", ls=":", lw=1)
        ax.set(title=label, xlabel="training step", ylim=(0, 1.05))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("Training curves, seed 0 (dotted: chance)", fontsize=10, y=1.02)
    return {"path": _save(fig, path), "curves": drawn}


def boundary_segments(lengths: list[int], layers: list[int]) -> list[tuple[float, float, float]]:
    """Where k = T-2 falls between heatmap cells: (x0, x1, y) per length, in cell coordinates.

    Column j gets a segment at the lower edge of the first row with k >= T-2, and none when
    that row is the first (every k reaches) or does not exist (no k reaches): the line is
    drawn only inside the swept range, never clamped to its edge.
    """
    out = []
    for j, t in enumerate(lengths):
        first = next((i for i, k in enumerate(layers) if k >= t - 2), None)
        if first is not None and first > 0:
            out.append((j - 0.5, j + 0.5, first - 0.5))
    return out


def layers_heatmap(rows: list[dict[str, Any]], path: Path) -> dict[str, Any] | None:
    """Test accuracy over (T, k) for each fixed-depth graph model; None when it says nothing."""
    stats = {
        key: v
        for key, v in summarise(rows, "test_accuracy").items()
        if " k=" in key[0] and key[0].split(" k=")[1].isdigit()
    }
    models = sorted({label.split(" k=")[0] for label, _ in stats})
    grids = {}
    for model in models:
        mine = {(int(s.split(" k=")[1]), t): v for (s, t), v in stats.items()
                if s.split(" k=")[0] == model}  # fmt: skip
        layers, lengths = sorted({k for k, _ in mine}), sorted({t for _, t in mine})
        if len(layers) >= 2 and len(lengths) >= 2:
            grid = np.full((len(layers), len(lengths)), np.nan)
            for (k, t), s in mine.items():
                grid[layers.index(k), lengths.index(t)] = s.mean
            grids[model] = (layers, lengths, grid)
    if not grids:
        return None
    fig, axes = plt.subplots(1, len(grids), figsize=(5.2 * len(grids), 4), squeeze=False)
    drawn = {}
    for ax, (model, (layers, lengths, grid)) in zip(axes[0], grids.items()):
        im = ax.imshow(grid, origin="lower", vmin=0, vmax=1, cmap="viridis", aspect="auto")
        for i, j in zip(*np.nonzero(~np.isnan(grid))):
            ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="w" if grid[i, j] < 0.6 else "k")  # fmt: skip
        segments = boundary_segments(lengths, layers)
        for n, (x0, x1, y) in enumerate(segments):
            ax.plot([x0, x1], [y, y], "r-", lw=2.5, label=BOUNDARY_LABEL if n == 0 else None)
            if n and segments[n - 1][1] == x0:  # join the steps of the staircase
                ax.plot([x0, x0], [segments[n - 1][2], y], "r-", lw=2.5)
        ax.set_xticks(range(len(lengths)), [str(t) for t in lengths])
        ax.set_yticks(range(len(layers)), [str(k) for k in layers])
        ax.set(xlabel="palindrome length T (digits)", ylabel="GCN layers k (hops)",
               title=f"{model}: test accuracy, mean over seeds")  # fmt: skip
        if segments:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), fontsize=8)
        fig.colorbar(im, ax=ax, label="test accuracy")
        drawn[model] = {"layers": layers, "lengths": lengths, "grid": grid, "boundary": segments}
    return {"path": _save(fig, path), "grids": drawn}


def memory_horizon(rows: list[dict[str, Any]], path: Path, solved: float = 0.99) -> dict:
    """The longest swept length each model solves (mean test accuracy >= ``solved``)."""
    stats = summarise(rows, "test_accuracy")
    labels = _ordered({s for s, _ in stats}, rows)
    best = {
        label: max([t for (s, t), v in stats.items() if s == label and v.mean >= solved] or [0])
        for label in labels
    }
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    ax.bar(labels, [best[n] for n in labels], color="tab:blue")
    ax.set_ylim(0, max(r["length"] for r in rows) + 1)
    ax.set(ylabel="longest T solved (digits)",
           title=f"Memory horizon: mean test accuracy >= {solved}\n"
                 f"(swept T up to {max(r['length'] for r in rows)}; 0 = none solved)")  # fmt: skip
    ax.tick_params(axis="x", labelrotation=20)
    return {"path": _save(fig, path), "horizon": best}


def metric_bars(rows: list[dict[str, Any]], task: str, path: Path) -> dict[str, Any] | None:
    """Text and molecules: the headline test figure per model, mean and 95 % interval over
    seeds (the tables'), with each seed's value up to three seeds."""
    key, _, unit = headline(task)
    stats = summarise(rows, key)
    if not stats:
        return None
    labels = _ordered({s for s, _ in stats}, rows)
    y = np.array([stats[(s, 0)].mean for s in labels])
    err = interval_bars([stats[(s, 0)] for s in labels])
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.bar(labels, y, yerr=err, capsize=4, color="tab:blue")
    dots = seed_dots(ax, list(range(len(labels))), [stats[(s, 0)] for s in labels], "black")
    ax.set(ylabel=unit, title=f"{task}: {key}, mean and 95 % interval over seeds\n"
                              "(dots: each seed; lower is better)")  # fmt: skip
    ax.tick_params(axis="x", labelrotation=20)
    return {"path": _save(fig, path), "labels": labels, "y": y, "err": err, "seeds": dots}


def plot_sweep(
    task: str, rows: list[dict[str, Any]], curves: dict[str, list[float]], out_dir: Path
) -> tuple[list[Path], list[str]]:
    """Every figure of a sweep, and one line per figure that was skipped (and why)."""
    out_dir, notes = Path(out_dir), []
    if not get_task(task).by_length:  # one figure per model: bars
        key = headline(task)[0]
        drawn = metric_bars(rows, task, out_dir / f"{task}_{key}.png")
        if drawn is None:
            notes.append(f"no {key} in the rows: no bar chart")
        return ([drawn["path"]] if drawn else []), notes
    figures = [
        accuracy_vs_length(rows, out_dir / "accuracy_vs_length.png"),
        training_curves(rows, curves, out_dir / "training_curves.png"),
        memory_horizon(rows, out_dir / "memory_horizon.png"),
    ]
    heat = layers_heatmap(rows, out_dir / "gcn_layers_heatmap.png")
    if heat is None:
        notes.append(
            "gcn_layers_heatmap.png skipped: it needs >= 2 fixed layer counts and >= 2 lengths"
        )
    else:
        figures.append(heat)
    return [f["path"] for f in figures], notes
