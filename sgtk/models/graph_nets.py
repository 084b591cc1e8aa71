"""Graph backbones: k rounds of message passing over ``edge_index``, a k-hop receptive field.

``gcn`` (hand-written GCNLayer), ``pyg-gcn`` (GCNConv), ``gat`` (GATv2Conv), ``gin``
(GINConv), ``gine`` (GINEConv, reading bond features) and ``ggnn`` (GatedGraphConv).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch
from torch_geometric.nn import GatedGraphConv, GATv2Conv, GCNConv, GINConv, GINEConv
from torch_geometric.utils.smiles import e_map

from sgtk.models import registry
from sgtk.nn import GCNLayer


class BondEncoder(nn.Module):
    """Sum of one embedding per categorical bond feature of ``from_smiles`` (type, stereo,
    conjugation), the edge twin of the molecules task's ``AtomEncoder``."""

    def __init__(self, dim: int):
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(len(v), dim) for v in e_map.values())

    def forward(self, edge_attr: Tensor) -> Tensor:
        return sum(emb(edge_attr[:, i]) for i, emb in enumerate(self.embeddings))


def _mlp(hidden: int) -> nn.Module:
    return nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))


# Each graph model's registry row names its layer here (``block``): (hidden) -> module.
def gcn_layer(hidden: int) -> nn.Module:
    return GCNLayer(hidden, hidden)


def pyg_gcn_layer(hidden: int) -> nn.Module:
    return GCNConv(hidden, hidden)


def gat_layer(hidden: int) -> nn.Module:
    heads = 4 if hidden % 4 == 0 else 1
    return GATv2Conv(hidden, hidden // heads, heads=heads)


def gin_layer(hidden: int) -> nn.Module:
    return GINConv(_mlp(hidden), train_eps=True)


def gine_layer(hidden: int) -> nn.Module:
    return GINEConv(_mlp(hidden), train_eps=True)


def ggnn_block(hidden: int, layers: int) -> nn.Module:
    """All k rounds in one module: its GRU node update already carries the residual path."""
    return GatedGraphConv(hidden, layers)


class GraphConvStack(nn.Module):
    """k graph convolutions with ReLU and residual connections: a k-hop receptive field.

    Returns node embeddings [N, hidden]. ``ggnn`` is one ``GatedGraphConv`` of k rounds
    instead: its GRU node update already carries the residual path.
    """

    def __init__(self, conv: str, in_features: int, hidden: int, layers: int):
        super().__init__()
        spec = registry.get(conv)
        self.conv, self.one_block = conv, spec.one_block
        self.inp = nn.Linear(in_features, hidden)
        make = spec.block_class()
        if spec.one_block:
            self.convs = nn.ModuleList([make(hidden, layers)])
        else:
            self.convs = nn.ModuleList(make(hidden) for _ in range(layers))
        self.bonds = BondEncoder(hidden) if spec.bond_features else None

    def forward(self, batch: Batch, x: Tensor, edge_index: Tensor | None = None) -> Tensor:
        edge_index = batch.edge_index if edge_index is None else edge_index
        h = self.inp(x)
        if self.one_block:
            return self.convs[0](h, edge_index)
        extra = {"edge_attr": self.bonds(batch.edge_attr)} if self.bonds is not None else {}
        for conv in self.convs:
            h = h + torch.relu(conv(h, edge_index, **extra))
        return h


def build(name: str, in_features: int, hidden: int, layers: int = 2, **_) -> GraphConvStack:
    return GraphConvStack(name, in_features, hidden, layers)
