"""Molecular property regression: GCNs on the molecular graph, RNN/LSTMs on the SMILES string,
and GCNs on the SMILES path graph, under one Trainer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Batch
from torch_geometric.utils.smiles import x_map

from sgtk.data.molecules import MoleculeSet, load_molecules
from sgtk.errors import SgtkError
from sgtk.models.predictor import Predictor, check_sizes
from sgtk.train.task import Task

MOLECULE_MODELS = ("gcn", "pyg-gcn", "lstm", "rnn", "gcn-smiles")


class AtomEncoder(nn.Module):
    """Sum of one embedding per categorical atom feature of ``from_smiles`` (9 of them)."""

    def __init__(self, dim: int):
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(len(v), dim) for v in x_map.values())

    def forward(self, x: Tensor) -> Tensor:
        return sum(emb(x[:, i]) for i, emb in enumerate(self.embeddings))


@dataclass
class MoleculeConfig:
    model: str = "gcn"
    dataset: str = "nci-tpsa"
    data: str | None = None
    smiles_col: str = "smiles"
    target_col: str = "target"
    root: str = "data"
    hidden: int = 128
    layers: int = 4
    embed: int = 64
    readout: str = "mean"
    dropout: float = 0.0
    augment: int = 0
    split_seed: int = 0

    def validate(self) -> None:
        if self.model not in MOLECULE_MODELS:
            raise SgtkError(
                f"unknown model {self.model!r} for molecules: choose one of "
                f"{', '.join(MOLECULE_MODELS)}"
            )
        check_sizes(self.hidden, self.layers)


class MoleculeTask(Task):
    """Regression on standardised targets; RMSE and MAE are reported in the original units."""

    name = "molecules"
    metric = "val_rmse"
    mode = "min"

    def __init__(self, config: MoleculeConfig, molecules: MoleculeSet | None = None):
        config.validate()
        self.config = config
        variants = config.augment if config.model in ("lstm", "rnn", "gcn-smiles") else 0
        self.mols = molecules or load_molecules(
            config.dataset, config.data, config.smiles_col, config.target_col, config.root, variants
        )
        if len(self.mols) < 10:
            raise SgtkError(
                f"only {len(self.mols)} valid molecules: a train/val/test split needs at least 10"
            )
        self.train_idx, self.val_idx, self.test_idx = self.mols.split(config.split_seed)
        y = self.mols.targets[self.train_idx]
        self.mean, self.std = y.mean(), y.std().clamp_min(1e-8)
        self._perm: Tensor | None = None
        self._cursor = 0

    def build_model(self) -> nn.Module:
        c = self.config
        if c.model in ("gcn", "pyg-gcn"):
            return Predictor(
                c.model,
                c.hidden,
                1,
                hidden=c.hidden,
                layers=c.layers,
                readout=c.readout,
                encoder=AtomEncoder(c.hidden),
                dropout=c.dropout,
            )
        embedding = nn.Embedding(len(self.mols.tokens), c.embed, padding_idx=0)
        if c.model == "gcn-smiles":
            return Predictor(
                "gcn",
                c.embed,
                1,
                hidden=c.hidden,
                layers=c.layers,
                readout=c.readout,
                encoder=embedding,
                pos_dim=16,
                dropout=c.dropout,
            )
        return Predictor(
            c.model,
            c.embed,
            1,
            hidden=c.hidden,
            encoder=embedding,
            init="orthogonal" if c.model == "rnn" else "xavier",
            dropout=c.dropout,
        )

    def _batch(self, idx: Tensor, device: torch.device, variant: Tensor | None = None) -> Batch:
        y = (self.mols.targets[idx] - self.mean) / self.std
        if self.config.model in ("gcn", "pyg-gcn"):
            return self.mols.graph_batch(idx, y, device)
        return self.mols.sequence_batch(idx, y, variant, device=device)

    def train_batch(
        self, batch_size: int, generator: torch.Generator, device: torch.device
    ) -> Batch:
        # Epochs: a fresh permutation of the training set whenever the last one runs out.
        n = len(self.train_idx)
        if self._perm is None or self._cursor >= n:
            self._perm = torch.randperm(n, generator=generator)
            self._cursor = 0
        pick = self._perm[self._cursor : self._cursor + batch_size]
        self._cursor += batch_size
        # With augmentation, each molecule is read as one of its SMILES forms at random.
        variant = torch.randint(0, self.mols.num_variants, (len(pick),), generator=generator)
        return self._batch(self.train_idx[pick], device, variant)

    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        pred = model(batch).squeeze(-1).float()
        return F.mse_loss(pred, batch.y), {}

    @torch.no_grad()
    def _errors(self, model: nn.Module, idx: Tensor, device: torch.device) -> Tensor:
        errors = []
        for i in range(0, len(idx), 512):
            part = idx[i : i + 512]
            pred = model(self._batch(part, device)).squeeze(-1).float().cpu()
            errors.append(pred * self.std + self.mean - self.mols.targets[part])
        return torch.cat(errors)

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        err = self._errors(model, self.val_idx, device)
        return {"val_rmse": err.pow(2).mean().sqrt().item(), "val_mae": err.abs().mean().item()}

    def report(self, model: nn.Module, device: torch.device) -> dict[str, Any]:
        val = self.evaluate(model, device)
        test = self._errors(model, self.test_idx, device)
        return {
            "test_rmse": round(test.pow(2).mean().sqrt().item(), 4),
            "test_mae": round(test.abs().mean().item(), 4),
            "val_rmse": round(val["val_rmse"], 4),
            "val_mae": round(val["val_mae"], 4),
            "n_molecules": len(self.mols),
            "n_skipped": self.mols.n_skipped,
        }

    def state_dict(self) -> dict[str, Any]:
        return {"perm": self._perm, "cursor": self._cursor}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._perm, self._cursor = state.get("perm"), state.get("cursor", 0)
