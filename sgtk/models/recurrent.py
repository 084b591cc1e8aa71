"""Recurrent backbones: hand-written RNN, LSTM and GRU cells reading each graph's nodes in order.

A recurrent cell is message passing along the causal path, one node at a time: it needs no
``edge_index``, only the position order that :func:`sgtk.graphs.views.to_sequence` gives.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch_geometric.data import Batch

from sgtk.errors import SgtkError
from sgtk.graphs.views import from_sequence, to_sequence
from sgtk.nn import GRU, LSTM, VanillaRNN


def make_cell(cell: str, in_features: int, hidden: int, init: str, t_max: int) -> nn.Module:
    if cell == "rnn":
        return VanillaRNN(
            in_features, hidden, init="orthogonal" if init == "orthogonal" else "xavier"
        )
    if cell == "lstm":
        return LSTM(
            in_features, hidden, init=init if init != "orthogonal" else "xavier", t_max=t_max
        )
    if cell == "gru":
        return GRU(in_features, hidden, init=init, t_max=t_max)
    raise SgtkError(f"unknown recurrent cell {cell!r}: use rnn, lstm or gru")


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
