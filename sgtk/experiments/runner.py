"""Training a sweep's runs: each run's configs and task, its hidden size and LR, its row.

Each run keeps its folder ``OUT/runs/<model>-T<length>-k<layers>-s<seed>/`` (config.toml,
metrics.jsonl, best.pt, curve.json and row.json, written last, which marks it finished). What
differs between tasks, the runner asks the task's class (its ``SweepHooks``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import torch

from sgtk.experiments.budget import count_params, pick_lr, solve_hidden
from sgtk.experiments.sweep import RunSpec, Sweep, has_depth
from sgtk.experiments.sweep_files import read_curve
from sgtk.io.files import atomic_write_bytes
from sgtk.train.callbacks import Patience


class CurveRecorder:
    """Every step's training accuracy (or loss) of a run, for the running-average plots."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def on_start(self, total_steps: int, start_step: int) -> None: ...

    def on_step(self, step: int, logs: dict[str, float]) -> None:
        self.values.append(round(logs.get("accuracy", logs["loss"]), 4))

    def on_eval(self, step: int, record: dict[str, Any]) -> None: ...


def _configs(sweep: Sweep, section: str, values: dict[str, Any]) -> tuple[Any, Any]:
    """The task and train configs through the one resolver (configs/<task>.toml, then the
    sweep's ``values`` for ``section``). A layer of tables, not given values: a sweep's None
    (no target, no time limit) stands, where a given None would mean "not given"."""
    from sgtk.train.resolve import resolve

    return resolve(sweep.spec, config={section: values})


def make_task(sweep: Sweep, run: RunSpec, hidden: int, shared: Any) -> Any:
    """The task of one run at ``hidden`` units; ``shared`` is what every run reads."""
    cls = sweep.spec.task_class()
    config, _ = _configs(sweep, "task", cls.sweep_values(sweep, run, hidden))
    return cls.for_sweep(config, shared)


def train_config(sweep: Sweep, run: RunSpec, lr: float, steps: int | None = None) -> Any:
    """The same steps, batch and precision (float32) for every model of the sweep."""
    steps = steps or sweep.steps
    values = dict(
        steps=steps,
        batch_size=sweep.batch_size,
        eval_every=min(sweep.eval_every, steps),
        checkpoint_every=steps,
        target=sweep.target,
        seed=run.seed,
        lr=lr,
        max_time=sweep.max_time,
        max_cpu_time=sweep.max_cpu_time,
        cpu_bf16=False,
        **sweep.rules.train_values,
    )
    return _configs(sweep, "train", values)[1]


def load_shared(sweep: Sweep) -> Any:
    """What every run of the sweep reads (the text, the molecule set), or None."""
    return sweep.spec.task_class().load_shared(sweep)


def _val_key(task: Any) -> str:
    return task.metric if task.metric.startswith("val_") else f"val_{task.metric}"


def patience_for(trainer: Any, task: Any, sweep: Sweep) -> Patience:
    """Stops a run that learns nothing: neither its val loss (RMSE for molecules) nor its
    train loss has fallen by ``min_delta`` (relative) for ``sweep.patience`` evaluations.

    Losses, not accuracy: at chance, val accuracy wanders by a point or two between
    evaluations. Train loss too: a GCN at T=6 first memorises its 800 training palindromes
    (val loss rising for 300-400 steps) and only then generalises, to 0.96."""
    val = "val_loss" if task.mode == "max" else task.metric
    keys = (val, "train_loss")
    return Patience(trainer, keys, sweep.patience, sweep.min_delta, "min", relative=True)


def train_run(
    sweep: Sweep, run: RunSpec, task: Any, lr: float, run_dir: Path,
    steps: int | None = None, callbacks: list | None = None, resume: bool = False,
) -> dict[str, Any]:  # fmt: skip
    from sgtk.train.trainer import Trainer

    cfg = train_config(sweep, run, lr, steps)
    extra = {"model": run.model, "task_config": dict(vars(task.config))}
    trainer = Trainer(task, cfg, run_dir, extra_config=extra, callbacks=list(callbacks or []))
    trainer.given = frozenset(("hidden", "batch_size"))  # the sweep's sizes, never a budget fit
    trainer.progress = False  # the sweep's own bar counts runs; one line per run's eval clutters
    if sweep.patience:
        trainer.callbacks.append(patience_for(trainer, task, sweep))
    result = trainer.fit(resume=resume)
    val = result.get(_val_key(task), result.get(task.metric))
    return {**result, "val_metric": _val_key(task), "val_value": val, "max_steps": cfg.steps,
            "max_time": cfg.max_time, "max_cpu_time": cfg.max_cpu_time}  # fmt: skip


