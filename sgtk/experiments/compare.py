"""RNN vs GCN sweeps under one protocol: matched budgets, choices on val, results on test.

Each run keeps its folder ``OUT/runs/<model>-T<length>-k<layers>-s<seed>/`` (config.toml,
metrics.jsonl, best.pt, curve.json and row.json, written last, which marks it finished).
``results.json``/``.csv`` are rewritten after every run, so Ctrl-C leaves valid partial results.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from sgtk.errors import SgtkError
from sgtk.experiments.budget import count_params, pick_lr, solve_hidden
from sgtk.experiments.parallel import resolve_jobs, run_parallel
from sgtk.experiments.sweep import Sweep, has_depth, load_shared, make_task, train_config
from sgtk.experiments.sweep_files import (
    check_resume,
    read_curve,
    read_row,
    read_rows,
    write_sweep_file,
)
from sgtk.io.files import atomic_write_bytes
from sgtk.train.callbacks import Patience

FIELDS = (
    "task", "model", "length", "layers", "graph", "seed", "params", "hidden", "lr", "lr_source",
    "steps", "max_steps", "batch_size", "precision", "init", "carry_state", "seconds",
    "stopped_by", "n_train", "n_val", "n_test", "val_metric", "val_value",
    "test_accuracy", "test_bpc", "test_loss", "heldout_bpc", "heldout_loss", "test_rmse",
    "test_mae", "threads", "selected", "name",
)  # fmt: skip


class CurveRecorder:
    """Every step's training accuracy (or loss) of a run, for the running-average plots."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def on_start(self, total_steps: int, start_step: int) -> None: ...

    def on_step(self, step: int, logs: dict[str, float]) -> None:
        self.values.append(round(logs.get("accuracy", logs["loss"]), 4))

    def on_eval(self, step: int, record: dict[str, Any]) -> None: ...


def split_sizes(task: Any) -> dict[str, int]:
    if hasattr(task, "split_sizes"):
        return dict(task.split_sizes())
    if hasattr(task, "train_idx"):  # molecules
        return {"n_train": len(task.train_idx), "n_val": len(task.val_idx),
                "n_test": len(task.test_idx)}  # fmt: skip
    data = task.data
    if hasattr(data, "eval_digits"):  # palindromes: train is every other palindrome
        n_val, n_test = len(data.eval_digits("val")), len(data.eval_digits("test"))
        return {"n_train": 10**data.num_free - n_val - n_test, "n_val": n_val, "n_test": n_test}
    return {f"n_{s}": len(getattr(data, s)) for s in ("train", "val", "test") if hasattr(data, s)}


def _val_key(task: Any) -> str:
    return task.metric if task.metric.startswith("val_") else f"val_{task.metric}"


def cannot_reach(task: Any) -> bool:
    """Whether a palindrome model's last node can never hear the first digit: k rounds on
    the causal path graph reach k nodes back, and the first digit is T-2 hops away. Such a
    model is at chance by construction, whatever it learns (see "Why a k-layer GCN sees
    only k hops" in the README)."""
    if getattr(task, "name", "") != "palindrome" or not has_depth(task.config.model):
        return False
    c = task.config
    from sgtk.models.registry import check_graph, get

    if get(c.model).family == "hybrid" or c.readout != "last":
        return False
    return check_graph(c.graph, c.model, "palindrome") == "path" and c.layers < c.length - 2


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
    sweep: Sweep, run: dict[str, Any], task: Any, lr: float, run_dir: Path,
    steps: int | None = None, callbacks: list | None = None, resume: bool = False,
) -> dict[str, Any]:  # fmt: skip
    from sgtk.train.trainer import Trainer

    cfg = train_config(sweep, run, lr, steps)
    extra = {"model": run["model"], "task_config": dict(vars(task.config))}
    trainer = Trainer(task, cfg, run_dir, extra_config=extra, callbacks=list(callbacks or []))
    trainer.given = frozenset(("hidden", "batch_size"))  # the sweep's sizes, never a budget fit
    trainer.progress = False  # the sweep's own bar counts runs; one line per run's eval clutters
    if sweep.patience:
        trainer.callbacks.append(patience_for(trainer, task, sweep))
    result = trainer.fit(resume=resume)
    val = result.get(_val_key(task), result.get(task.metric))
    return {**result, "val_metric": _val_key(task), "val_value": val, "max_steps": cfg.steps}


