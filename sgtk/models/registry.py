"""The one table of models: family, builder, the inputs each reads and the graphs it runs on.

A row says what a model can read, never which tasks it serves: a task asks for the models
that read its kind of data (:func:`models_reading`), so adding a task touches no row here.
Tasks, ``compare``, the CLI's choices and ``--help``, ``sgtk models`` and the README's model
table all read this table. It imports no torch: builders are import paths, loaded on use, so
``sgtk --help`` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from sgtk.errors import SgtkError

FAMILIES = ("recurrent", "graph", "attention", "hybrid")
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

    What it can read. ``on_sequences``: it runs on a sequence task, over a graph built on the
    tokens; ``graphs`` are the ``graph`` values it can use there (``auto`` is always allowed
    and means ``default_graph``). ``native_view``: on a task whose samples are graphs (a
    molecule), which view of a sample it reads: ``graph`` (nodes and edges) or ``sequence``
    (the sample's token sequence, e.g. its SMILES); ``None``: no such task. ``bond_features``:
    it needs edge features (``edge_attr``). ``final_state``: the output is a recurrent cell's
    last state, so the readout is always the last node.

    What tasks and builders ask of a model is a field here, never a test of its name:
    ``init`` is what ``init = "auto"`` gives it, ``inits`` every init it can take (a graph
    layer keeps its own Glorot init, which ``xavier`` names); ``carries_state``: its text
    model is a recurrent LM with ``forward_tokens(tokens, state)`` (nn.LSTM inside), which
    can carry its state across windows; ``block``: the layer a family's builder stacks (a
    recurrent cell class, a graph convolution ``(hidden) -> Module``) or the class it builds
    (a hybrid); ``one_block``: one module runs all k rounds (GatedGraphConv);
    ``pos_dim``: position features it is given on the SMILES path, having no order of its own.
    """

    name: str
    family: str
    implementation: str
    reads: str
    builder: str
    summary: str
    graphs: tuple[str, ...] = ("path",)
    default_graph: str = "path"
    on_sequences: bool = True
    native_view: str | None = None
    final_state: bool = False
    backbone: str | None = None  # the model it builds, when it is another's alias
    init: str = "xavier"
    inits: tuple[str, ...] = ("xavier",)
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


_HAND, _PYG = "hand-written", "PyG"
_LSTM_INITS = ("xavier", "forget", "chrono")

REGISTRY: dict[str, ModelSpec] = {
    s.name: s
    for s in (
        ModelSpec("rnn", "recurrent", _HAND, "sequence", _RECURRENT,
                  "Elman RNN (Elman 1990)", native_view="sequence", final_state=True,
                  init="orthogonal", inits=("xavier", "orthogonal"), block="sgtk.nn:VanillaRNN"),
        ModelSpec("lstm", "recurrent", _HAND, "sequence", _RECURRENT,
                  "LSTM (Hochreiter & Schmidhuber 1997); nn.LSTM for text", native_view="sequence",
                  final_state=True, init="chrono", inits=_LSTM_INITS, carries_state=True,
                  block="sgtk.nn:LSTM"),
        ModelSpec("gru", "recurrent", _HAND, "sequence", _RECURRENT,
                  "GRU (Cho et al. 2014)", native_view="sequence", final_state=True,
                  init="chrono", inits=("xavier", "orthogonal", "chrono"), block="sgtk.nn:GRU"),
        ModelSpec("gcn", "graph", _HAND, "edge_index", _GRAPH,
                  "GCNLayer stack (Kipf & Welling 2017)", ALL_GRAPHS, native_view="graph",
                  block=_GN + "gcn_layer"),
        ModelSpec("pyg-gcn", "graph", _PYG, "edge_index", _GRAPH,
                  "GCNConv stack", ALL_GRAPHS, native_view="graph", block=_GN + "pyg_gcn_layer"),
        ModelSpec("gcn-smiles", "graph", _HAND, "edge_index + positions", _GRAPH,
                  "GCNLayer stack on the SMILES path graph", on_sequences=False,
                  native_view="sequence",
                  backbone="gcn", pos_dim=16),
        ModelSpec("gat", "graph", _PYG, "edge_index", _GRAPH,
                  "GATv2Conv stack (Brody et al. 2022)", ALL_GRAPHS, native_view="graph",
                  block=_GN + "gat_layer"),
        ModelSpec("gin", "graph", _PYG, "edge_index", _GRAPH,
                  "GINConv stack (Xu et al. 2019)", ALL_GRAPHS, native_view="graph",
                  block=_GN + "gin_layer"),
        ModelSpec("gine", "graph", _PYG, "edge_index + edge_attr", _GRAPH,
                  "GINEConv stack with bond features (Hu et al. 2020)", on_sequences=False,
                  native_view="graph",
                  block=_GN + "gine_layer", bond_features=True),
        ModelSpec("ggnn", "graph", _PYG, "edge_index", _GRAPH,
                  "GatedGraphConv: a GRU as node update (Li et al. 2016)", ALL_GRAPHS,
                  native_view="graph", block=_GN + "ggnn_block", one_block=True),
        ModelSpec("transformer", "attention", _PYG, "edge_index + positions", _ATTENTION,
                  "TransformerConv blocks (Shi et al. 2021), sinusoidal positions",
                  ALL_GRAPHS, default_graph="complete", native_view="sequence"),
        ModelSpec("lstm-gcn", "hybrid", _HAND, "sequence + edge_index", _HYBRID,
                  "GCN layers over LSTM node states", ALL_GRAPHS, init="chrono",
                  inits=_LSTM_INITS, block="sgtk.models.hybrid:LSTMThenGCN"),
        ModelSpec("gcn-lstm", "hybrid", _HAND, "edge_index + sequence", _HYBRID,
                  "LSTM over GCN node embeddings", ALL_GRAPHS, final_state=True, init="chrono",
                  inits=_LSTM_INITS, block="sgtk.models.hybrid:GCNThenLSTM"),
        ModelSpec("dmpnn", "graph", _HAND, "edge_index + edge_attr",
                  "sgtk.models.dmpnn:build",
                  "directed-bond message passing, chemprop's D-MPNN (Yang et al. 2019)",
                  on_sequences=False, native_view="graph", bond_features=True),
    )
}  # fmt: skip


