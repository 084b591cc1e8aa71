"""How a sweep's runs are trained and read: the fair protocol, or the course assignment's.

A protocol is an object the sweep and its runner ask, never a branch on its name: what it
lays over ``compare.toml``, over each run's task and train configs, and which model of a run
it reports. The task registry says which protocols a task can be compared under.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sgtk.errors import SgtkError


@dataclass(frozen=True)
class Protocol:
    """``sweep_values``: laid over compare.toml (flags given still override them);
    ``task_values``/``train_values``: over each run's configs; ``selected``: which model of a
    run its row reports."""

    name: str
    summary: str
    sweep_values: dict[str, Any] = field(default_factory=dict)
    task_values: dict[str, Any] = field(default_factory=dict)
    train_values: dict[str, Any] = field(default_factory=dict)
    selected: str = "best on val"

    def after_run(self, task: Any, run_dir: Path) -> dict[str, Any]:
        """Figures that replace the trained run's own (none: the val-chosen model's stand)."""
        return {}

    def keep_checkpoint(self, run_dir: Path) -> None:
        """What becomes of the run's last checkpoint once its row is written: best.pt keeps
        the chosen model, so it goes."""
        (Path(run_dir) / "checkpoint.pt").unlink(missing_ok=True)


@dataclass(frozen=True)
class LastStep(Protocol):
    """Reports the last step's model (``last.pt``), not the val-chosen one."""

    selected: str = "last step"

    def after_run(self, task: Any, run_dir: Path) -> dict[str, Any]:
        import torch

        from sgtk.train.checkpoint import load_model_state

        model = task.build_model()
        load_model_state(model, Path(run_dir) / "checkpoint.pt", task.name)
        model.eval()
        with torch.no_grad():
            report = task.report(model, torch.device("cpu"))
        return {**report, "selected": self.selected}

    def keep_checkpoint(self, run_dir: Path) -> None:
        (Path(run_dir) / "checkpoint.pt").replace(Path(run_dir) / "last.pt")


FAIR = Protocol("fair", "choose on val, report test once for the chosen model")
# The course assignment's own setup, to reproduce its figures beside the fair protocol's:
# Xavier init, scalar digit inputs, RMSProp, 10,000 steps, no early stop, and the model of the
# last step reported (not the val-chosen one). Flags given still override the steps and init.
ASSIGNMENT = LastStep(
    "assignment",
    "Xavier, scalar inputs, RMSProp, 10,000 steps, last step reported",
    sweep_values=dict(init="xavier", steps=10_000, target=None, patience=0, unreachable_steps=0),
    task_values={"one_hot": False},
    train_values={"optimizer": "rmsprop"},
)
PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (FAIR, ASSIGNMENT)}


def get_protocol(name: str, task: str) -> Protocol:
    """The protocol ``name``, which ``task``'s registry row must allow."""
    from sgtk.tasks.registry import TASK_REGISTRY, get_task

    if name not in PROTOCOLS:
        close = difflib.get_close_matches(name, PROTOCOLS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise SgtkError(f"unknown `protocol` {name!r}: {hint}choose one of {', '.join(PROTOCOLS)}")
    if name not in get_task(task).protocols:
        tasks = [t for t, spec in TASK_REGISTRY.items() if name in spec.protocols]
        raise SgtkError(f"`protocol` {name} applies to {', '.join(tasks)} only: drop it")
    return PROTOCOLS[name]
