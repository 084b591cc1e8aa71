"""One run of a compare sweep (:class:`RunSpec`), its name, and how its depth is chosen."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sgtk.tasks.registry import get_task


def has_depth(model: str) -> bool:
    """Whether ``--layers`` sets the model's depth (its reach in hops)."""
    from sgtk.models.registry import uses_layers

    return uses_layers(model)


def auto_depth(model: str, graph: str, length: int) -> int:
    """``--layers auto``: the fewest rounds after which the last of the T-1 input nodes has
    heard from the first (path T-2, window:K ceil((T-2)/K), dilated ceil(log2 T)+1, capped at
    T-2). Complete: 2, since one round of averaging over every earlier node is a bag of
    digits; a second lets GCN's degree weights tell positions apart. A hybrid's LSTM already
    reaches every node, so it gets one graph round."""
    from sgtk.graphs.spec import parse_graph
    from sgtk.models.registry import get

    path = max(length - 2, 1)
    kind, k = parse_graph(graph)
    if get(model).family == "hybrid":
        return 1
    if kind == "window":
        return max(math.ceil(path / k), 1)
    if kind == "dilated":
        return min(math.ceil(math.log2(length)) + 1, path)
    if kind == "complete":
        return min(2, path)
    return path


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: the model, the graph it runs on (for a task whose models read their
    own view of the data, that view), its label in tables, the length (0: not swept by
    length), depth (0: a model without one), seed and folder name."""

    model: str
    graph: str
    label: str
    length: int = 0
    layers: int = 0
    seed: int = 0
    name: str = ""

    def key(self) -> tuple[str, int, int]:
        """What the runs sharing a hidden size and LR have in common (all but the seed)."""
        return (self.label, self.length, self.layers)


def parse_entry(entry: str, graph: str, task: str) -> RunSpec:
    """One ``--models`` entry: ``gcn`` (on ``--graph``) or ``gcn@dilated``, checked against
    the registry, as a RunSpec without length, depth and seed. Its graph is resolved from
    ``auto`` (where the task's models read their own view of the data, that view) and its
    label is the model, with ``@graph`` when that is not the model's own graph. Recurrent
    cells walk the sequence: ``--graph`` passes them by."""
    from sgtk.tasks.registry import check_graph, check_model

    model, at, own = (part.strip() for part in entry.partition("@"))
    spec = check_model(model, task)
    if not at and spec.family == "recurrent":
        own = "auto"
    resolved = check_graph(own if at else (own or graph), model, task)
    if not get_task(task).sequence_graph:
        view = {"graph": "bonds", "sequence": "smiles"}[str(spec.native_view)]
        return RunSpec(model, view, model)
    label = model if resolved == spec.default_graph else f"{model}@{resolved}"
    return RunSpec(model, resolved, label)


def run_name(label: str, length: int, layers: int, seed: int) -> str:
    """``gcn-T25-k23-s0``; a model off its own graph adds it: ``gcn-dilated-T25-k6-s0``."""
    slug = label.replace("@", "-").replace(":", "")
    return f"{slug}-T{length}-k{layers}-s{seed}"
