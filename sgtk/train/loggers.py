"""Extra logs beside ``metrics.jsonl``, which stays the source of truth (resume reads it).

``csv`` mirrors ``metrics.jsonl`` into ``metrics.csv``; ``tensorboard`` writes event files
into ``tensorboard/`` (``pip install 'sgtk[tensorboard]'``).
"""

from __future__ import annotations

import csv
import io
import numbers
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sgtk.choices import LOGGERS
from sgtk.errors import SgtkError
from sgtk.train.callbacks import Callback

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

__all__ = ["LOGGERS", "CsvLogger", "TensorBoardLogger", "check_logger", "make_loggers"]


def check_logger(name: str) -> None:
    """Refuse a logger whose package is missing before the run writes anything."""
    if name == "tensorboard":
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            raise SgtkError(
                "--logger tensorboard needs the tensorboard package: "
                "pip install 'sgtk[tensorboard]', or use --logger csv"
            ) from None


def make_loggers(name: str, run_dir: Path) -> list[Callback]:
    if name == "csv":
        return [CsvLogger(run_dir)]
    if name == "tensorboard":
        return [TensorBoardLogger(run_dir)]
    return []


def _numbers(record: dict[str, Any]) -> dict[str, numbers.Real]:
    return {
        k: v
        for k, v in record.items()
        if isinstance(v, numbers.Real) and not isinstance(v, bool) and k not in ("step", "final")
    }


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
        from sgtk.train.checkpoint import atomic_write_bytes

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
