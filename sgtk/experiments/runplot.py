"""`sgtk plot run`: train and val curves of one or more runs, read from their metrics.jsonl."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sgtk.errors import SgtkError

UNITS = {
    "loss": "loss (nats for cross-entropy)",
    "accuracy": "accuracy (fraction correct)",
    "bpc": "bits per character",
    "rmse": "RMSE (target units)",
    "mae": "MAE (target units)",
}


def read_curves(run_dir: Path) -> dict[str, tuple[list[int], list[float]]]:
    """``train_*``/``val_*`` key -> (steps, values), the final test record left out."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise SgtkError(f"{run_dir} has no metrics.jsonl: point `plot run` at a run folder")
    from sgtk.train.metrics import read_metrics  # bad lines skipped, as a resume does

    curves: dict[str, tuple[list[int], list[float]]] = {}
    for record in read_metrics(path).records:
        if record.get("final"):
            continue
        for key, value in record.items():
            if key.startswith(("train_", "val_")) and isinstance(value, (int, float)):
                steps, values = curves.setdefault(key, ([], []))
                steps.append(record["step"])
                values.append(float(value))
    return curves


def plot_runs(run_dirs: list[Path], path: Path) -> dict[str, Any]:
    """One panel per quantity (loss, accuracy, ...), train solid and val dashed, per run."""
    from sgtk.experiments.plots import _save, plt
    from sgtk.io.figures import figure_format

    figure_format(path)
    runs = {Path(d).name or str(d): read_curves(Path(d)) for d in run_dirs}
    quantities = sorted(
        {k.split("_", 1)[1] for c in runs.values() for k in c},
        key=lambda q: (q != "loss", q),
    )
    if not quantities:
        raise SgtkError("those runs logged no train_/val_ figures yet: nothing to plot")
    fig, axes = plt.subplots(1, len(quantities), figsize=(5 * len(quantities), 3.8), squeeze=False)
    drawn: dict[tuple[str, str], tuple[list[int], list[float]]] = {}
    for ax, quantity in zip(axes[0], quantities):
        for i, (name, curves) in enumerate(runs.items()):
            for split, style in (("train", "-"), ("val", "--")):
                key = f"{split}_{quantity}"
                if key in curves:
                    steps, values = curves[key]
                    ax.plot(steps, values, style, color=f"C{i}", marker=".",
                            label=f"{name} {split}")  # fmt: skip
                    drawn[(name, key)] = (steps, values)
        ax.set(xlabel="training step", ylabel=UNITS.get(quantity, quantity), title=quantity)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle("Train (solid, mean since the last evaluation) and val (dashed)", fontsize=10)
    return {"path": _save(fig, Path(path)), "curves": drawn}