def models_reading(sequence: bool, edge_features: bool = False) -> tuple[str, ...]:
    """The models, in registry order, that read a task's data: a token sequence
    (``sequence``), else graph samples, with or without edge features."""
    return tuple(
        name
        for name, spec in REGISTRY.items()
        if (spec.on_sequences if sequence else spec.native_view is not None)
        and (sequence or edge_features or not spec.bond_features)
    )


def get(name: str) -> ModelSpec:
    if name not in REGISTRY:
        raise SgtkError(f"unknown model {name!r}: choose one of {', '.join(REGISTRY)}")
    return REGISTRY[name]


def check_init(init: str, name: str) -> str:
    """``init`` for model ``name`` (``auto``: the model's own), or one line naming the inits
    it can take: an init a model cannot use is refused, never silently replaced."""
    spec = get(name)
    if init == "auto":
        return spec.init
    if init not in spec.inits:
        raise SgtkError(
            f"`init` {init!r} does not apply to {name}: choose one of auto, {', '.join(spec.inits)}"
        )
    return init


def uses_layers(name: str) -> bool:
    """Whether ``layers`` sets the model's depth in message-passing rounds (its reach)."""
    return get(name).family != "recurrent"


def graphs_of(spec: ModelSpec, sequence: bool) -> tuple[str, ...]:
    """The ``graph`` values ``spec`` accepts (``auto`` first): on graph samples only
    ``auto``, the sample's own graph (a molecule's bonds, or the model's own view)."""
    return ("auto", *spec.graphs) if sequence else ("auto",)


def resolve_graph(graph: str, spec: ModelSpec, sequence: bool, where: str) -> str:
    """Validate ``graph`` for ``spec``; returns the graph to build.

    ``auto`` resolves to the model's default graph. A value the model cannot use gives one
    line naming ``where`` it was asked for and listing the values it can use.
    """
    from sgtk.graphs.spec import parse_graph  # torch-free: a config is checked before torch

    kind, _ = parse_graph(graph)
    allowed = graphs_of(spec, sequence)
    pattern = "window:K" if kind == "window" else kind
    if graph != "auto" and pattern not in allowed:
        raise SgtkError(
            f"`graph` {graph} does not apply to {where}: choose one of {', '.join(allowed)}"
        )
    return spec.default_graph if graph == "auto" else graph


def graph_column(spec: ModelSpec) -> str:
    """What the model table shows under ``graph``."""
    if spec.on_sequences:
        return ", ".join(spec.graphs)
    return "bonds" if spec.native_view == "graph" else "SMILES path"
