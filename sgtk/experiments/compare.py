"""RNN vs GCN sweeps: the same data seen through both views, one Trainer for every run."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sgtk.errors import SgtkError
from sgtk.train.checkpoint import atomic_write_bytes
from sgtk.train.trainer import TrainConfig, Trainer

TASK_MODELS = {
    "palindrome": ("rnn", "lstm", "gcn", "pyg-gcn"),
    "text": ("lstm", "gcn", "pyg-gcn"),
    "molecules": ("gcn", "pyg-gcn", "lstm", "rnn", "gcn-smiles"),
}
GRAPH_MODELS = ("gcn", "pyg-gcn", "gcn-smiles")
MOLECULE_AUGMENT = 10
FIELDS = (
    "task",
    "model",
    "length",
    "layers",
    "seed",
    "test_accuracy",
    "loss",
    "val_bpc",
    "test_rmse",
    "steps",
    "seconds",
)


@dataclass
class Sweep:
    """What to compare. Defaults: palindromes of length 5-25, rnn/lstm/gcn, 3 seeds."""

    task: str = "palindrome"
    lengths: list[int] = field(default_factory=lambda: [5, 10, 15, 20, 25])
    models: list[str] = field(default_factory=lambda: ["rnn", "lstm", "gcn"])
    layers: list[int] = field(default_factory=lambda: [4])
    seeds: int = 3
    steps: int | None = None
    text_data: str | None = None
    molecule_data: str | None = None
    molecule_target: str = "expt"

    def validate(self) -> None:
        if self.task not in TASK_MODELS:
            raise SgtkError(f"unknown task {self.task!r}: choose one of {', '.join(TASK_MODELS)}")
        allowed = TASK_MODELS[self.task]
        if not self.models:
            raise SgtkError(f"--models is empty: name at least one of {', '.join(allowed)}")
        bad = [m for m in self.models if m not in allowed]
        if bad:
            raise SgtkError(
                f"unknown model(s) {', '.join(bad)} for {self.task}: choose from "
                f"{', '.join(allowed)}"
            )
        if self.task == "palindrome" and not self.lengths:
            raise SgtkError("--lengths is empty: give at least one length, e.g. --lengths 5,10")
        if any(t < 3 for t in self.lengths) and self.task == "palindrome":
            raise SgtkError("every palindrome length must be >= 3 (check --lengths)")
        if not self.layers or any(k < 1 for k in self.layers):
            raise SgtkError("--layers needs positive layer counts, e.g. --layers 2,4,8")
        if self.seeds < 1:
            raise SgtkError(f"--seeds {self.seeds} must be at least 1")
        if self.steps is not None and self.steps <= 0:
            raise SgtkError(f"--steps {self.steps} must be positive")

    def runs(self) -> list[dict[str, Any]]:
        lengths = self.lengths if self.task == "palindrome" else [0]
        out = []
        for length in lengths:
            for model in self.models:
                for k in self.layers if model in GRAPH_MODELS else [0]:
                    for seed in range(self.seeds):
                        out.append({"model": model, "length": length, "layers": k, "seed": seed})
        return out


class CurveRecorder:
    """Keeps every step's training accuracy of a run, for the running-average plots."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def on_start(self, total_steps: int, start_step: int) -> None: ...

    def on_step(self, step: int, logs: dict[str, float]) -> None:
        if "accuracy" in logs:
            self.values.append(logs["accuracy"])

    def on_eval(self, step: int, record: dict[str, Any]) -> None: ...


def _palindrome_run(
    run: dict[str, Any], steps: int | None, workdir: Path, curve: CurveRecorder
) -> dict[str, Any]:
    from sgtk.tasks.palindrome import PalindromeConfig, PalindromeTask

    task = PalindromeTask(
        PalindromeConfig(model=run["model"], length=run["length"], layers=max(run["layers"], 1))
    )
    # A GCN that cannot reach the first digit stays at chance however long it trains; one that
    # can (T=5, k=4) is solved within 200 steps, so graph models get a shorter default budget.
    default_steps = 600 if run["model"] in GRAPH_MODELS else 1500
    cfg = TrainConfig(
        steps=steps or default_steps,
        lr=1e-3,
        lr_schedule="none",
        target=0.999,
        eval_every=100,
        checkpoint_every=10**9,
        seed=run["seed"],
    )
    r = Trainer(task, cfg, workdir, callbacks=[curve]).fit()
    return {
        "test_accuracy": r["test_accuracy"],
        "loss": r["test_loss"],
        "steps": r["steps"],
        "seconds": r["seconds"],
    }


