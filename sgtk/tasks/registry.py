"""The one table of tasks: each task's config, its defaults file, and the figure it reports.

``sgtk train <task>``, ``compare``, the tables and the plots all read this table; a task's name
is written here and in its own module, nowhere else. Like the model registry it imports no
torch: classes are import paths, loaded on use, so ``sgtk --help`` stays fast.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from sgtk.errors import SgtkError


@dataclass(frozen=True)
class TaskSpec:
    """One row of the registry.

    ``headline``: the test metric a comparison reports for the task, ``larger_is_better`` its
    direction and ``unit`` its axis label. ``config`` and ``task`` are ``"module:Class"``
    paths; ``config_file`` is the task's defaults in ``configs/``.
    """

    name: str
    summary: str
    config: str
    task: str
    config_file: str
    headline: str
    larger_is_better: bool
    unit: str

    @property
    def direction(self) -> str:
        return "max" if self.larger_is_better else "min"

    def config_class(self) -> type:
        return _load(self.config)

    def task_class(self) -> type:
        return _load(self.task)


def _load(path: str) -> Any:
    module, attr = path.split(":")
    return getattr(import_module(module), attr)


TASK_REGISTRY: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec(
            "palindrome",
            "is a digit sequence a palindrome? a memory test at length T",
            "sgtk.tasks.palindrome:PalindromeConfig",
            "sgtk.tasks.palindrome:PalindromeTask",
            "palindrome.toml",
            "test_accuracy",
            True,
            "test accuracy (fraction correct)",
        ),
        TaskSpec(
            "text",
            "character language model on any UTF-8 text",
            "sgtk.tasks.text:TextConfig",
            "sgtk.tasks.text:TextTask",
            "text.toml",
            "test_bpc",
            False,
            "test bits per character",
        ),
        TaskSpec(
            "molecules",
            "molecular property regression from SMILES",
            "sgtk.tasks.molecules:MoleculeConfig",
            "sgtk.tasks.molecules:MoleculeTask",
            "molecules.toml",
            "test_rmse",
            False,
            "test RMSE (target units)",
        ),
    )
}
TASK_NAMES = tuple(TASK_REGISTRY)


def get_task(name: str) -> TaskSpec:
    """The task called ``name``, or one line naming the closest one."""
    try:
        return TASK_REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, TASK_NAMES, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise SgtkError(
            f"unknown task {name!r}: {hint}choose one of {', '.join(TASK_NAMES)}"
        ) from None
