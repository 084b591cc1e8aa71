"""Molecular property regression: GCNs on the molecular graph, RNN/LSTMs on the SMILES string,
and GCNs on the SMILES path graph, under one Trainer.

Protocol: the split is train/val/test (random or by scaffold); targets are standardised with
the train split's mean and std only; val picks the checkpoint; test is reported once, at the
end, on the chosen model.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Batch
from torch_geometric.utils.smiles import x_map

from sgtk.data.molecules import FEATURISATION, MoleculeSet
from sgtk.data.splits import split_indices
from sgtk.errors import SgtkError
from sgtk.models.predictor import Predictor
from sgtk.models.registry import REGISTRY
from sgtk.tasks.molecule_config import MOLECULE_MODELS, MoleculeConfig
from sgtk.tasks.registry import get_task
from sgtk.tasks.sweep_hooks import SweepHooks
from sgtk.train.task import Task

# models that read the molecular graph, not the SMILES
GRAPH_VIEW = tuple(m for m in MOLECULE_MODELS if REGISTRY[m].native_view == "graph")


class AtomEncoder(nn.Module):
    """Sum of one embedding per categorical atom feature of ``from_smiles`` (9 of them)."""

    def __init__(self, dim: int):
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(len(v), dim) for v in x_map.values())

    def forward(self, x: Tensor) -> Tensor:
        return sum(emb(x[:, i]) for i, emb in enumerate(self.embeddings))


def build_molecule_model(cfg: dict[str, Any]) -> nn.Module:
    """The model of a molecule run from its ``model_config()`` (also how predict rebuilds it)."""
    model, spec = cfg["model"], REGISTRY[cfg["model"]]
    sizes = {k: cfg[k] for k in ("hidden", "layers", "readout", "dropout")}
    if model in GRAPH_VIEW:
        return Predictor(model, cfg["hidden"], 1, encoder=AtomEncoder(cfg["hidden"]), **sizes)
    embedding = nn.Embedding(len(cfg["vocab"]), cfg["embed"], padding_idx=0)
    if spec.pos_dim:  # the SMILES path graph as the batch holds it, positions appended
        return Predictor(model, cfg["embed"], 1, encoder=embedding, pos_dim=spec.pos_dim, **sizes)
    return Predictor(
        model,
        cfg["embed"],
        1,
        encoder=embedding,
        # orthogonal W_hh where that is the model's own init; chrono is not used on SMILES
        init="orthogonal" if spec.init == "orthogonal" else "xavier",
        # SMILES may be read both ways: a transformer attends over the whole string.
        graph=spec.default_graph,
        directed=False,
        **sizes,
    )


def molecule_batch(
    mols: MoleculeSet,
    model: str,
    idx: Tensor,
    y: Tensor,
    device: torch.device | str,
    variant: Tensor | None = None,
) -> Batch:
    """The view ``model`` reads: the molecular graph or the SMILES path graph."""
    if model in GRAPH_VIEW:
        return mols.graph_batch(idx, y, device)
    return mols.sequence_batch(idx, y, variant, device=device)


def dataset_fingerprint(ds: Any, config: MoleculeConfig) -> dict[str, Any]:
    """The dataset's name, its source file's size and SHA-256, and the processed-cache key."""
    from pathlib import Path

    from sgtk.train.run_dir import file_fingerprint

    name = "csv" if config.data else config.dataset
    raw = getattr(ds, "raw_paths", None) or []
    found = file_fingerprint(raw[0]) if raw else {}
    return {"dataset": name, **found, "cache_key": Path(ds.processed_paths[0]).stem}


class MoleculeTask(SweepHooks, Task):
    """Regression on standardised targets; RMSE and MAE are reported in the original units."""

    name = "molecules"
    metric = "val_rmse"
    mode = "min"

    def __init__(self, config: MoleculeConfig, molecules: MoleculeSet | None = None):
        config.validate()
        self.config = config
        variants = config.augment if config.model not in GRAPH_VIEW else 0
        self.delimiter, self.target_name = "n/a", config.target_col
        self.data_fingerprint: dict[str, Any] = {"dataset": config.dataset, "given": "in memory"}
        if molecules is None:
            from sgtk.data.molecule_datasets import load_dataset

            ds = load_dataset(
                config.dataset,
                config.data,
                config.smiles_col,
                config.target_col,
                config.root,
                variants,
                config.delimiter_char(),
                drop_invalid=config.drop_invalid,
            )
            molecules, self.delimiter = ds.molecules(), ds.meta["delimiter"]
            self.data_fingerprint = dataset_fingerprint(ds, config)
            self.target_name = ds.source.target_col
        self.mols = molecules
        if len(self.mols) < 10:
            raise SgtkError(
                f"only {len(self.mols)} valid molecules: a train/val/test split needs at least 10"
            )
        self.train_idx, self.val_idx, self.test_idx = split_indices(
            config.split, len(self.mols), config.split_seed, self.mols.scaffolds
        )
        # Fitted on train only: val and test targets must not leak into the scaling.
        y = self.mols.targets[self.train_idx]
        self.mean, self.std = y.mean(), y.std().clamp_min(1e-8)
        self._perm: Tensor | None = None
        self._cursor = 0

    def fingerprint(self) -> dict[str, Any]:
        return self.data_fingerprint

    # ---- a compare sweep's questions (SweepHooks) -------------------------------------
    @classmethod
    def sweep_values(cls, sweep: Any, run: Any, hidden: int) -> dict[str, Any]:
        return dict(model=run.model, layers=max(run.layers, 1), hidden=hidden, split_seed=run.seed)

    @classmethod
    def for_sweep(cls, config: MoleculeConfig, shared: MoleculeSet) -> MoleculeTask:
        return cls(config, shared)

    @classmethod
    def load_shared(cls, sweep: Any) -> MoleculeSet:
        """The molecules every run reads, with random SMILES forms if a model reads SMILES."""
        from pathlib import Path

        from sgtk.data.molecule_datasets import load_molecules

        augment = get_task(cls.name).defaults().get("task", {}).get("augment", 0)
        variants = augment if set(sweep.models) - set(GRAPH_VIEW) else 0
        if sweep.molecule_data:
            return load_molecules(
                data=Path(sweep.molecule_data),
                smiles_col=sweep.smiles_col,
                target_col=sweep.target_col,
                variants=variants,
            )
        return load_molecules("nci-tpsa", variants=variants)

    def split_sizes(self) -> dict[str, int]:
        return {
            "n_train": len(self.train_idx),
            "n_val": len(self.val_idx),
            "n_test": len(self.test_idx),
        }

    def split_seed(self) -> int | None:
        """A random split is drawn anew per seed; a scaffold split is one for all."""
        return self.config.split_seed if self.config.split == "random" else None

    def model_config(self) -> dict[str, Any]:
        """Everything predict needs besides the weights (kept in ``best.pt``)."""
        c = self.config
        return {
            "model": c.model,
            "hidden": c.hidden,
            "layers": c.layers,
            "embed": c.embed,
            "readout": c.readout,
            "dropout": c.dropout,
            "vocab": self.mols.tokens,
            "target_mean": self.mean.item(),
            "target_std": self.std.item(),
            "target": self.target_name,
            "featurisation": FEATURISATION,
            "split": c.split,
            "split_sizes": [len(self.train_idx), len(self.val_idx), len(self.test_idx)],
            "delimiter": self.delimiter,
        }

    def build_model(self) -> nn.Module:
        return build_molecule_model(self.model_config())

    def _batch(self, idx: Tensor, device: torch.device, variant: Tensor | None = None) -> Batch:
        y = (self.mols.targets[idx] - self.mean) / self.std
        return molecule_batch(self.mols, self.config.model, idx, y, device, variant)

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
        test = self._errors(model, self.test_idx, device)
        return {
            "test_rmse": round(test.pow(2).mean().sqrt().item(), 4),
            "test_mae": round(test.abs().mean().item(), 4),
            "n_molecules": len(self.mols),
            "n_skipped": self.mols.n_skipped,
            "split": self.config.split,
            "n_train": len(self.train_idx),
            "n_val": len(self.val_idx),
            "n_test": len(self.test_idx),
            "delimiter": self.delimiter,
        }

    def state_dict(self) -> dict[str, Any]:
        return {"perm": self._perm, "cursor": self._cursor}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._perm, self._cursor = state.get("perm"), state.get("cursor", 0)
