"""A sweep's results files: ``results.json`` (a list of rows) and ``results.csv``.

Rewritten after every run, each atomically, so Ctrl-C leaves valid partial results. The run
folders' own files (``row.json``, ``curve.json``) and ``sweep.json`` are read in
:mod:`sgtk.experiments.sweep_files`.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from sgtk.io.files import atomic_write_bytes

FIELDS = (
    "task", "model", "length", "layers", "graph", "seed", "params", "hidden", "lr", "lr_source",
    "steps", "max_steps", "max_time", "max_cpu_time", "batch_size", "precision", "init",
    "carry_state", "seconds", "cpu_seconds", "stopped_by", "n_train", "n_val", "n_test",
    "val_metric", "val_value",
    "test_accuracy", "test_bpc", "test_loss", "heldout_bpc", "heldout_loss", "test_rmse",
    "test_mae", "threads", "selected", "name",
)  # fmt: skip


def write_results(rows: list[dict[str, Any]], out_dir: Path) -> None:
    """``results.json`` and ``results.csv`` (the columns of ``FIELDS``), each atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out_dir / "results.json", json.dumps(rows, indent=1).encode())
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: row.get(k) for k in FIELDS} for row in rows)
    atomic_write_bytes(out_dir / "results.csv", buf.getvalue().encode())
