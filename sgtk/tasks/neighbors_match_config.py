"""The Tree-NeighborsMatch task's settings (``[task]`` of ``sgtk train neighbors-match``),
torch-free so ``--help`` builds its options without loading torch."""

from __future__ import annotations

from dataclasses import dataclass, field

from sgtk.data.tree_settings import GRAPHS, MAX_DEPTH, check_depth, check_layout  # noqa: F401
from sgtk.errors import ConfigError
from sgtk.tasks.registry import check_model


@dataclass
class NeighborsMatchConfig:
    model: str = field(default="gcn", metadata={"help": "The model (see `sgtk models`)."})
    depth: int = field(
        default=3, metadata={"help": "Tree depth r (1-8): 2^r leaves, r hops to the root."}
    )
    layers: int = field(
        default=0, metadata={"help": "Message-passing layers (0: depth + 1, the paper's)."}
    )
    hidden: int = field(default=32, metadata={"help": "Hidden units (the paper's 32)."})
    graph: str = field(
        default="tree",
        metadata={"help": "tree (the paper's) or complete (rewired: every node one hop away)."},
    )
    directed: bool = True  # tree edges child -> parent only, as the paper's code
    data_seed: int = field(
        default=0, metadata={"help": "Seed of the label permutations and the train/test split."}
    )
    train_fraction: float = 0.8  # the paper's train/test split, stratified by label

    def validate(self) -> None:
        check_depth(self.depth)
        if self.layers < 0:
            raise ConfigError("layers", f"layers {self.layers} must be >= 0 (0: depth + 1)")
        if self.hidden <= 0:
            raise ConfigError("hidden", f"hidden {self.hidden} must be positive")
        check_layout(self.graph, self.train_fraction)
        check_model(self.model, "neighbors-match")

    def num_layers(self) -> int:
        """r + 1 unless given: the root must hear leaves r hops away (one layer more, as the
        paper, so each leaf's own key-label pair is combined before it travels)."""
        return self.layers or self.depth + 1

    def reads_tree(self) -> bool:
        """Models whose own view of a graph sample is its graph read the tree; the others
        (recurrent, attention over tokens) read the token sequence."""
        return check_model(self.model, "neighbors-match").native_view == "graph"
