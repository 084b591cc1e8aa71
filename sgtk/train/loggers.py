"""Logs beside ``metrics.jsonl``, which stays the source of truth (resume reads it).

``--logger`` takes several at once, comma-separated (``csv,tensorboard``): ``csv`` mirrors
``metrics.jsonl`` into ``metrics.csv``; ``tensorboard`` writes event files into
``tensorboard/``; ``wandb`` and ``mlflow`` send each evaluation to Weights & Biases or MLflow
(``pip install 'sgtk[wandb]'`` / ``'sgtk[mlflow]'``). ``jsonl`` alone adds nothing. Every run
also draws ``curves.png`` at its end (:class:`CurvesPlot`).
"""

from __future__ import annotations

import csv
import difflib
import io
import numbers
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sgtk.choices import LOGGERS
from sgtk.errors import SgtkError
from sgtk.train.callbacks import Callback

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

__all__ = [
    "LOGGERS",
    "CsvLogger",
    "CurvesPlot",
    "MlflowLogger",
    "TensorBoardLogger",
    "WandbLogger",
    "check_logger",
    "make_loggers",
    "parse_loggers",
]

# logger -> (module it needs, the extra that installs it)
_PACKAGES = {
    "tensorboard": ("tensorboard", "tensorboard"),
    "wandb": ("wandb", "wandb"),
    "mlflow": ("mlflow", "mlflow"),
}