class SweepRunner:
    """Solves each model's hidden size and LR once, then trains (or skips) every run."""

    def __init__(self, sweep: Sweep, out_dir: Path):
        self.sweep, self.out_dir = sweep, Path(out_dir)
        self.shared = load_shared(sweep)
        self._hidden: dict[tuple, int] = {}
        self._lr: dict[tuple, tuple[float, str]] = {}
        self._pilots: dict[tuple, str] = {}
        self._split_seeds: dict[int, int | None] = {}

    def task_for(self, run: dict[str, Any], hidden: int | None = None):
        return make_task(self.sweep, run, hidden or self.hidden(run), self.shared)

    def hidden(self, run: dict[str, Any]) -> int:
        key = (run.get("label", run["model"]), run["length"], run["layers"])
        if key not in self._hidden:
            task = make_task(self.sweep, run, 8, self.shared)

            def build(h: int):
                task.config.hidden = h
                return task.build_model()

            name = f"{run.get('label', run['model'])} (T={run['length']}, k={run['layers']})"
            self._hidden[key] = solve_hidden(build, self.sweep.params, name)
        return self._hidden[key]

    def split_seed(self, run: dict[str, Any]) -> int | None:
        """The seed that draws the run's train/val/test split: its own seed where each seed
        splits anew (molecules' random split), None where every seed shares one split
        (palindromes, text, the scaffold split)."""
        if run["seed"] not in self._split_seeds:
            config = self.task_for(run).config
            random = getattr(config, "split", None) == "random"
            self._split_seeds[run["seed"]] = config.split_seed if random else None
        return self._split_seeds[run["seed"]]

    def lr_key(self, run: dict[str, Any]) -> tuple:
        key = (run.get("label", run["model"]), run["length"], run["layers"])
        return (*key, self.split_seed(run)) if self.sweep.tune_lr else key

    def lr(self, run: dict[str, Any]) -> tuple[float, str]:
        """The run's LR and where it came from: tuned on val, compare.toml, or the task's.

        Tuned on val of the very split the run is scored on: pilots per split seed where
        each seed splits anew, so no pilot trains or chooses on a molecule in the test
        split of a run it serves; one set of pilots where every seed shares the split."""
        key = self.lr_key(run)
        if key in self._lr:
            return self._lr[key]
        from sgtk.train.config import default_config

        if not self.sweep.tune_lr:
            if run["model"] in self.sweep.lr:
                self._lr[key] = (self.sweep.lr[run["model"]], "config")
            else:
                lr = default_config(self.sweep.task)["train"]["lr"]
                self._lr[key] = (lr, "config")
            return self._lr[key]
        split = self.split_seed(run)
        pilot = {**run, "seed": split or 0}  # the pilot's split is the run's
        task = self.task_for(pilot)
        prefix = run["name"].rsplit("-s", 1)[0] + ("" if split is None else f"-split{split}")
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

    def lr_pilots(self, run: dict[str, Any]) -> str | None:
        """The pilot folders (a glob under the sweep's folder) that chose the run's LR."""
        return self._pilots.get(self.lr_key(run))

    def prepare(self) -> None:
        """Every model built and sized before anything is written: bad input fails early."""
        for run in self.sweep.runs():
            self.hidden(run)

    def series(self, run: dict[str, Any]) -> list[str]:
        return self.sweep.series(run)

    def execute(self, run: dict[str, Any], callbacks: list | None = None) -> dict[str, Any]:
        """Train one run into its folder (resuming an interrupted one) and return its row."""
        run_dir = self.out_dir / "runs" / run["name"]
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
        steps = min(short, self.sweep.steps) if short and cannot_reach(task) else None
        try:
            result = train_run(
                self.sweep, run, task, lr, run_dir, steps, [curve, *(callbacks or [])], resume
            )
        except KeyboardInterrupt:  # the checkpoint is written; keep the curve up to it
            atomic_write_bytes(run_dir / "curve.json", json.dumps(curve.values).encode())
            raise
        atomic_write_bytes(run_dir / "curve.json", json.dumps(curve.values).encode())
        if self.sweep.protocol == "assignment":
            result.update(report_last_step(task, run_dir))
        config = task.config
        init = config.resolved_init() if hasattr(config, "resolved_init") else "default"
        row = {
            "task": self.sweep.task,
            **run,
            "series": self.series(run),
            "params": count_params(task.build_model()),
            "hidden": hidden,
            "lr": lr,
            "lr_source": source,
            "lr_pilots": self.lr_pilots(run),
            "lr_grid": self.sweep.tune_lr or None,
            "batch_size": self.sweep.batch_size,
            "precision": "float32",
            "init": init if not has_depth(run["model"]) else "default",
            "carry_state": getattr(config, "carry_state", None),
            "threads": torch.get_num_threads(),
            "selected": "best on val",
            **split_sizes(task),
            **{k: v for k, v in result.items() if k != "run_dir"},
        }
        if (
            row.get("test_bpc") is None
            and row.get("test_loss") is not None
            and self.sweep.task == "text"
        ):
            row["test_bpc"] = round(row["test_loss"] / 0.6931471805599453, 4)
        atomic_write_bytes(run_dir / "row.json", json.dumps(row, indent=1).encode())
        if self.sweep.protocol == "assignment":  # the reported model is the last step's
            (run_dir / "checkpoint.pt").replace(run_dir / "last.pt")
        (run_dir / "checkpoint.pt").unlink(missing_ok=True)  # best.pt keeps the chosen model
        return row


