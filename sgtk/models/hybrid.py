"""Hybrids of a recurrent cell and a graph network (a GNN combined with an RNN), both orders.

``lstm-gcn``: the LSTM reads the sequence first, then GCN layers mix its node states over
the graph, so each node sees its own causal summary plus its graph neighbours' summaries.
``gcn-lstm``: GCN layers first build local n-gram features, then the LSTM reads them in order.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch

from sgtk.models import registry
from sgtk.models.graph_nets import GraphConvStack
from sgtk.models.recurrent import Recurrent
from sgtk.nn import GCNLayer


class LSTMThenGCN(nn.Module):
    def __init__(self, in_features: int, hidden: int, layers: int, init: str, t_max: int):
        super().__init__()
        self.lstm = Recurrent("lstm", in_features, hidden, 1, init, t_max)
        self.convs = nn.ModuleList(GCNLayer(hidden, hidden) for _ in range(layers))

    def forward(self, batch: Batch, x: Tensor, edge_index: Tensor | None = None) -> Tensor:
        edge_index = batch.edge_index if edge_index is None else edge_index
        h = self.lstm(batch, x)
        for conv in self.convs:
            h = h + torch.relu(conv(h, edge_index))
        return h


class GCNThenLSTM(nn.Module):
    def __init__(self, in_features: int, hidden: int, layers: int, init: str, t_max: int):
        super().__init__()
        self.gcn = GraphConvStack("gcn", in_features, hidden, layers)
        self.lstm = Recurrent("lstm", hidden, hidden, 1, init, t_max)

    def forward(self, batch: Batch, x: Tensor, edge_index: Tensor | None = None) -> Tensor:
        return self.lstm(batch, self.gcn(batch, x, edge_index))


def build(
    name: str,
    in_features: int,
    hidden: int,
    layers: int = 2,
    init: str = "xavier",
    t_max: int = 100,
    **_,
) -> nn.Module:
    init = registry.check_init(init, name)  # the LSTM's: xavier, forget or chrono
    return registry.get(name).block_class()(in_features, hidden, layers, init, t_max)