def _text_run(run: dict[str, Any], steps: int | None, workdir: Path, text: str) -> dict[str, Any]:
    from sgtk.tasks.text import TextConfig, TextTask

    graph = run["model"] != "lstm"
    cfg = TextConfig(
        model=run["model"],
        layers=run["layers"] if graph else 2,
        hidden=256 if graph else 384,
        sample_length=0,
    )
    task = TextTask(cfg, text=text)
    train = TrainConfig(
        steps=steps or 300,
        batch_size=32,
        lr=4e-3 if not graph else 2e-3,
        max_norm=5.0,
        lr_schedule="linear",
        eval_every=10**9,
        checkpoint_every=10**9,
        seed=run["seed"],
        cpu_bf16=not graph,
    )
    r = Trainer(task, train, workdir).fit()
    return {
        "loss": r["val_loss"],
        "val_bpc": r["val_bpc"],
        "steps": r["steps"],
        "seconds": r["seconds"],
    }


def _molecule_run(run: dict[str, Any], steps: int | None, workdir: Path, mols) -> dict[str, Any]:
    from sgtk.tasks.molecules import MoleculeConfig, MoleculeTask

    task = MoleculeTask(
        MoleculeConfig(
            model=run["model"],
            layers=max(run["layers"], 1),
            split_seed=run["seed"],
            augment=MOLECULE_AUGMENT,
        ),
        mols,
    )
    train = TrainConfig(
        steps=steps or 1000,
        batch_size=64,
        lr=1e-3,
        lr_schedule="linear",
        eval_every=100,
        checkpoint_every=10**9,
        seed=run["seed"],
    )
    r = Trainer(task, train, workdir).fit()
    return {
        "loss": r["test_mae"],
        "test_rmse": r["test_rmse"],
        "steps": r["steps"],
        "seconds": r["seconds"],
    }


def run_sweep(
    sweep: Sweep, on_run: Callable[[int, int, dict[str, Any]], None] | None = None
) -> tuple[list[dict[str, Any]], dict[tuple, list[float]]]:
    """Train every (model, length, layers, seed); returns rows and per-run accuracy curves."""
    sweep.validate()
    runs = sweep.runs()
    text = mols = None
    if sweep.task == "text":
        from sgtk.data.text import corpus_path, read_text

        text = read_text(sweep.text_data or corpus_path("tinyshakespeare"))
    elif sweep.task == "molecules":
        from sgtk.data.molecules import load_molecules

        # Random SMILES forms for the sequence models, as `sgtk train molecules` does.
        variants = MOLECULE_AUGMENT if set(sweep.models) & {"lstm", "rnn", "gcn-smiles"} else 0
        mols = (
            load_molecules(
                data=Path(sweep.molecule_data),
                smiles_col="smiles",
                target_col=sweep.molecule_target,
                variants=variants,
            )
            if sweep.molecule_data
            else load_molecules("nci-tpsa", variants=variants)
        )
    rows, curves = [], {}
    with tempfile.TemporaryDirectory(prefix="sgtk-compare-") as tmp:
        for i, run in enumerate(runs):
            workdir = Path(tmp) / str(i)
            curve = CurveRecorder()
            if sweep.task == "palindrome":
                result = _palindrome_run(run, sweep.steps, workdir, curve)
            elif sweep.task == "text":
                result = _text_run(run, sweep.steps, workdir, text)
            else:
                result = _molecule_run(run, sweep.steps, workdir, mols)
            row = {f: None for f in FIELDS} | {"task": sweep.task, **run, **result}
            rows.append(row)
            curves[(run["model"], run["length"], run["layers"], run["seed"])] = curve.values
            if on_run is not None:
                on_run(i + 1, len(runs), row)
    return rows, curves


def write_results(rows: list[dict[str, Any]], out_dir: Path) -> None:
    """``results.json`` (a list of rows) and ``results.csv``, each written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out_dir / "results.json", json.dumps(rows, indent=1).encode())
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIELDS)
    writer.writeheader()
    writer.writerows({k: row.get(k) for k in FIELDS} for row in rows)
    atomic_write_bytes(out_dir / "results.csv", buf.getvalue().encode())


def summarise(rows: list[dict[str, Any]], key: str) -> dict[tuple[str, int, int], tuple]:
    """(model, length, layers) -> (mean, std, n) of ``key`` over seeds."""
    groups: dict[tuple[str, int, int], list[float]] = {}
    for r in rows:
        if r.get(key) is not None:
            groups.setdefault((r["model"], r["length"], r["layers"]), []).append(r[key])
    out = {}
    for k, v in groups.items():
        mean = sum(v) / len(v)
        std = (sum((x - mean) ** 2 for x in v) / max(len(v) - 1, 1)) ** 0.5
        out[k] = (mean, std, len(v))
    return out
