"""Palindrome classification: every model family on the same path-graph batches."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Batch

from sgtk.data.memory import check_memory, palindrome_bytes
from sgtk.data.palindrome import NUM_CLASSES, PalindromeData
from sgtk.models.predictor import Predictor
from sgtk.models.registry import get, uses_layers
from sgtk.tasks.palindrome_config import PalindromeConfig
from sgtk.tasks.registry import check_graph
from sgtk.tasks.sweep_hooks import SweepHooks
from sgtk.train.task import Task


class PalindromeTask(SweepHooks, Task):
    name = "palindrome"
    metric = "val_accuracy"
    mode = "max"

    def __init__(self, config: PalindromeConfig):
        config.validate()
        self.config = config
        self.data = PalindromeData(config.length, one_hot=config.one_hot, directed=config.directed)
        self._data_at = {config.length: self.data}  # the curriculum's lengths, built once each
        self._eval: dict[tuple[str, int], Batch] = {}
        self.curriculum = config.make_curriculum()

    def fingerprint(self) -> dict[str, Any]:
        """Generated data: the generator's settings identify it."""
        c = self.config
        keys = ("length", "one_hot", "directed", "curriculum", "curriculum_threshold")
        return {"generated": "palindrome", **{k: getattr(c, k) for k in keys}}

    # ---- a compare sweep's questions (SweepHooks) -------------------------------------
    @classmethod
    def sweep_values(cls, sweep: Any, run: Any, hidden: int) -> dict[str, Any]:
        return dict(
            model=run.model,
            length=run.length,
            layers=max(run.layers, 1),
            hidden=hidden,
            init=sweep.init,
            graph=run.graph,
            **sweep.rules.task_values,
        )

    def split_sizes(self) -> dict[str, int]:
        """Val and test are fixed sets of palindromes; train is every other one."""
        n_val, n_test = len(self.data.eval_digits("val")), len(self.data.eval_digits("test"))
        n_train = 10**self.data.num_free - n_val - n_test
        return {"n_train": n_train, "n_val": n_val, "n_test": n_test}

    def cannot_reach(self) -> bool:
        """Whether the last node can never hear the first digit: k rounds on the causal path
        graph reach k nodes back, and the first digit is T-2 hops away. Such a model is at
        chance by construction, whatever it learns (docs: "Why a k-layer GCN sees only k
        hops"). Recurrent models and hybrids (an LSTM inside) reach every node."""
        c = self.config
        spec = get(c.model)
        if not uses_layers(c.model) or spec.family == "hybrid" or c.readout != "last":
            return False
        return check_graph(c.graph, c.model, self.name) == "path" and c.layers < c.length - 2

    def init_label(self) -> str:
        return self.config.resolved_init()

    def data_now(self) -> PalindromeData:
        """The data at the length trained now: the curriculum's, else the target."""
        length = self.curriculum.current if self.curriculum else self.config.length
        if length not in self._data_at:
            c = self.config
            self._data_at[length] = PalindromeData(length, c.one_hot, directed=c.directed)
        return self._data_at[length]

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
        return self.data_now().train_batch(batch_size, generator, device)

    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        logits = model(batch)  # the loss is taken at the last step only
        loss = F.cross_entropy(logits.float(), batch.y)
        return loss, {"accuracy": (logits.argmax(-1) == batch.y).float().mean().item()}

    @torch.no_grad()
    def _score(
        self, model: nn.Module, split: str, device: torch.device, data: PalindromeData
    ) -> dict[str, float]:
        key = (split, data.length)
        batch = self._eval.get(key)
        if batch is None or batch.x.device != device:
            batch = self._eval[key] = data.eval_batch(split, device)
        logits = model(batch)
        return {
            f"{split}_accuracy": (logits.argmax(-1) == batch.y).float().mean().item(),
            f"{split}_loss": F.cross_entropy(logits.float(), batch.y).item(),
        }

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        return self._score(model, "val", device, self.data_now())

    def report(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        return self._score(model, "test", device, self.data)  # the target length, always

    # ---- the curriculum (none unless config.curriculum) ---------------------------------
    def on_eval(self, model: nn.Module, device: torch.device, step: int) -> dict[str, Any]:
        return {"length": self.data_now().length} if self.curriculum else {}

    def eligible(self, record: dict[str, Any]) -> bool:
        return self.curriculum is None or self.curriculum.done

    def after_eval(self, record: dict[str, Any]) -> dict[str, Any] | None:
        if self.curriculum is None:
            return None
        before = self.curriculum.current
        after = self.curriculum.advance(record["val_accuracy"])
        if after is None:
            return None
        return {"event": "curriculum", "length": after, "previous_length": before}

    def state_dict(self) -> dict[str, Any]:
        return self.curriculum.state_dict() if self.curriculum else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.curriculum:
            self.curriculum.load_state_dict(state)

    def check_memory(self, batch_size: int) -> None:
        c = self.config
        layers = c.layers if uses_layers(c.model) else 1  # layers: GCN depth
        need = palindrome_bytes(c.length, batch_size, self.data.eval_size, c.hidden, layers)
        check_memory(
            need,
            f"palindromes of length {c.length} (val/test sets of {self.data.eval_size}, "
            f"batches of {batch_size}, hidden {c.hidden})",
            "lower `length` or `batch_size`",
        )
