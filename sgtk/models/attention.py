"""Attention as message passing: pre-norm transformer blocks over an explicit edge list.

On the ``complete`` causal graph each node attends to every earlier node, which is a GPT
decoder (Radford et al. 2018) written as a graph network; on any other graph it is sparse
attention over that graph's neighbours. Attention is PyG's ``TransformerConv`` (Shi et al.
2021, "Masked label prediction"); positions enter as sinusoidal features added to the input
(Vaswani et al. 2017), since attention alone cannot tell positions apart.

On a complete graph (causal, or both ways as for SMILES) message passing would move T² messages
per sequence; there the same weights run as dense ``F.scaled_dot_product_attention`` over
``[B, heads, T, C]`` instead (fused kernels on CPU and CUDA). The graphs have no self-loops: on
the causal one node t attends to nodes 0..t-1 and node 0 hears nothing, so queries 1..T-1
attend causally to keys 0..T-2 (the fused causal kernel, no mask) and node 0's message is
zero. Ragged batches and the two-way graph take a boolean mask.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Batch
from torch_geometric.nn import TransformerConv
from torch_geometric.utils import to_dense_batch

from sgtk.graphs.builders import Layout, complete_layout
from sgtk.graphs.views import node_positions
from sgtk.nn import positional_encoding


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

    def forward(self, h: Tensor, edge_index: Tensor, dense: DensePlan | None = None) -> Tensor:
        """With ``dense``, ``edge_index`` is a complete graph and attention runs dense."""
        x = self.norm1(h)
        att = self.attn(x, edge_index) if dense is None else dense.attend(self.attn, x)
        h = h + self.proj(att)
        return h + self.ffn(self.norm2(h))


class DensePlan:
    """Dense attention over a complete graph's :class:`Layout`; masks made once per batch."""

    def __init__(self, layout: Layout, batch: Batch):
        self.layout = layout
        b, t = layout.num_graphs, layout.length
        self.node_mask: Tensor | None = None
        self.allowed: Tensor | None = None
        self.empty: Tensor | None = None
        self.shifted = layout.directed and layout.lengths is None
        if self.shifted:
            return
        self.batch = batch.batch
        pos = torch.arange(t, device=batch.ptr.device)
        allowed = pos[None, :] != pos[:, None]  # [query, key]: no self-loops
        if layout.directed:
            allowed = allowed & (pos[None, :] < pos[:, None])
        allowed = allowed.expand(b, t, t)
        if layout.lengths is not None:
            allowed = allowed & (pos < layout.lengths[:, None])[:, None, :]
        # A query with no key (node 0 of a one-node sequence, padding) would be a softmax
        # over nothing: NaN. It gets every key, and its output is zeroed, as message passing
        # leaves a node without incoming edges at zero.
        self.empty = ~allowed.any(-1)
        self.allowed = (allowed | self.empty[..., None])[:, None]

    def attend(self, conv: TransformerConv, x: Tensor) -> Tensor:
        """What ``conv(x, edge_index)`` gives on the complete graph of :attr:`layout`."""
        heads, c = conv.heads, conv.out_channels
        b, t = self.layout.num_graphs, self.layout.length
        # One GEMM for the three projections; the weights stay TransformerConv's own.
        weight = torch.cat([conv.lin_query.weight, conv.lin_key.weight, conv.lin_value.weight])
        bias = torch.cat([conv.lin_query.bias, conv.lin_key.bias, conv.lin_value.bias])
        qkv = F.linear(x, weight, bias)
        if self.layout.lengths is None:
            qkv = qkv.view(b, t, 3 * heads * c)
        else:
            qkv, self.node_mask = to_dense_batch(qkv, self.batch, batch_size=b, max_num_nodes=t)
        q, k, v = qkv.view(b, t, 3, heads, c).permute(2, 0, 3, 1, 4).unbind(0)  # [B, h, T, C]
        dropout = conv.dropout if conv.training else 0.0
        if self.shifted:
            out = F.scaled_dot_product_attention(
                q[:, :, 1:], k[:, :, :-1], v[:, :, :-1], dropout_p=dropout, is_causal=True
            )
            out = F.pad(out, (0, 0, 1, 0))  # node 0 has no incoming edge: its message is zero
        else:
            out = F.scaled_dot_product_attention(q, k, v, self.allowed, dropout_p=dropout)
            out = out.masked_fill(self.empty[:, None, :, None], 0.0)  # type: ignore[index]
        out = out.transpose(1, 2).reshape(b, t, heads * c)
        return out.reshape(b * t, -1) if self.node_mask is None else out[self.node_mask]


def _dense_ok(conv: TransformerConv) -> bool:
    # The dense path covers the configuration GraphTransformerBlock builds, nothing more.
    return conv.concat and conv.lin_edge is None and conv.lin_beta is None and not conv.root_weight


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
        layout = complete_layout(batch, edge_index)
        dense = None
        if layout is not None and all(_dense_ok(b.attn) for b in self.blocks):
            dense = DensePlan(layout, batch)
        h = self.inp(x)
        seq_len = getattr(batch, "seq_len", None)
        if seq_len is not None:  # T positions' features broadcast over the batch
            pe = positional_encoding(torch.arange(seq_len, device=h.device), self.hidden)
            h = (h.view(-1, seq_len, self.hidden) + pe.to(x.dtype)).view(-1, self.hidden)
        else:
            h = h + positional_encoding(node_positions(batch), self.hidden).to(x.dtype)
        for block in self.blocks:
            h = block(h, edge_index, dense)
        return self.norm(h)


def build(name: str, in_features: int, hidden: int, layers: int = 2, **_) -> GraphTransformer:
    return GraphTransformer(in_features, hidden, layers)
