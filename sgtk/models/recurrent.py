"""Recurrent backbones: hand-written RNN, LSTM and GRU cells reading each graph's nodes in order.

A recurrent cell is message passing along the causal path, one node at a time: it needs no
``edge_index``, only the position order that :func:`sgtk.graphs.views.to_sequence` gives.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch_geometric.data import Batch

from sgtk.graphs.views import from_sequence, to_sequence
from sgtk.models.registry import check_init, get


def make_cell(cell: str, in_features: int, hidden: int, init: str, t_max: int) -> nn.Module:
    """One layer of the registry's cell ``cell`` (its ``block``), with an init it can take."""
    init = check_init(init, cell)
    chrono = {"t_max": t_max} if init == "chrono" else {}  # T_max only shapes chrono's gates
    return get(cell).block_class()(in_features, hidden, init=init, **chrono)


class Recurrent(nn.Module):
    """``layers`` stacked cells over each graph's nodes; returns every node's state [N, hidden].

    The state of a graph's last node is the cell's final state h_T.
    """

    def __init__(
        self,
        cell: str,
        in_features: int,
        hidden: int,
        layers: int = 1,
        init: str = "xavier",
        t_max: int = 100,
    ):
        super().__init__()
        # `cell` keeps the one-layer checkpoints of earlier versions loadable.
        self.cell = make_cell(cell, in_features, hidden, init, t_max)
        self.more = nn.ModuleList(
            make_cell(cell, hidden, hidden, init, t_max) for _ in range(layers - 1)
        )

    def forward(self, batch: Batch, x: Tensor, edge_index: Tensor | None = None) -> Tensor:
        seq, _ = to_sequence(batch, x)
        seq, _ = self.cell(seq)
        for cell in self.more:
            seq, _ = cell(seq)
        return from_sequence(batch, seq)


def build(
    name: str,
    in_features: int,
    hidden: int,
    layers: int = 1,
    init: str = "xavier",
    t_max: int = 100,
    **_,
) -> Recurrent:
    return Recurrent(name, in_features, hidden, layers, init, t_max)
