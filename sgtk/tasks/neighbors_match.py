"""Tree-NeighborsMatch (Alon & Yahav 2021): does a GNN of r + 1 layers carry 2^r leaves'
labels up a tree of depth r into the root? Their measure of over-squashing.

Protocol, as the paper's code: 80 % of the examples train, 20 % test (stratified by label);
the run is judged by how well it fits the training examples (the paper plots train accuracy:
over-squashing is a failure to fit, not to generalise), so ``val_train_accuracy``, the
accuracy on every training example, chooses the checkpoint and stops the run at 1.0. Test
accuracy is reported once, on the chosen model, beside it.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Batch

from sgtk.data.tree_neighbors import TreeNeighbors
from sgtk.graphs.views import node_positions
from sgtk.models.predictor import Predictor
from sgtk.models.registry import get
from sgtk.nn import positional_encoding
from sgtk.tasks.neighbors_match_config import NeighborsMatchConfig
from sgtk.tasks.sweep_hooks import SweepHooks
from sgtk.train.task import Task

EVAL_CHUNK = 2048  # examples per forward pass when scoring a whole split


class RootPredictor(Predictor):
    """A :class:`Predictor` whose answer is read at each example's root (``batch.root``):
    the tree view puts the root first, the token view last."""

    def forward(self, batch: Batch) -> Tensor:
        x = self.encoder(batch.x)
        if self.pos_dim:
            x = torch.cat([x, positional_encoding(node_positions(batch), self.pos_dim)], -1)
        h = self.backbone(batch, x, self.edges(batch))
        return self.head(self.dropout(h[batch.root]))


class NeighborsMatchTask(SweepHooks, Task):
    name = "neighbors-match"
    metric = "val_train_accuracy"
    mode = "max"

    def __init__(self, config: NeighborsMatchConfig):
        config.validate()
        self.config = config
        self.data = TreeNeighbors(
            config.depth, config.data_seed, config.train_fraction, config.graph, config.directed
        )
        self._perm: Tensor | None = None
        self._cursor = 0

    def fingerprint(self) -> dict[str, Any]:
        c = self.config
        keys = ("depth", "graph", "directed", "data_seed", "train_fraction")
        return {"generated": self.name, **{k: getattr(c, k) for k in keys}}

    # ---- a compare sweep's questions (SweepHooks) -------------------------------------
    @classmethod
    def sweep_values(cls, sweep: Any, run: Any, hidden: int) -> dict[str, Any]:
        return dict(model=run.model, layers=max(run.layers, 0), hidden=hidden)

    def split_sizes(self) -> dict[str, int]:
        return {"n_train": len(self.data.train_idx), "n_val": 0, "n_test": len(self.data.test_idx)}

    # ---- the model and its batches ------------------------------------------------------
    def batch(self, idx: Tensor, device: torch.device | str) -> Batch:
        """The view the model reads: the tree graph, or the token sequence."""
        if self.config.reads_tree():
            return self.data.graph_batch(idx, device)
        return self.data.sequence_batch(idx, device)

    def build_model(self) -> RootPredictor:
        c, spec = self.config, get(self.config.model)
        # On tokens, a non-recurrent model reads them as it reads a SMILES string: positions
        # appended where it has no order of its own, its own graph over them both ways.
        tokens = not c.reads_tree()
        return RootPredictor(
            c.model,
            self.data.num_features,
            self.data.num_classes,
            hidden=c.hidden,
            layers=c.num_layers(),
            init=spec.init,
            t_max=self.data.num_leaves + 1,
            pos_dim=spec.pos_dim if tokens else 0,
            graph=spec.default_graph if tokens else None,
            directed=False,
        )

    def train_batch(
        self, batch_size: int, generator: torch.Generator, device: torch.device
    ) -> Batch:
        # Epochs, as the paper's loader: a fresh permutation whenever the last one runs out.
        n = len(self.data.train_idx)
        if self._perm is None or self._cursor >= n:
            self._perm = torch.randperm(n, generator=generator)
            self._cursor = 0
        pick = self._perm[self._cursor : self._cursor + batch_size]
        self._cursor += batch_size
        return self.batch(self.data.train_idx[pick], device)

    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        logits = model(batch)
        loss = F.cross_entropy(logits.float(), batch.y)
        return loss, {"accuracy": (logits.argmax(-1) == batch.y).float().mean().item()}

    @torch.no_grad()
    def _score(self, model: nn.Module, idx: Tensor, device: torch.device) -> tuple[float, float]:
        correct, loss = 0.0, 0.0
        for i in range(0, len(idx), EVAL_CHUNK):
            batch = self.batch(idx[i : i + EVAL_CHUNK], device)
            logits = model(batch).float()
            correct += (logits.argmax(-1) == batch.y).sum().item()
            loss += F.cross_entropy(logits, batch.y, reduction="sum").item()
        return correct / len(idx), loss / len(idx)

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        accuracy, loss = self._score(model, self.data.train_idx, device)
        return {"val_train_accuracy": accuracy, "val_train_loss": loss}

    def report(self, model: nn.Module, device: torch.device) -> dict[str, Any]:
        train, _ = self._score(model, self.data.train_idx, device)
        test, test_loss = self._score(model, self.data.test_idx, device)
        return {
            "train_accuracy": round(train, 4),
            "test_accuracy": round(test, 4),
            "test_loss": round(test_loss, 4),
            "depth": self.config.depth,
            "layers": self.config.num_layers(),
            "graph": self.config.graph,
            **self.split_sizes(),
        }

    def state_dict(self) -> dict[str, Any]:
        return {"perm": self._perm, "cursor": self._cursor}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._perm, self._cursor = state.get("perm"), state.get("cursor", 0)
