"""``curves.png``: a run's train and val curves, one axis per metric with its unit."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

# What a metric's number means, by the key's ending: a loss is in nats only where it is a
# cross-entropy, so the task's own loss name (mse, say) says which.
UNITS = {
    "loss": "loss",
    "ce": "cross-entropy (nats)",
    "nll": "cross-entropy (nats)",
    "mse": "MSE (target units²)",
    "accuracy": "accuracy (fraction correct)",
    "bpc": "bits per character",
    "rmse": "RMSE (target units)",
    "mae": "MAE (target units)",
    "perplexity": "perplexity",
}


def unit_of(metric: str, units: dict[str, str] | None = None) -> str:
    return (units or {}).get(metric) or UNITS.get(metric, metric)


def curves_of(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, tuple[list, list]]]:
    """metric -> split (train/val) -> (steps, values), from ``metrics.jsonl`` records."""
    curves: dict[str, dict[str, tuple[list, list]]] = {}
    for record in records:
        if record.get("final"):
            continue
        for key, value in record.items():
            split, _, metric = key.partition("_")
            if split not in ("train", "val") or not metric:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            steps, values = curves.setdefault(metric, {}).setdefault(split, ([], []))
            steps.append(record["step"])
            values.append(float(value))
    return curves


def plot_curves(
    records: Iterable[dict[str, Any]],
    path: Path,
    title: str = "",
    units: dict[str, str] | None = None,
) -> Path | None:
    """Draw one panel per metric (train solid, val dashed) into ``path``; None if nothing was
    logged yet. ``units`` names a metric's unit where its key does not (the loss). Written
    atomically, so a crash never leaves half a PNG."""
    curves = curves_of(records)
    if not curves:
        return None

    import matplotlib

    matplotlib.use("Agg")  # no display needed, also on a cluster node
    from matplotlib.figure import Figure

    from sgtk.io.figures import save_figure

    metrics = sorted(curves, key=lambda m: (m != "loss", m))
    fig = Figure(figsize=(4.2 * len(metrics), 3.4), layout="constrained")
    for ax, metric in zip(fig.subplots(1, len(metrics), squeeze=False)[0], metrics, strict=True):
        for split, style in (("train", "-"), ("val", "--")):
            if split in curves[metric]:
                steps, values = curves[metric][split]
                ax.plot(steps, values, style, marker=".", label=split)
        ax.set(xlabel="training step", ylabel=unit_of(metric, units), title=metric)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return save_figure(fig, path, dpi=110, tight=False)
