"""What a task tells a compare sweep: how it builds a run, what every run shares, its splits.

The sweep (``sgtk.experiments``) knows no task by name: it asks the task's class these
questions through the task registry's row. A new task subclasses :class:`SweepHooks` beside
:class:`sgtk.train.task.Task`, overrides ``sweep_values`` and ``split_sizes``, and keeps the
defaults of the rest where they fit.
"""

from __future__ import annotations

from typing import Any


class SweepHooks:
    """The sweep's questions to a task, with the answers most tasks give."""

    @classmethod
    def sweep_values(cls, sweep: Any, run: Any, hidden: int) -> dict[str, Any]:
        """The task config keys ``sweep`` sets for ``run`` (a ``RunSpec``) at ``hidden``
        units; the task's ``configs/`` file gives the rest."""
        raise NotImplementedError(f"{cls.__name__} cannot be swept: it has no sweep_values")

    @classmethod
    def for_sweep(cls, config: Any, shared: Any) -> Any:
        """The task of one run from its config and ``shared`` (what :meth:`load_shared`
        returned for the whole sweep)."""
        return cls(config)  # type: ignore[call-arg]

    @classmethod
    def load_shared(cls, sweep: Any) -> Any:
        """What every run of the sweep reads, loaded once (a corpus, a molecule set)."""
        return None

    def split_sizes(self) -> dict[str, int]:
        """``n_train``, ``n_val`` and ``n_test`` of the run's data, for its row."""
        raise NotImplementedError(f"{type(self).__name__} reports no split sizes")

    def split_seed(self) -> int | None:
        """The seed that draws this run's split where each seed splits anew; None where
        every seed of the sweep shares one split (then LR pilots are shared too)."""
        return None

    def cannot_reach(self) -> bool:
        """Whether the model can never see the input the answer depends on (at chance by
        construction): the sweep then trains it for its short budget only."""
        return False

    def init_label(self) -> str:
        """The recurrent initialisation the run used, as its row records it."""
        return "default"

    @staticmethod
    def derived_metrics(row: dict[str, Any]) -> dict[str, Any]:
        """Figures a row of an older version lacks and that follow from those it has."""
        return {}
