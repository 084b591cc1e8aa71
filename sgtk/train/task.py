"""What the Trainer needs from a task: data, a loss, an evaluation and a report."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch

from sgtk.train.callbacks import Callback
from sgtk.train.train_config import TrainConfig


class Task(ABC):
    """A dataset, a model family and a metric. The Trainer knows nothing else about tasks.

    Validation chooses, test reports: :meth:`evaluate` scores the val split (``val_*`` keys
    only) at every evaluation, and ``metric`` names the one of its keys that picks ``best.pt``,
    the early stop and ``--target``; ``mode`` says whether larger (``"max"``) or smaller
    (``"min"``) is better. :meth:`report` scores the test split (``test_*`` keys) once, at
    the end, on the model in ``best.pt``.
    """

    name: str
    metric: str
    mode: str = "max"

    @abstractmethod
    def build_model(self) -> nn.Module: ...

    @abstractmethod
    def train_batch(
        self, batch_size: int, generator: torch.Generator, device: torch.device
    ) -> Batch: ...

    @abstractmethod
    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        """The training loss and per-batch statistics to average into the progress bar."""

    @abstractmethod
    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """Val figures (``val_*`` keys; the Trainer refuses ``test_*`` ones here)."""

    def report(self, model: nn.Module, device: torch.device) -> dict[str, Any]:
        """Test figures (``test_*`` keys) of the selected model, called once under no_grad.

        Default: none, for a task without a test split."""
        return {}

    def fingerprint(self) -> dict[str, Any]:
        """What identifies this task's input data, for the run's manifest: a resume refuses
        a change. Default: the task config, for data generated from it; a task that reads
        files returns their size and SHA-256 (see :mod:`sgtk.train.run_dir`)."""
        from sgtk.train.config_changes import as_plain

        return {"generated": self.name, **as_plain(getattr(self, "config", None) or {})}

    def model_config(self) -> dict[str, Any]:
        """What rebuilds this task's model (its kind, sizes, vocabulary), kept in ``best.pt``.
        Default: the task config's ``model``, if it has one."""
        model = getattr(getattr(self, "config", None), "model", None)
        return {"model": model} if model is not None else {}

    def fit_to_budget(
        self, config: TrainConfig, given: frozenset[str] | set[str] = frozenset()
    ) -> tuple[TrainConfig, str]:
        """Fit a fresh run to its time budget before the optimiser is built: return the train
        config to use (the task config may change too) and a line saying what was chosen.
        ``given`` names the keys the user set, which a fit keeps. Default: no change."""
        return config, ""

    def callbacks(self, run_dir: Path | None) -> list[Callback]:
        """Callbacks this task adds to a run (text: ``samples.md``). ``run_dir`` is where the
        run's files go, None on a process that writes none (ranks above 0)."""
        return []

    def check_memory(self, batch_size: int) -> None:
        """Refuse in one line, before anything is written, a run whose tensors cannot fit
        (see :mod:`sgtk.data.memory`). Called by the Trainer with the per-step batch size."""

    def on_eval(self, model: nn.Module, device: torch.device, step: int) -> dict[str, Any]:
        """Extra things to log at an evaluation (a text sample, say)."""
        return {}

    def eligible(self, record: dict[str, Any]) -> bool:
        """Whether this evaluation may choose ``best.pt`` and meet ``--target``: a
        curriculum's evaluations on a shorter problem than the one reported may not."""
        return True

    def after_eval(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """Called once the evaluation ``record`` is logged and judged; may change the task
        (a curriculum's next length) and return an event record for ``metrics.jsonl``."""
        return None

    def state_dict(self) -> dict[str, Any]:
        """The data position, for resuming (the sampler's generator is saved separately)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass

    def better(self, a: float, b: float | None) -> bool:
        return b is None or (a > b if self.mode == "max" else a < b)
