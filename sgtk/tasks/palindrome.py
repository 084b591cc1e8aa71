"""Palindrome classification: every model family on the same path-graph batches."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Batch

from sgtk.choices import INITS
from sgtk.data.palindrome import NUM_CLASSES, PalindromeData
from sgtk.errors import SgtkError
from sgtk.memory import check_memory, palindrome_bytes
from sgtk.models.predictor import Predictor, check_sizes
from sgtk.models.registry import check_graph, check_model
from sgtk.nn.readout import READOUTS
from sgtk.train.task import Task


@dataclass
class PalindromeConfig:
    model: str = "lstm"
    length: int = 10
    hidden: int = 128
    layers: int = 4
    readout: str = "last"
    init: str = "auto"
    one_hot: bool = True
    pos_dim: int = 0
    directed: bool = True  # causal edges: the target is the digit after the last node
    graph: str = "auto"  # path, window:K, dilated or complete; auto: the model's own

    def validate(self) -> None:
        check_model(self.model, "palindrome")
        check_graph(self.graph, self.model, "palindrome")
        if self.readout not in READOUTS:
            raise SgtkError(
                f"unknown readout {self.readout!r}: choose one of {', '.join(READOUTS)}"
            )
        if self.init not in INITS:
            raise SgtkError(f"unknown init {self.init!r}: choose one of {', '.join(INITS)}")
        check_sizes(self.hidden, self.layers)

    def resolved_init(self) -> str:
        """``auto``: orthogonal W_hh for the RNN and chrono for the LSTM, which hold memory
        over hundreds of steps where Xavier init stops near T=20."""
        if self.init != "auto":
            return self.init
        chrono = {"lstm": "chrono", "lstm-gcn": "chrono", "gcn-lstm": "chrono"}
        return {"rnn": "orthogonal", **chrono}.get(self.model, "xavier")


class PalindromeTask(Task):
    name = "palindrome"
    metric = "val_accuracy"
    mode = "max"

    def __init__(self, config: PalindromeConfig):
        config.validate()
        self.config = config
        self.data = PalindromeData(config.length, one_hot=config.one_hot, directed=config.directed)
        self._eval: dict[str, Batch] = {}

    def build_model(self) -> Predictor:
        c = self.config
        return Predictor(
            c.model,
            self.data.num_features,
            NUM_CLASSES,
            hidden=c.hidden,
            layers=c.layers,
            readout=c.readout,
            pos_dim=c.pos_dim,
            init=c.resolved_init(),
            t_max=c.length,
            graph=check_graph(c.graph, c.model, "palindrome"),
            directed=c.directed,
        )

    def train_batch(
        self, batch_size: int, generator: torch.Generator, device: torch.device
    ) -> Batch:
        return self.data.train_batch(batch_size, generator, device)

    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        logits = model(batch)  # the loss is taken at the last step only
        loss = F.cross_entropy(logits.float(), batch.y)
        return loss, {"accuracy": (logits.argmax(-1) == batch.y).float().mean().item()}

    @torch.no_grad()
    def _score(self, model: nn.Module, split: str, device: torch.device) -> dict[str, float]:
        batch = self._eval.get(split)
        if batch is None or batch.x.device != device:
            batch = self._eval[split] = self.data.eval_batch(split, device)
        logits = model(batch)
        return {
            f"{split}_accuracy": (logits.argmax(-1) == batch.y).float().mean().item(),
            f"{split}_loss": F.cross_entropy(logits.float(), batch.y).item(),
        }

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        return self._score(model, "val", device)

    def report(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        return self._score(model, "test", device)

    def check_memory(self, batch_size: int) -> None:
        c = self.config
        layers = 1 if c.model in ("rnn", "lstm", "gru") else c.layers  # --layers: GCN depth
        need = palindrome_bytes(c.length, batch_size, self.data.eval_size, c.hidden, layers)
        check_memory(
            need,
            f"palindromes of length {c.length} (val/test sets of {self.data.eval_size}, "
            f"batches of {batch_size}, hidden {c.hidden})",
            "lower --length or --batch-size",
        )