class SweepRunner:
    """Solves each model's hidden size and LR once, then trains (or skips) every run."""

    def __init__(self, sweep: Sweep, out_dir: Path):
        self.sweep, self.out_dir = sweep, Path(out_dir)
        self.shared = load_shared(sweep)
        self._hidden: dict[tuple, int] = {}
        self._lr: dict[tuple, tuple[float, str]] = {}
        self._pilots: dict[tuple, str] = {}
        self._split_seeds: dict[int, int | None] = {}

    def task_for(self, run: RunSpec, hidden: int | None = None) -> Any:
        return make_task(self.sweep, run, hidden or self.hidden(run), self.shared)

    def hidden(self, run: RunSpec) -> int:
        key = run.key()
        if key not in self._hidden:
            task = make_task(self.sweep, run, 8, self.shared)

            def build(h: int):
                task.config.hidden = h
                return task.build_model()

            name = f"{run.label} (T={run.length}, k={run.layers})"
            self._hidden[key] = solve_hidden(build, self.sweep.params, name)
        return self._hidden[key]

    def split_seed(self, run: RunSpec) -> int | None:
        """The seed that draws the run's train/val/test split: its own where each seed splits
        anew, None where every seed shares one split (the task's ``split_seed``)."""
        if run.seed not in self._split_seeds:
            self._split_seeds[run.seed] = self.task_for(run).split_seed()
        return self._split_seeds[run.seed]

    def lr_key(self, run: RunSpec) -> tuple:
        return (*run.key(), self.split_seed(run)) if self.sweep.tune_lr else run.key()

    def lr(self, run: RunSpec) -> tuple[float, str]:
        """The run's LR and where it came from: tuned on val, compare.toml, or the task's.

        Tuned on val of the very split the run is scored on: pilots per split seed where
        each seed splits anew, so no pilot trains or chooses on a molecule in the test
        split of a run it serves; one set of pilots where every seed shares the split."""
        key = self.lr_key(run)
        if key in self._lr:
            return self._lr[key]
        if not self.sweep.tune_lr:
            lr = self.sweep.lr.get(run.model, self.sweep.spec.defaults()["train"]["lr"])
            self._lr[key] = (lr, "config")
            return self._lr[key]
        split = self.split_seed(run)
        pilot = dataclasses.replace(run, seed=split or 0)  # the pilot's split is the run's
        task = self.task_for(pilot)
        prefix = run.name.rsplit("-s", 1)[0] + ("" if split is None else f"-split{split}")
        self._pilots[key] = f"pilots/{prefix}-lr*"

        def val_of(lr: float) -> float:
            where = self.out_dir / "pilots" / f"{prefix}-lr{lr:g}"
            done = where / "pilot.json"
            if done.exists():
                return json.loads(done.read_text())["val_value"]
            if where.exists():
                shutil.rmtree(where)  # an interrupted pilot: start it again
            r = train_run(self.sweep, pilot, task, lr, where, steps=self.sweep.pilot_steps)
            atomic_write_bytes(done, json.dumps({"lr": lr, "val_value": r["val_value"]}).encode())
            return r["val_value"]

        best, _ = pick_lr(self.sweep.tune_lr, val_of, task.better)
        source = "tuned on val" + ("" if split is None else " of its split")
        self._lr[key] = (best, source)
        return self._lr[key]

    def lr_pilots(self, run: RunSpec) -> str | None:
        """The pilot folders (a glob under the sweep's folder) that chose the run's LR."""
        return self._pilots.get(self.lr_key(run))

    def prepare(self) -> None:
        """Every model built and sized before anything is written: bad input fails early."""
        for run in self.sweep.runs():
            self.hidden(run)

    def series(self, run: RunSpec) -> list[str]:
        return self.sweep.series(run)

    def execute(self, run: RunSpec, callbacks: list | None = None) -> dict[str, Any]:
        """Train one run into its folder (resuming an interrupted one) and return its row."""
        run_dir = self.out_dir / "runs" / run.name
        hidden = self.hidden(run)
        task = self.task_for(run, hidden)
        lr, source = self.lr(run)
        curve = CurveRecorder()
        resume = (run_dir / "checkpoint.pt").exists()
        if not resume and run_dir.exists():
            start_again(run_dir)
        if resume and (run_dir / "curve.json").exists():
            curve.values = read_curve(run_dir / "curve.json")
        short = self.sweep.unreachable_steps
        steps = min(short, self.sweep.steps) if short and task.cannot_reach() else None
        try:
            result = train_run(
                self.sweep, run, task, lr, run_dir, steps, [curve, *(callbacks or [])], resume
            )
        except KeyboardInterrupt:  # the checkpoint is written; keep the curve up to it
            atomic_write_bytes(run_dir / "curve.json", json.dumps(curve.values).encode())
            raise
        atomic_write_bytes(run_dir / "curve.json", json.dumps(curve.values).encode())
        result.update(self.sweep.rules.after_run(task, run_dir))
        row = {
            "task": self.sweep.task,
            **dataclasses.asdict(run),
            "series": self.series(run),
            "params": count_params(task.build_model()),
            "hidden": hidden,
            "lr": lr,
            "lr_source": source,
            "lr_pilots": self.lr_pilots(run),
            "lr_grid": self.sweep.tune_lr or None,
            "batch_size": self.sweep.batch_size,
            "precision": "float32",
            "init": task.init_label() if not has_depth(run.model) else "default",
            "carry_state": getattr(task.config, "carry_state", None),
            "threads": torch.get_num_threads(),
            "selected": "best on val",
            **task.split_sizes(),
            **{k: v for k, v in result.items() if k != "run_dir"},
        }
        row.update(task.derived_metrics(row))
        atomic_write_bytes(run_dir / "row.json", json.dumps(row, indent=1).encode())
        self.sweep.rules.keep_checkpoint(run_dir)
        return row


def start_again(run_dir: Path) -> None:
    """Clear a run stopped before its first checkpoint (kill -9, a crash): without row.json or
    checkpoint.pt it holds nothing to report or resume, and a fresh run refuses its files."""
    logging.getLogger(__name__).warning(
        "sgtk: %s stopped before its first checkpoint: training it again", run_dir
    )
    shutil.rmtree(run_dir)
