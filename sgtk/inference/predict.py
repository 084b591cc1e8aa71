"""Predicting a molecular property with a trained run or an export, in the target's units."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from sgtk.data.csv_table import read_csv_rows
from sgtk.data.molecules import FEATURISATION, MoleculeSet, featurise
from sgtk.errors import ConfigError, SgtkError
from sgtk.inference.export import check_out, model_folder
from sgtk.inference.loaded import Loaded
from sgtk.inference.model_files import ModelFiles
from sgtk.io.files import atomic_write_bytes
from sgtk.tasks.molecules import GRAPH_VIEW, MoleculeTask, build_molecule_model, molecule_batch


@dataclass
class Prediction:
    smiles: str
    value: float | None  # in the target's units; None when the molecule cannot be read
    problem: str = ""


class MoleculePredictor(Loaded):
    """A molecule model with its target scaling and vocabulary, from a run or an export."""

    task = MoleculeTask

    def check(self, files: ModelFiles) -> None:
        cfg = files.config
        missing = [
            k for k in ("vocab", "target_mean", "target_std", "featurisation") if k not in cfg
        ]
        if missing:
            raise SgtkError(
                f"{files.source} lacks {', '.join(missing)} (written before sgtk could "
                "predict): retrain the run"
            )
        if cfg["featurisation"] != FEATURISATION:
            raise SgtkError(
                f"{files.source} was trained on featurisation {cfg['featurisation']}, this "
                f"sgtk computes {FEATURISATION}: retrain with this version"
            )
        scaling = {k: cfg[k] for k in ("target_mean", "target_std")}
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in scaling.values()):
            raise SgtkError(
                f"{files.source} holds a target scaling that is not a finite number "
                f"({scaling}): retrain on targets without NaN or inf"
            )
        self.target = cfg.get("target", "target")

    def build(self, files: ModelFiles) -> nn.Module:
        return build_molecule_model(files.config)

    @torch.no_grad()
    def predict(self, smiles: list[str], batch_size: int = 512) -> list[Prediction]:
        cfg = self.config
        out = [Prediction(s, None) for s in smiles]
        f = featurise(smiles, [0.0] * len(smiles), vocab=cfg["vocab"], scaffolds=False)
        for row, why in f.problems:
            out[row].problem = "empty SMILES" if not smiles[row].strip() else why
        if not f.data_list:
            return out
        mols = MoleculeSet.from_featurised(f)
        readable = torch.arange(len(mols))
        if cfg["model"] not in GRAPH_VIEW:  # a sequence model cannot read unseen tokens
            for i in torch.nonzero(mols.unknown > 0).flatten().tolist():
                out[int(mols.rows[i])].problem = "has SMILES tokens never seen in training"
            readable = readable[mols.unknown == 0]
        for start in range(0, len(readable), batch_size):
            idx = readable[start : start + batch_size]
            batch = molecule_batch(mols, cfg["model"], idx, torch.zeros(len(idx)), self.device)
            pred = self.model(batch).squeeze(-1).float().cpu()
            values = pred * cfg["target_std"] + cfg["target_mean"]
            for i, v in zip(idx.tolist(), values.tolist()):
                if math.isfinite(v):
                    out[int(mols.rows[i])].value = v
                else:  # said, never printed as a number
                    out[int(mols.rows[i])].problem = f"the model's output is not finite ({v})"
        return out


def require_some(preds: list[Prediction], what: str) -> int:
    """The number of ``preds`` without a value; one line when none has one (nothing to
    report but problems is a failure, not a result)."""
    failed = [p for p in preds if p.value is None]
    if preds and len(failed) == len(preds):
        first = failed[0]
        raise SgtkError(
            f"none of the {len(preds)} {what} could be predicted (the first, {first.smiles!r}: "
            f"{first.problem}): pass valid SMILES"
        )
    return len(failed)


def predict_csv(
    predictor: MoleculePredictor,
    data: Path,
    smiles_col: str,
    out: Path,
    delimiter: str | None = None,
) -> tuple[int, int]:
    """Predict every row of ``data``; write its columns plus ``prediction`` and ``problem``
    (why a row has no prediction). Returns (rows, rows without a prediction); when no row
    has one, one line and nothing written.

    ``out`` may be neither ``data`` (the input is never overwritten) nor inside the model's
    run or export folder."""
    check_out(out, [Path(data)], [model_folder(predictor.source)])
    table = read_csv_rows(data, delimiter)
    if smiles_col not in table.columns:
        raise SgtkError(
            f"{data} has no column {smiles_col} (it has: {', '.join(table.columns)}; read as "
            f"{table.delimiter_name}-separated): set `smiles_col` or `delimiter`"
        )
    preds = predictor.predict([s.strip() for s in table.column(smiles_col)])
    failed = require_some(preds, f"rows of {data}")  # before anything is written
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*table.columns, f"predicted_{predictor.target}", "problem"])
    for row, p in zip(table.rows, preds):
        value = "" if p.value is None else f"{p.value:.6g}"
        writer.writerow([*row, value, p.problem])
    out = Path(out)
    if out.is_dir():
        raise ConfigError("out", f"out {out} is a directory: name a file, e.g. {out / 'preds.csv'}")
    if not out.parent.is_dir():
        raise ConfigError("out", f"out {out}: the folder {out.parent} does not exist")
    atomic_write_bytes(out, buf.getvalue().encode())
    return len(preds), failed
