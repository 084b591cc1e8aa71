"""The one table of models: family, builder, inputs read, tasks and graphs each supports.

Tasks, ``compare``, the CLI's choices and ``--help``, ``sgtk models`` and the README's model
table all read this table. It imports no torch: builders are import paths, loaded on use, so
``sgtk --help`` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from sgtk.errors import SgtkError

TASKS = ("palindrome", "text", "molecules")
FAMILIES = ("recurrent", "graph", "attention", "hybrid")
SEQUENCE_TASKS = ("palindrome", "text")
ALL_GRAPHS = ("path", "window:K", "dilated", "complete")
# Builders of a backbone: (name, in_features, hidden, layers, **options) -> nn.Module that maps
# (batch, node features [N, in], edge_index) to node states [N, hidden].
_RECURRENT = "sgtk.models.recurrent:build"
_GRAPH = "sgtk.models.graph_nets:build"
_ATTENTION = "sgtk.models.attention:build"
_HYBRID = "sgtk.models.hybrid:build"
_GN = "sgtk.models.graph_nets:"


@dataclass(frozen=True)
class ModelSpec:
    """One row of the registry.

    ``graphs``: the ``--graph`` values the model can use on sequence tasks (``auto`` is always
    allowed and means ``default_graph``). ``molecule_view``: which view of a molecule it reads,
    ``graph`` (atoms and bonds) or ``smiles`` (the SMILES token sequence). ``final_state``: the
    output is a recurrent cell's last state, so the readout is always the last node.

    What tasks and builders ask of a model is a field here, never a test of its name:
    ``init`` is what ``--init auto`` gives it; ``carries_state``: its text model is a
    recurrent LM with ``forward_tokens(tokens, state)`` (nn.LSTM inside), which can carry its
    state across windows; ``block``: the layer a family's builder stacks (a graph
    convolution ``(hidden) -> Module``) or the class it builds (a hybrid); ``bond_features``:
    it reads ``edge_attr``; ``one_block``: one module runs all k rounds (GatedGraphConv);
    ``pos_dim``: position features it is given on the SMILES path, having no order of its own.
    """

    name: str
    family: str
    implementation: str
    reads: str
    tasks: tuple[str, ...]
    builder: str
    summary: str
    graphs: tuple[str, ...] = ("path",)
    default_graph: str = "path"
    molecule_view: str | None = None
    final_state: bool = False
    backbone: str | None = None  # the model it builds, when it is another's alias
    init: str = "xavier"
    carries_state: bool = False
    block: str | None = None
    bond_features: bool = False
    one_block: bool = False
    pos_dim: int = 0

    def block_class(self) -> Any:
        """The object ``block`` names (imported on use: this module imports no torch)."""
        if self.block is None:
            raise SgtkError(f"model {self.name!r} names no block: check its registry row")
        module, attr = self.block.split(":")
        return getattr(import_module(module), attr)

    def build(self, *args: Any, **kwargs: Any) -> Any:
        module, attr = self.builder.split(":")
        return getattr(import_module(module), attr)(self.backbone or self.name, *args, **kwargs)


_SEQ = SEQUENCE_TASKS
_ALL = TASKS
_HAND, _PYG = "hand-written", "PyG"

REGISTRY: dict[str, ModelSpec] = {
    s.name: s
    for s in (
        ModelSpec("rnn", "recurrent", _HAND, "sequence", ("palindrome", "molecules"), _RECURRENT,
                  "Elman RNN (Elman 1990)", molecule_view="smiles", final_state=True,
                  init="orthogonal"),
        ModelSpec("lstm", "recurrent", _HAND, "sequence", _ALL, _RECURRENT,
                  "LSTM (Hochreiter & Schmidhuber 1997); nn.LSTM for text", molecule_view="smiles",
                  final_state=True, init="chrono", carries_state=True),
        ModelSpec("gru", "recurrent", _HAND, "sequence", _ALL, _RECURRENT,
                  "GRU (Cho et al. 2014)", molecule_view="smiles", final_state=True),
        ModelSpec("gcn", "graph", _HAND, "edge_index", _ALL, _GRAPH,
                  "GCNLayer stack (Kipf & Welling 2017)", ALL_GRAPHS, molecule_view="graph",
                  block=_GN + "gcn_layer"),
        ModelSpec("pyg-gcn", "graph", _PYG, "edge_index", _ALL, _GRAPH,
                  "GCNConv stack", ALL_GRAPHS, molecule_view="graph", block=_GN + "pyg_gcn_layer"),
        ModelSpec("gcn-smiles", "graph", _HAND, "edge_index + positions", ("molecules",),
                  _GRAPH, "GCNLayer stack on the SMILES path graph", molecule_view="smiles",
                  backbone="gcn", pos_dim=16),
        ModelSpec("gat", "graph", _PYG, "edge_index", _ALL, _GRAPH,
                  "GATv2Conv stack (Brody et al. 2022)", ALL_GRAPHS, molecule_view="graph",
                  block=_GN + "gat_layer"),
        ModelSpec("gin", "graph", _PYG, "edge_index", _ALL, _GRAPH,
                  "GINConv stack (Xu et al. 2019)", ALL_GRAPHS, molecule_view="graph",
                  block=_GN + "gin_layer"),
        ModelSpec("gine", "graph", _PYG, "edge_index + edge_attr", ("molecules",), _GRAPH,
                  "GINEConv stack with bond features (Hu et al. 2020)", molecule_view="graph",
                  block=_GN + "gine_layer", bond_features=True),
        ModelSpec("ggnn", "graph", _PYG, "edge_index", _ALL, _GRAPH,
                  "GatedGraphConv: a GRU as node update (Li et al. 2016)", ALL_GRAPHS,
                  molecule_view="graph", block=_GN + "ggnn_block", one_block=True),
        ModelSpec("transformer", "attention", _PYG, "edge_index + positions", _ALL, _ATTENTION,
                  "TransformerConv blocks (Shi et al. 2021), sinusoidal positions",
                  ALL_GRAPHS, default_graph="complete", molecule_view="smiles"),
        ModelSpec("lstm-gcn", "hybrid", _HAND, "sequence + edge_index", _SEQ, _HYBRID,
                  "GCN layers over LSTM node states", ALL_GRAPHS, init="chrono",
                  block="sgtk.models.hybrid:LSTMThenGCN"),
        ModelSpec("gcn-lstm", "hybrid", _HAND, "edge_index + sequence", _SEQ, _HYBRID,
                  "LSTM over GCN node embeddings", ALL_GRAPHS, final_state=True, init="chrono",
                  block="sgtk.models.hybrid:GCNThenLSTM"),
    )
}  # fmt: skip


def models_for(task: str) -> tuple[str, ...]:
    """The model names ``task`` supports, in registry order."""
    if task not in TASKS:
        raise SgtkError(f"unknown task {task!r}: choose one of {', '.join(TASKS)}")
    return tuple(name for name, spec in REGISTRY.items() if task in spec.tasks)


def check_model(name: str, task: str) -> ModelSpec:
    """The spec of ``name`` on ``task``, or a one-line error listing the task's choices."""
    choices = models_for(task)
    if name not in choices:
        raise SgtkError(f"unknown model {name!r} for {task}: choose one of {', '.join(choices)}")
    return REGISTRY[name]


