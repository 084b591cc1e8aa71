"""The one table of tasks: each task's config, its defaults file, and the figure it reports.

``sgtk train <task>``, ``compare``, the tables and the plots all read this table; a task's name
is written here and in its own module, nowhere else. Which models a task takes follows from
what it gives them (a token sequence, or graph samples with or without edge features) and
what each model reads (:mod:`sgtk.models.registry`), so no row of either table lists the
other's names. Like the model registry it imports no torch: classes are import paths, loaded
on use, so ``sgtk --help`` stays fast.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from sgtk.errors import SgtkError
from sgtk.models import registry as models


@dataclass(frozen=True)
class TaskSpec:
    """One row of the registry.

    ``headline``: the test metric a comparison reports for the task, ``larger_is_better`` its
    direction and ``unit`` its axis label. ``config`` and ``task`` are ``"module:Class"``
    paths; ``config_file`` is the task's defaults in ``configs/``.

    What a compare sweep and its tables show: ``by_length``: one column per sequence length T
    (sweeps take ``--lengths`` and ``--layers auto``, plots draw accuracy against T);
    ``sequence_graph``: models run on a ``graph`` built over the sequence, else each on its
    own view of the data (a molecule's bonds or its SMILES); ``edge_features``: the graph
    samples carry ``edge_attr`` (models that need it may run); ``protocols``: those the task can
    be compared under; ``tables``: further test metrics shown in a table of their own. How a
    sweep builds a run, what its runs share and their split sizes are the task class's
    :class:`~sgtk.tasks.sweep_hooks.SweepHooks` methods.
    """

    name: str
    summary: str
    config: str
    task: str
    config_file: str
    headline: str
    larger_is_better: bool
    unit: str
    by_length: bool = False
    sequence_graph: bool = True
    edge_features: bool = False
    protocols: tuple[str, ...] = ("fair",)
    tables: tuple[str, ...] = ()
    data_key: str | None = None  # the compare.toml key that compare's --data sets

    @property
    def direction(self) -> str:
        return "max" if self.larger_is_better else "min"

    def models(self) -> tuple[str, ...]:
        """The models that read this task's data, in registry order."""
        return models.models_reading(self.sequence_graph, self.edge_features)

    def config_class(self) -> type:
        return _load(self.config)

    def task_class(self) -> Any:
        """The task's class: a ``Task`` with the sweep's hooks (``SweepHooks``)."""
        return _load(self.task)

    def defaults(self) -> dict[str, Any]:
        """The shipped ``configs/<file>``: its ``[task]`` and ``[train]`` tables."""
        from sgtk.train.config import default_config

        return default_config(self.config_file.removesuffix(".toml"))


def _load(path: str) -> Any:
    module, attr = path.split(":")
    return getattr(import_module(module), attr)


TASK_REGISTRY: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec(
            "palindrome",
            "is a digit sequence a palindrome? a memory test at length T",
            "sgtk.tasks.palindrome_config:PalindromeConfig",
            "sgtk.tasks.palindrome:PalindromeTask",
            "palindrome.toml",
            "test_accuracy",
            True,
            "test accuracy (fraction correct)",
            by_length=True,
            protocols=("fair", "assignment"),
        ),
        TaskSpec(
            "text",
            "character language model on any UTF-8 text",
            "sgtk.tasks.text_config:TextConfig",
            "sgtk.tasks.text:TextTask",
            "text.toml",
            "test_bpc",
            False,
            "test bits per character",
            tables=("heldout_bpc",),  # nanoGPT's "val": the whole last 10 % of the text
            data_key="text_data",
        ),
        TaskSpec(
            "molecules",
            "molecular property regression from SMILES",
            "sgtk.tasks.molecule_config:MoleculeConfig",
            "sgtk.tasks.molecules:MoleculeTask",
            "molecules.toml",
            "test_rmse",
            False,
            "test RMSE (target units)",
            sequence_graph=False,
            edge_features=True,
            data_key="molecule_data",
        ),
        TaskSpec(
            "neighbors-match",
            "Tree-NeighborsMatch (Alon & Yahav 2021): over-squashing on a tree of depth r",
            "sgtk.tasks.neighbors_match_config:NeighborsMatchConfig",
            "sgtk.tasks.neighbors_match:NeighborsMatchTask",
            "neighbors-match.toml",
            "train_accuracy",  # what the paper plots: over-squashing is a failure to fit
            True,
            "train accuracy (fraction of training examples fitted)",
            sequence_graph=False,
            tables=("test_accuracy",),
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


def models_for(task: str) -> tuple[str, ...]:
    """The model names ``task`` takes, in registry order."""
    return get_task(task).models()


def check_model(name: str, task: str) -> models.ModelSpec:
    """The spec of ``name`` on ``task``, or a one-line error listing the task's choices."""
    choices = models_for(task)
    if name not in choices:
        raise SgtkError(f"unknown model {name!r} for {task}: choose one of {', '.join(choices)}")
    return models.REGISTRY[name]


def check_graph(graph: str, name: str, task: str) -> str:
    """Validate ``graph`` for model ``name`` on ``task``; returns the graph to build."""
    sequence = get_task(task).sequence_graph
    where = f"{task} with {name}" if sequence else task
    return models.resolve_graph(graph, check_model(name, task), sequence, where)


HEADER = ("model", "family", "implementation", "reads", "tasks", "graphs", "what it is")


def model_rows() -> list[tuple[str, ...]]:
    """The model table as strings, one row per model, in the order of :data:`HEADER`."""
    takes = {name: spec.models() for name, spec in TASK_REGISTRY.items()}
    return [
        (
            s.name,
            s.family,
            s.implementation,
            s.reads,
            ", ".join(task for task, names in takes.items() if s.name in names),
            models.graph_column(s),
            s.summary,
        )
        for s in models.REGISTRY.values()
    ]


def markdown_table() -> str:
    """The README's model table (a test checks that the README holds exactly this)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join((f"`{r[0]}`", *r[1:])) + " |" for r in model_rows()]
    return "\n".join(lines) + "\n"
