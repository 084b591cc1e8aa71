"""Tree-NeighborsMatch's settings and their checks, torch-free: the task's config checks them
before ``--help`` or a run loads torch, and the dataset checks them again from Python."""

from __future__ import annotations

from sgtk.errors import ConfigError

MAX_DEPTH = 8
GRAPHS = ("tree", "complete")


def check_depth(depth: int) -> None:
    if not 1 <= depth <= MAX_DEPTH:
        raise ConfigError(
            "depth", f"depth {depth} is out of range: a tree of depth 1 to {MAX_DEPTH}"
        )


def check_layout(graph: str, train_fraction: float) -> None:
    """The graph the models read and the share of examples that train."""
    if graph not in GRAPHS:
        raise ConfigError("graph", f"unknown graph {graph!r}: choose one of {', '.join(GRAPHS)}")
    if not 0 < train_fraction < 1:
        raise ConfigError("train_fraction", f"train_fraction {train_fraction} must be in (0, 1)")