def get(name: str) -> ModelSpec:
    if name not in REGISTRY:
        raise SgtkError(f"unknown model {name!r}: choose one of {', '.join(REGISTRY)}")
    return REGISTRY[name]


def uses_layers(name: str) -> bool:
    """Whether ``--layers`` sets the model's depth in message-passing rounds (its reach)."""
    return get(name).family != "recurrent"


def model_help(task: str) -> str:
    """``--model`` help text for a task, built from the table."""
    return "One of " + ", ".join(models_for(task)) + " (see `sgtk models`)."


def graphs_for(name: str, task: str) -> tuple[str, ...]:
    """The ``--graph`` values ``name`` accepts on ``task`` (``auto`` first)."""
    spec = check_model(name, task)
    if task not in SEQUENCE_TASKS:
        return ("auto",)  # molecules: the molecular graph, or the SMILES model's own graph
    return ("auto", *spec.graphs)


def check_graph(graph: str, name: str, task: str) -> str:
    """Validate ``graph`` for model ``name`` on ``task``; returns the graph to build.

    ``auto`` resolves to the model's default graph. A value the model cannot use gives one
    line listing the values it can.
    """
    from sgtk.graphs.spec import parse_graph  # torch-free: a config is checked before torch

    kind, _ = parse_graph(graph)
    allowed = graphs_for(name, task)
    pattern = "window:K" if kind == "window" else kind
    if graph != "auto" and pattern not in allowed:
        where = "molecules" if task == "molecules" else f"{task} with {name}"
        raise SgtkError(
            f"--graph {graph} does not apply to {where}: choose one of {', '.join(allowed)}"
        )
    return REGISTRY[name].default_graph if graph == "auto" else graph


def _graph_column(spec: ModelSpec) -> str:
    if set(spec.tasks) & set(SEQUENCE_TASKS):
        return ", ".join(spec.graphs)
    return "bonds" if spec.molecule_view == "graph" else "SMILES path"


def rows() -> list[tuple[str, ...]]:
    """The table as strings: name, family, implementation, reads, tasks, graphs, summary."""
    return [
        (
            s.name,
            s.family,
            s.implementation,
            s.reads,
            ", ".join(s.tasks),
            _graph_column(s),
            s.summary,
        )
        for s in REGISTRY.values()
    ]


HEADER = ("model", "family", "implementation", "reads", "tasks", "--graph", "what it is")


def markdown_table() -> str:
    """The README's model table (a test checks that the README holds exactly this)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join((f"`{r[0]}`", *r[1:])) + " |" for r in rows()]
    return "\n".join(lines) + "\n"