def parse_loggers(spec: str) -> tuple[str, ...]:
    """``"csv, tensorboard"`` -> ``("csv", "tensorboard")``; an unknown name is one line with
    the closest known one."""
    names = tuple(dict.fromkeys(n.strip() for n in str(spec).split(",") if n.strip()))
    for name in names:
        if name not in LOGGERS:
            close = difflib.get_close_matches(name, LOGGERS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise SgtkError(
                f"unknown logger {name!r}: {hint}choose from {', '.join(LOGGERS)}, several "
                "comma-separated"
            )
    return names or ("jsonl",)


def check_logger(spec: str) -> None:
    """Refuse a logger whose package is missing before the run writes anything."""
    import importlib

    for name in parse_loggers(spec):
        if name in _PACKAGES:
            module, extra = _PACKAGES[name]
            try:
                importlib.import_module(module)
            except ImportError:
                raise SgtkError(
                    f"the {name} logger needs the {module} package: pip install "
                    f"'sgtk[{extra}]', or drop {name} from the logger list"
                ) from None


def make_loggers(
    spec: str, run_dir: Path, units: dict[str, str] | None = None, title: str = ""
) -> list[Callback]:
    """The callbacks of ``spec``'s loggers, then the ``curves.png`` plot."""
    made: dict[str, Any] = {
        "csv": CsvLogger,
        "tensorboard": TensorBoardLogger,
        "wandb": WandbLogger,
        "mlflow": MlflowLogger,
    }
    loggers = [made[n](run_dir) for n in parse_loggers(spec) if n in made]
    return [*loggers, CurvesPlot(run_dir, units, title)]


def _numbers(record: dict[str, Any]) -> dict[str, numbers.Real]:
    return {
        k: v
        for k, v in record.items()
        if isinstance(v, numbers.Real) and not isinstance(v, bool) and k not in ("step", "final")
    }


def _run_config(run_dir: Path) -> dict[str, Any]:
    """The manifest's configs, flattened (``train.lr``), for a tracker's run parameters."""
    import json

    try:
        manifest = json.loads((Path(run_dir) / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}
    flat: dict[str, Any] = {"task": manifest.get("task")}
    for section in ("task_config", "train_config"):
        for key, value in (manifest.get(section) or {}).items():
            flat[f"{section.split('_')[0]}.{key}"] = value
    return flat


def _remembered_id(run_dir: Path, name: str) -> str | None:
    path = Path(run_dir) / name
    return path.read_text().strip() or None if path.is_file() else None


def _remember_id(run_dir: Path, name: str, run_id: str) -> None:
    from sgtk.io.files import atomic_write_bytes

    atomic_write_bytes(Path(run_dir) / name, f"{run_id}\n".encode())


class CsvLogger(Callback):
    """Rewrites ``metrics.csv`` from ``metrics.jsonl`` after each record, so that a resumed
    run's CSV is cut back exactly as its JSONL is. Text samples are left out."""

    def __init__(self, run_dir: Path):
        from sgtk.train.metrics import MetricsLog

        self.source = MetricsLog(Path(run_dir) / "metrics.jsonl")
        self.path = Path(run_dir) / "metrics.csv"

    def on_start(self, total_steps: int, start_step: int) -> None:
        self._mirror()

    def on_eval(self, step: int, record: dict[str, Any]) -> None:
        self._mirror()

    def on_end(self, result: dict[str, Any]) -> None:
        self._mirror()

    def _mirror(self) -> None:
        from sgtk.io.files import atomic_write_bytes

        rows = [
            {"step": r["step"], "final": bool(r.get("final")), **_numbers(r)}
            for r in self.source.read()
        ]
        columns = list(dict.fromkeys(k for row in rows for k in row))
        buf = io.StringIO()
        writer = csv.DictWriter(buf, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_bytes(self.path, buf.getvalue().encode())


class TensorBoardLogger(Callback):
    """Scalars per evaluation (train_*, val_*, then test_* at the last step) and text samples."""

    def __init__(self, run_dir: Path):
        self.log_dir = Path(run_dir) / "tensorboard"
        self.writer: SummaryWriter | None = None

    def _writer(self) -> SummaryWriter:
        if self.writer is None:
            raise RuntimeError("TensorBoardLogger: on_start was not called")
        return self.writer

    def on_start(self, total_steps: int, start_step: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        # On resume, events after the checkpoint's step are dropped, as metrics.jsonl's are.
        self.writer = SummaryWriter(str(self.log_dir), purge_step=start_step + 1)

    def on_eval(self, step: int, record: dict[str, Any]) -> None:
        writer = self._writer()
        for key, value in _numbers(record).items():
            if key != "elapsed":
                writer.add_scalar(key.replace("_", "/", 1), value, step)
        if isinstance(record.get("sample"), str):
            writer.add_text("sample", record["sample"], step)
        writer.flush()

    def on_end(self, result: dict[str, Any]) -> None:
        writer = self._writer()
        for key, value in _numbers(result).items():
            if key.startswith("test_"):
                writer.add_scalar(key.replace("_", "/", 1), value, result["steps"])
        writer.close()


class WandbLogger(Callback):
    """One W&B run per run folder: its id is kept in ``wandb_run_id``, so ``--resume``
    continues the same W&B run. W&B's own settings apply (``WANDB_MODE=offline``,
    ``WANDB_PROJECT``; the project defaults to ``sgtk``); files go under the run folder."""

    ID_FILE = "wandb_run_id"

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.run: Any = None

    def on_start(self, total_steps: int, start_step: int) -> None:
        import wandb

        run_id = _remembered_id(self.run_dir, self.ID_FILE) or uuid.uuid4().hex[:8]
        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT", "sgtk"),
            name=self.run_dir.name,
            id=run_id,
            resume="allow",
            dir=str(self.run_dir),
            config=_run_config(self.run_dir),
        )
        _remember_id(self.run_dir, self.ID_FILE, run_id)

    def on_eval(self, step: int, record: dict[str, Any]) -> None:
        self.run.log({k.replace("_", "/", 1): v for k, v in _numbers(record).items()}, step=step)

    def on_end(self, result: dict[str, Any]) -> None:
        for key, value in _numbers(result).items():
            if key.startswith("test_"):
                self.run.summary[key.replace("_", "/", 1)] = value
        self.run.finish()


class MlflowLogger(Callback):
    """One MLflow run per run folder (id kept in ``mlflow_run_id`` for ``--resume``). The
    tracking URI is ``MLFLOW_TRACKING_URI`` where set, else ``mlruns/`` in the run folder."""

    ID_FILE = "mlflow_run_id"

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.client: Any = None
        self.run_id: str | None = None

    def on_start(self, total_steps: int, start_step: int) -> None:
        import mlflow

        if "MLFLOW_TRACKING_URI" not in os.environ:
            # MLflow 3 keeps its file store only on request; a run folder needs no server.
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
            mlflow.set_tracking_uri((self.run_dir / "mlruns").resolve().as_uri())
        self.client = mlflow.MlflowClient()
        self.run_id = _remembered_id(self.run_dir, self.ID_FILE)
        if self.run_id is None:
            experiment = self.client.get_experiment_by_name("sgtk")
            experiment_id = (
                experiment.experiment_id if experiment else self.client.create_experiment("sgtk")
            )
            run = self.client.create_run(experiment_id, run_name=self.run_dir.name)
            self.run_id = run.info.run_id
            for key, value in _run_config(self.run_dir).items():
                self.client.log_param(self.run_id, key, value)
            _remember_id(self.run_dir, self.ID_FILE, self.run_id)

    def on_eval(self, step: int, record: dict[str, Any]) -> None:
        for key, value in _numbers(record).items():
            self.client.log_metric(self.run_id, key, float(value), step=step)

    def on_end(self, result: dict[str, Any]) -> None:
        for key, value in _numbers(result).items():
            if key.startswith("test_"):
                self.client.log_metric(self.run_id, key, float(value), step=result["steps"])
        self.client.set_terminated(self.run_id)


class CurvesPlot(Callback):
    """Draws ``curves.png`` from ``metrics.jsonl`` at the end of every run: train and val per
    metric, each on its own axis with its unit (``units`` maps a metric to it, e.g. the
    loss of a regression task to MSE)."""

    def __init__(self, run_dir: Path, units: dict[str, str] | None = None, title: str = ""):
        from sgtk.train.metrics import MetricsLog

        self.source = MetricsLog(Path(run_dir) / "metrics.jsonl")
        self.path = Path(run_dir) / "curves.png"
        self.units, self.title = dict(units or {}), title

    def on_end(self, result: dict[str, Any]) -> None:
        from sgtk.train.curves import plot_curves

        plot_curves(self.source.read(), self.path, self.title, self.units)
