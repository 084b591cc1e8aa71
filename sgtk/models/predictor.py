"""One predictor for every task: an encoder, a recurrent or graph backbone, a readout, a head.

Every model reads the same ``Batch``. Recurrent backbones read each graph's nodes in position
order; graph backbones propagate over ``edge_index``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch
from torch_geometric.nn import GCNConv

from sgtk.errors import SgtkError
from sgtk.nn import LSTM, GCNLayer, VanillaRNN, positional_encoding, readout
from sgtk.views import node_positions, to_sequence

RECURRENT = ("rnn", "lstm")
GRAPH = ("gcn", "pyg-gcn")
MODELS = RECURRENT + GRAPH


def check_sizes(hidden: int, layers: int) -> None:
    if hidden <= 0 or layers <= 0:
        raise SgtkError(f"--hidden {hidden} and --layers {layers} must be positive")


def check_model(name: str, allowed: tuple[str, ...] = MODELS) -> str:
    if name not in allowed:
        raise SgtkError(f"unknown model {name!r}: choose one of {', '.join(allowed)}")
    return name


class Recurrent(nn.Module):
    """A hand-written RNN or LSTM over each graph's nodes; one state per graph (its last)."""

    def __init__(self, cell: str, in_features: int, hidden: int, init: str, t_max: int):
        super().__init__()
        if cell == "rnn":
            self.cell = VanillaRNN(
                in_features, hidden, init="orthogonal" if init == "orthogonal" else "xavier"
            )
        else:
            self.cell = LSTM(
                in_features, hidden, init=init if init != "orthogonal" else "xavier", t_max=t_max
            )

    def forward(self, batch: Batch, x: Tensor) -> Tensor:
        seq, lengths = to_sequence(batch, x)
        hs, _ = self.cell(seq)
        return hs[torch.arange(hs.shape[0], device=hs.device), lengths - 1]


class GraphConvStack(nn.Module):
    """k graph convolutions with ReLU and residual connections: a k-hop receptive field.

    Returns node embeddings [N, hidden]; ``conv`` is ``gcn`` (GCNLayer) or ``pyg-gcn``.
    """

    def __init__(self, conv: str, in_features: int, hidden: int, layers: int):
        super().__init__()
        make = GCNLayer if conv == "gcn" else GCNConv
        self.inp = nn.Linear(in_features, hidden)
        self.convs = nn.ModuleList(make(hidden, hidden) for _ in range(layers))

    def forward(self, batch: Batch, x: Tensor) -> Tensor:
        h = self.inp(x)
        for conv in self.convs:
            h = h + torch.relu(conv(h, batch.edge_index))
        return h


class Predictor(nn.Module):
    """``encoder -> backbone -> head``: [num_graphs, out_features] from a ``Batch``.

    Args:
        model: ``rnn``, ``lstm`` (hand-written cells), ``gcn`` (hand-written GCNLayer) or
            ``pyg-gcn`` (PyG's GCNConv).
        in_features: node feature size after ``encoder`` (or of ``batch.x`` without one).
        encoder: maps ``batch.x`` to float node features (an embedding for tokens or atoms).
        pos_dim: graph models only: append sinusoidal position features of this size.
        init: cell initialisation (``xavier``, ``orthogonal`` for the RNN; ``chrono`` or
            ``forget`` for the LSTM).
    """

    def __init__(
        self,
        model: str,
        in_features: int,
        out_features: int,
        hidden: int = 128,
        layers: int = 2,
        readout: str = "last",
        encoder: nn.Module | None = None,
        pos_dim: int = 0,
        init: str = "xavier",
        t_max: int = 100,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.model = check_model(model)
        self.encoder = encoder if encoder is not None else nn.Identity()
        self.pos_dim = pos_dim if model in GRAPH else 0
        if model in RECURRENT:
            self.backbone = Recurrent(model, in_features, hidden, init, t_max)
        else:
            self.backbone = GraphConvStack(model, in_features + self.pos_dim, hidden, layers)
        self.readout = readout
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, out_features)  # p = W_ph h + b_p (seed eq. 2)

    def forward(self, batch: Batch) -> Tensor:
        x = self.encoder(batch.x)
        if self.pos_dim:
            x = torch.cat([x, positional_encoding(node_positions(batch), self.pos_dim)], -1)
        h = self.backbone(batch, x)
        if self.model in GRAPH:
            h = readout(h, batch, self.readout)
        return self.head(self.dropout(h))
