"""PNG figures of a sweep: the seed's Figs 1-2, the GCN receptive-field heatmap, and more."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sgtk.experiments.compare import GRAPH_MODELS, summarise  # noqa: E402
from sgtk.train.checkpoint import atomic_write_bytes  # noqa: E402


def _save(fig, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path


def _label(model: str, layers: int) -> str:
    return f"{model} k={layers}" if model in GRAPH_MODELS else model


def running_average(values: list[float], window: int = 21) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if len(v) < window:
        return v
    return np.convolve(v, np.ones(window) / window, mode="valid")


def accuracy_vs_length(rows: list[dict[str, Any]], path: Path) -> Path:
    stats = summarise(rows, "test_accuracy")
    fig, ax = plt.subplots(figsize=(6, 4))
    for model, layers in sorted({(m, k) for m, _, k in stats}):
        keys = sorted(k for k in stats if k[0] == model and k[2] == layers)
        ax.errorbar(
            [k[1] for k in keys],
            [stats[k][0] for k in keys],
            yerr=[stats[k][1] for k in keys],
            marker="o",
            capsize=3,
            label=_label(model, layers),
        )
    ax.axhline(0.1, color="grey", ls=":", lw=1, label="chance")
    ax.set(
        xlabel="palindrome length T",
        ylabel="held-out accuracy",
        ylim=(-0.02, 1.02),
        title="Final accuracy against length (mean ± std over seeds)",
    )
    ax.legend()
    return _save(fig, path)


def training_curves(curves: dict[tuple, list[float]], path: Path, window: int = 21) -> Path:
    labels = sorted({(m, k) for m, _, k, _ in curves})
    fig, axes = plt.subplots(1, len(labels), figsize=(4.5 * len(labels), 3.6), squeeze=False)
    for ax, (model, layers) in zip(axes[0], labels):
        for (m, length, k, seed), values in sorted(curves.items()):
            if (m, k) == (model, layers) and seed == 0 and values:
                ax.plot(running_average(values, window), label=f"T={length}")
        ax.set(
            title=_label(model, layers),
            xlabel="step",
            ylim=(0, 1.02),
            ylabel=f"train accuracy (running avg, {window})",
        )
        ax.legend(fontsize=7)
    return _save(fig, path)


def layers_heatmap(rows: list[dict[str, Any]], path: Path) -> Path | None:
    stats = summarise([r for r in rows if r["model"] in GRAPH_MODELS], "test_accuracy")
    if not stats:
        return None
    models = sorted({k[0] for k in stats})
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 3.8), squeeze=False)
    for ax, model in zip(axes[0], models):
        lengths = sorted({k[1] for k in stats if k[0] == model})
        layers = sorted({k[2] for k in stats if k[0] == model})
        grid = np.full((len(layers), len(lengths)), np.nan)
        for (m, t, k), (mean, _, _) in stats.items():
            if m == model:
                grid[layers.index(k), lengths.index(t)] = mean
        im = ax.imshow(grid, origin="lower", vmin=0, vmax=1, cmap="viridis", aspect="auto")
        for i in range(len(layers)):
            for j in range(len(lengths)):
                if not np.isnan(grid[i, j]):
                    ax.text(
                        j,
                        i,
                        f"{grid[i, j]:.2f}",
                        ha="center",
                        va="center",
                        color="w" if grid[i, j] < 0.6 else "k",
                        fontsize=8,
                    )
        ax.set_xticks(range(len(lengths)), [str(t) for t in lengths])
        ax.set_yticks(range(len(layers)), [str(k) for k in layers])
        # The last node needs T-2 hops to reach the first digit.
        ax.plot(
            np.arange(len(lengths)),
            [np.interp(t - 2, layers, range(len(layers))) for t in lengths],
            "r--",
            lw=1,
            label="k = T-2",
        )
        ax.set(
            xlabel="palindrome length T", ylabel="GCN layers k", title=f"{model}: held-out accuracy"
        )
        ax.legend(loc="upper left", fontsize=7)
        fig.colorbar(im, ax=ax)
    return _save(fig, path)


def memory_horizon(rows: list[dict[str, Any]], path: Path, solved: float = 0.99) -> Path:
    """The longest length each model solves (mean accuracy >= ``solved``)."""
    stats = summarise(rows, "test_accuracy")
    best: dict[str, int] = {}
    for (model, length, layers), (mean, _, _) in stats.items():
        label = _label(model, layers)
        best.setdefault(label, 0)
        if mean >= solved:
            best[label] = max(best[label], length)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    names = sorted(best)
    ax.bar(names, [best[n] for n in names], color="tab:blue")
    ax.set(ylabel=f"longest T with accuracy >= {solved}", title="Memory horizon")
    return _save(fig, path)


def metric_bars(rows: list[dict[str, Any]], key: str, path: Path, title: str) -> Path:
    stats = summarise(rows, key)
    labels = sorted(stats)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.bar(
        [_label(m, k) for m, _, k in labels],
        [stats[k][0] for k in labels],
        yerr=[stats[k][1] for k in labels],
        capsize=3,
    )
    ax.set(ylabel=key, title=title)
    return _save(fig, path)


def plot_sweep(
    task: str, rows: list[dict[str, Any]], curves: dict[tuple, list[float]], out_dir: Path
) -> list[Path]:
    if task == "text":
        return [
            metric_bars(
                rows,
                "val_bpc",
                out_dir / "text_bpc.png",
                "Val bits/char: LSTM vs GCN with k layers (context k chars)",
            )
        ]
    if task == "molecules":
        return [
            metric_bars(
                rows,
                "test_rmse",
                out_dir / "molecules_rmse.png",
                "Test RMSE: graph vs SMILES views",
            )
        ]
    paths = [
        accuracy_vs_length(rows, out_dir / "accuracy_vs_length.png"),
        training_curves(curves, out_dir / "training_curves.png"),
        memory_horizon(rows, out_dir / "memory_horizon.png"),
        layers_heatmap(rows, out_dir / "gcn_layers_heatmap.png"),
    ]
    return [p for p in paths if p is not None]
