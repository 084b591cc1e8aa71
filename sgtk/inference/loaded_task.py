"""Any registered task's model, opened by the task itself: what :func:`sgtk.load` gives for a
task that has no loader of its own (a palindrome, text or molecule run has one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from sgtk.errors import SgtkError
from sgtk.inference.loaded import Loaded, config_from
from sgtk.inference.model_files import ModelFiles, load_model_files
from sgtk.tasks.registry import get_task


class LoadedTask(Loaded):
    """A model rebuilt by its own :class:`~sgtk.train.task.Task` from the saved task config:
    ``.run_task`` is that task (its data included), ``.evaluate(split)`` scores the model on
    the task's ``val`` or ``test`` split, and ``.model(batch)`` runs it on a batch the task
    builds."""

    def __init__(self, source: Path | str | ModelFiles, device: torch.device | str = "cpu"):
        files = source if isinstance(source, ModelFiles) else load_model_files(source, device)
        self.spec = get_task(files.task)  # one line for a task this sgtk does not know
        self.task = self.spec.task_class()  # this instance opens that task's files
        super().__init__(files, device)

    def build(self, files: ModelFiles) -> nn.Module:
        config = config_from(self.spec.config_class(), files.task_config, files.source)
        self.run_task = self.task(config)
        return self.run_task.build_model()

    @torch.no_grad()
    def evaluate(self, split: str = "test") -> dict[str, Any]:
        """The task's own figures on ``split``: ``val_*`` keys for val, ``test_*`` for test."""
        if split == "test":
            return self.run_task.report(self.model, self.device)
        if split == "val":
            return self.run_task.evaluate(self.model, self.device)
        raise SgtkError(f"split {split!r}: choose val or test")

    @torch.no_grad()
    def predict(self, batch: Any) -> Tensor:
        """The model's outputs for a batch the task built (e.g. ``run_task.batch(idx)``)."""
        return self.model(batch.to(self.device))
