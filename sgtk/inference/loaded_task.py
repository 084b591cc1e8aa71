"""Any registered task's model, opened by the task itself: what :func:`sgtk.load` gives for a
task that has no loader of its own (a palindrome, text or molecule run has one)."""

from __future__ import annotations

from typing import Any, ClassVar, cast

import torch
from torch import Tensor, nn

from sgtk.errors import SgtkError
from sgtk.inference.loaded import Loaded, config_from
from sgtk.inference.model_files import ModelFiles
from sgtk.tasks.registry import get_task


class LoadedTask(Loaded):
    """A model rebuilt by its own :class:`~sgtk.train.task.Task` from the saved task config:
    ``.run_task`` is that task (its data included), ``.evaluate(split)`` scores the model on
    the task's ``val`` or ``test`` split, and ``.model(batch)`` runs it on a batch the task
    builds. ``LoadedTask.opening("neighbors-match")`` is the class that opens one task's
    files (what :func:`sgtk.load` uses)."""

    config_class: ClassVar[type]

    @classmethod
    def opening(cls, task: str) -> type[LoadedTask]:
        spec = get_task(task)  # one line for a task this sgtk does not know
        attrs = {"task": spec.task_class(), "config_class": spec.config_class()}
        return type(f"LoadedTask[{task}]", (cls,), attrs)

    def build(self, files: ModelFiles) -> nn.Module:
        config = config_from(self.config_class, files.task_config, files.source)
        self.run_task: Any = cast(Any, self.task)(config)
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
