"""GCNConv's graph inputs (edge_index, torch.sparse, SparseTensor) as normalised edge lists."""

from __future__ import annotations

import torch
from torch import Tensor

from sgtk.errors import SgtkError

_SPARSE = (torch.sparse_coo, torch.sparse_csr, torch.sparse_csc)


def gcn_norm(
    edge_index: Tensor,
    num_nodes: int,
    edge_weight: Tensor | None = None,
    dtype: torch.dtype = torch.float32,
    *,
    fill_value: float = 1.0,
    add_self_loops: bool = True,
    loops: str = "remaining",
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Symmetric normalisation :math:`\tilde D^{-1/2}(A + cI)\tilde D^{-1/2}`, as GCNConv does it.

    ``loops`` says what happens to self-loops already in the graph, after GCNConv's three
    inputs: ``"remaining"`` (``edge_index``) keeps their weight and adds ``fill_value`` loops
    only where a node has none; ``"add"`` (``torch.sparse``) adds ``fill_value`` on top;
    ``"replace"`` (``torch_sparse.SparseTensor``) sets the diagonal to ``fill_value``.
    The degree is the weighted in-degree :math:`\hat d_i = \sum_{j \to i} w_{ji}`. Returns
    ``(row, col, norm)`` with :math:`\mathrm{norm}_{ji} = \hat d_j^{-1/2} w_{ji} \hat d_i^{-1/2}`
    for every message :math:`j \to i` (row j, col i).
    """
    row, col = edge_index
    if edge_weight is None:
        edge_weight = torch.ones(row.numel(), dtype=dtype, device=row.device)
    if add_self_loops:
        # Loops already there are zeroed rather than dropped: no data-dependent shapes, so
        # torch.compile traces this in one graph.
        is_loop = row == col
        loop_weight = edge_weight.new_full((num_nodes,), fill_value)
        if loops != "add":
            if loops == "remaining":  # slot num_nodes takes the writes of non-loop edges
                slots = torch.cat([loop_weight, loop_weight[:1]])
                where = torch.where(is_loop, row, num_nodes)
                loop_weight = slots.index_put((where,), edge_weight)[:num_nodes]
            edge_weight = edge_weight.masked_fill(is_loop, 0.0)
        nodes = torch.arange(num_nodes, device=row.device)
        row, col = torch.cat([row, nodes]), torch.cat([col, nodes])
        edge_weight = torch.cat([edge_weight, loop_weight])
    deg = edge_weight.new_zeros(num_nodes).index_add_(0, col, edge_weight)
    deg_inv_sqrt = deg.pow(-0.5).masked_fill_(deg == 0, 0.0)
    return row, col, deg_inv_sqrt[row] * edge_weight * deg_inv_sqrt[col]


def as_edges(adj, edge_weight: Tensor | None, num_nodes: int, flow: str):
    """``(edge_index [2, E] source -> target, edge_weight, loops)`` from any GCNConv input."""
    if not isinstance(adj, Tensor) or adj.layout != torch.strided:
        if edge_weight is not None:
            raise SgtkError("edge_weight given with a sparse adjacency: put it in its values")
        return _sparse_edges(adj, num_nodes)
    if adj.dim() != 2 or adj.size(0) != 2:
        raise SgtkError(f"edge_index has shape {tuple(adj.shape)}: pass a [2, E] tensor")
    if edge_weight is not None and edge_weight.shape != (adj.size(1),):
        raise SgtkError(
            f"edge_weight has shape {tuple(edge_weight.shape)}: pass one weight per edge, "
            f"[{adj.size(1)}]"
        )
    # Checked eagerly only: an out-of-range index would corrupt the CSR, not raise.
    if adj.numel() and not torch.compiler.is_compiling():
        if bool((adj.min() < 0) | (adj.max() >= num_nodes)):
            raise SgtkError(f"edge_index names a node outside 0..{num_nodes - 1}: fix the graph")
    adj = adj.long()
    return (adj.flip(0) if flow == "target_to_source" else adj), edge_weight, "remaining"


@torch.compiler.disable  # dynamo cannot trace sparse layouts; the edges it returns are dense
def _sparse_edges(adj, num_nodes: int):
    if isinstance(adj, Tensor) and adj.layout in _SPARSE:
        size, loops = tuple(adj.shape), "add"
        adj = adj.to_sparse_coo().coalesce()
        (target, source), value = adj.indices(), adj.values()
    elif hasattr(adj, "coo") and hasattr(adj, "sparse_sizes"):  # torch_sparse.SparseTensor
        size, loops = tuple(adj.sparse_sizes()), "replace"
        target, source, value = adj.coo()
    else:
        raise SgtkError(
            f"cannot read a graph from {type(adj).__name__}: pass an edge_index [2, E], a "
            "torch.sparse adjacency (adj.t()) or a torch_sparse.SparseTensor"
        )
    if size != (num_nodes, num_nodes):
        raise SgtkError(f"the adjacency is {size} for {num_nodes} nodes: pass an N x N matrix")
    return torch.stack([source, target]).long(), None if value is None else value.clone(), loops
