"""Attention as message passing: pre-norm transformer blocks over an explicit edge list.

On the ``complete`` causal graph each node attends to every earlier node, which is a GPT
decoder (Radford et al. 2018) written as a graph network; on any other graph it is sparse
attention over that graph's neighbours. Attention is PyG's ``TransformerConv`` (Shi et al.
2021, "Masked label prediction"); positions enter as sinusoidal features added to the input
(Vaswani et al. 2017), since attention alone cannot tell positions apart.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch_geometric.data import Batch
from torch_geometric.nn import TransformerConv

from sgtk.nn import positional_encoding
from sgtk.views import node_positions


def num_heads(hidden: int) -> int:
    return 4 if hidden % 4 == 0 else 1


class _NoSkip(nn.Identity):
    def reset_parameters(self) -> None:
        pass


class GraphTransformerBlock(nn.Module):
    """h + W_o attn(LN h) over ``edge_index``, then h + FFN(LN h) with a 4x GELU MLP."""

    def __init__(self, hidden: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden)
        # root_weight=False: the residual stream already carries the node's own state.
        self.attn = TransformerConv(
            hidden, hidden // heads, heads=heads, root_weight=False, dropout=dropout
        )
        # PyG builds lin_skip even without root_weight: dead weights would inflate the
        # parameter count that compare matches budgets on.
        self.attn.lin_skip = _NoSkip()
        self.proj = nn.Linear(hidden, hidden)
        self.norm2 = nn.LayerNorm(hidden)
        self.ffn = nn.Sequential(
            nn.Linear(hidden, 4 * hidden), nn.GELU(), nn.Linear(4 * hidden, hidden)
        )

    def forward(self, h: Tensor, edge_index: Tensor) -> Tensor:
        h = h + self.proj(self.attn(self.norm1(h), edge_index))
        return h + self.ffn(self.norm2(h))


class GraphTransformer(nn.Module):
    """``layers`` transformer blocks over ``edge_index``; node states [N, hidden]."""

    def __init__(self, in_features: int, hidden: int, layers: int, heads: int | None = None):
        super().__init__()
        self.hidden = hidden
        self.inp = nn.Linear(in_features, hidden)
        heads = heads or num_heads(hidden)
        self.blocks = nn.ModuleList(GraphTransformerBlock(hidden, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(hidden)

    def forward(self, batch: Batch, x: Tensor, edge_index: Tensor | None = None) -> Tensor:
        edge_index = batch.edge_index if edge_index is None else edge_index
        h = self.inp(x) + positional_encoding(node_positions(batch), self.hidden).to(x.dtype)
        for block in self.blocks:
            h = block(h, edge_index)
        return self.norm(h)


def build(name: str, in_features: int, hidden: int, layers: int = 2, **_) -> GraphTransformer:
    return GraphTransformer(in_features, hidden, layers)