def start_again(run_dir: Path) -> None:
    """Clear a run stopped before its first checkpoint (kill -9, a crash): without row.json or
    checkpoint.pt it holds nothing to report or resume, and a fresh run refuses its files."""
    import logging

    logging.getLogger(__name__).warning(
        "sgtk: %s stopped before its first checkpoint: training it again", run_dir
    )
    shutil.rmtree(run_dir)


def report_last_step(task: Any, run_dir: Path) -> dict[str, Any]:
    """The assignment's reading: test figures of the last step's model (checkpoint.pt), not of
    the val-chosen one, with the selection recorded in the row."""
    from sgtk.train.checkpoint import load_model_state

    model = task.build_model()
    load_model_state(model, run_dir / "checkpoint.pt", task.name)
    model.eval()
    with torch.no_grad():
        report = task.report(model, torch.device("cpu"))
    return {**report, "selected": "last step"}


def write_results(rows: list[dict[str, Any]], out_dir: Path) -> None:
    """``results.json`` (a list of rows) and ``results.csv``, each written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out_dir / "results.json", json.dumps(rows, indent=1).encode())
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: row.get(k) for k in FIELDS} for row in rows)
    atomic_write_bytes(out_dir / "results.csv", buf.getvalue().encode())


def check_out_dir(sweep: Sweep, out_dir: Path, resume: bool) -> None:
    """A folder with runs is only continued with --resume, only with the same settings, and
    only when its finished runs' files can be read (checked here, before anything is written)."""
    if (out_dir / "runs").exists() and any((out_dir / "runs").iterdir()):
        if not resume:
            raise SgtkError(
                f"{out_dir} already holds a sweep: pass --resume to finish it, or choose "
                "another --out"
            )
        check_resume(sweep, out_dir)
        read_rows([out_dir])


def prepare(sweep: Sweep, out_dir: Path, resume: bool = False) -> SweepRunner:
    """Data read, every model sized and the folder checked, before anything is written."""
    runner = SweepRunner(sweep, Path(out_dir))
    runner.prepare()
    check_out_dir(sweep, Path(out_dir), resume)
    return runner


def run_sweep(
    runner: SweepRunner,
    on_run: Callable[[int, int, dict[str, Any], bool], None] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, list[float]]]:
    """Train every run of the runner's sweep (this shard's) and keep rows, results and curves."""
    out_dir = runner.out_dir
    from sgtk.io.lock import folder_lock

    with folder_lock(out_dir, "compare"), threads(runner.sweep.threads):
        return _run_all(runner, on_run)


@contextmanager
def threads(n: int) -> Iterator[None]:
    """``n`` intra-op threads inside (0: leave torch's). One thread is the default: these
    models are small enough that a second thread costs more in hand-offs than it saves, and
    on a shared CPU a second spinning thread slows a run many times over (README)."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _run_all(runner: SweepRunner, on_run) -> tuple[list[dict[str, Any]], dict[str, list[float]]]:
    sweep, out_dir = runner.sweep, runner.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    write_sweep_file(sweep, out_dir)
    runs = sweep.runs()
    order = {run["name"]: i for i, run in enumerate(runs)}
    rows: list[dict[str, Any]] = []
    curves: dict[str, list[float]] = {}
    write_results(rows, out_dir)  # valid from the start, whenever the sweep is stopped

    def keep(run: dict[str, Any], row: dict[str, Any], skipped: bool) -> None:
        rows.append(row)
        rows.sort(key=lambda r: order.get(r["name"], len(order)))  # sweep order, whoever ran it
        curve = out_dir / "runs" / run["name"] / "curve.json"
        curves[run["name"]] = read_curve(curve) if curve.exists() else []
        write_results(rows, out_dir)
        if on_run is not None:
            on_run(len(rows), len(runs), row, skipped)

    todo = []
    for run in runs:
        done = out_dir / "runs" / run["name"] / "row.json"
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
