"""One predictor for every task: an encoder, a backbone from the registry, a readout, a head.

Every model reads the same ``Batch``. Recurrent backbones read each graph's nodes in position
order; graph, attention and hybrid backbones propagate over an edge set: the batch's own
(``graph=None``: molecular bonds, or the view's path) or a sequence graph from
:mod:`sgtk.graphs.builders` (``path``, ``window:K``, ``dilated``, ``complete``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch

from sgtk.graphs.builders import sequence_edges
from sgtk.graphs.views import node_positions
from sgtk.models import registry
from sgtk.models.graph_nets import GraphConvStack  # noqa: F401  (its historical home)
from sgtk.nn import positional_encoding, readout


class Predictor(nn.Module):
    """``encoder -> backbone -> readout -> head``: [num_graphs, out_features] from a ``Batch``.

    Args:
        model: a registry name (``sgtk models`` lists them).
        in_features: node feature size after ``encoder`` (or of ``batch.x`` without one).
        encoder: maps ``batch.x`` to float node features (an embedding for tokens or atoms).
        pos_dim: non-recurrent models: append sinusoidal position features of this size.
        init: cell initialisation (``xavier``, ``orthogonal`` for the RNN; ``chrono`` or
            ``forget`` for the LSTM).
        layers: message-passing rounds of graph, attention and hybrid models (recurrent
            models here have one layer).
        graph: the sequence graph to propagate over, or ``None`` for the batch's own edges.
        directed: causal sequence graph (edges from earlier to later positions only).
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
        graph: str | None = None,
        directed: bool = True,
    ):
        super().__init__()
        spec = registry.get(model)
        self.model = model
        self.recurrent = spec.family == "recurrent"
        self.encoder = encoder if encoder is not None else nn.Identity()
        self.pos_dim = 0 if self.recurrent else pos_dim
        self.graph, self.directed = graph, directed
        self.backbone = spec.build(
            in_features + self.pos_dim,
            hidden,
            1 if self.recurrent else layers,
            init=init,
            t_max=t_max,
        )
        self.readout = "last" if spec.final_state else readout
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, out_features)  # p = W_ph h + b_p

    def edges(self, batch: Batch) -> Tensor | None:
        if self.recurrent:
            return None
        if self.graph is None:
            return batch.edge_index
        return sequence_edges(batch, self.graph, self.directed)

    def forward(self, batch: Batch) -> Tensor:
        x = self.encoder(batch.x)
        if self.pos_dim:
            x = torch.cat([x, positional_encoding(node_positions(batch), self.pos_dim)], -1)
        h = self.backbone(batch, x, self.edges(batch))
        return self.head(self.dropout(readout(h, batch, self.readout)))
