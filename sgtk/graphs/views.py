"""The two views of a sequence: a dense [B, T] batch and a PyG ``Batch`` of path graphs.

A batch of B sequences of length T becomes B path graphs with B*T nodes. Node ``b*T + t`` is
position t of sequence b, so the dense view is a free ``view(B, T, ...)`` of the node matrix and
the graph view's ``edge_index`` is pure arithmetic. Nothing here builds per-sample ``Data``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Batch
from torch_geometric.utils import to_dense_batch


@lru_cache(maxsize=64)
def _uniform_nodes(num_graphs: int, length: int, device: torch.device) -> tuple[Tensor, Tensor]:
    # numpy: two small ops at a fraction of torch's per-call overhead (a cold batch pays it).
    ptr = torch.from_numpy(np.arange(0, num_graphs * length + 1, length, dtype=np.int64))
    batch = torch.from_numpy(np.repeat(np.arange(num_graphs, dtype=np.int64), length))
    return batch.to(device), ptr.to(device)


def uniform_nodes(
    num_graphs: int, length: int, device: torch.device | str = "cpu"
) -> tuple[Tensor, Tensor]:
    """``(batch, ptr)`` of ``num_graphs`` sequences of ``length`` nodes (shared, read-only)."""
    return _uniform_nodes(num_graphs, length, torch.device(device))


@lru_cache(maxsize=64)
def _uniform_structure(
    num_graphs: int, length: int, directed: bool, device: torch.device
) -> tuple[Tensor, Tensor, Tensor]:
    # Cached so that every step of a run shares one edge_index object: GCNLayer then reuses
    # its normalisation instead of recomputing it. numpy, as above: a cold batch pays these.
    batch, ptr = _uniform_nodes(num_graphs, length, device)
    src = np.arange(num_graphs * length, dtype=np.int64).reshape(num_graphs, length)[:, :-1]
    src = src.reshape(-1)
    if directed:
        edges = np.stack([src, src + 1])
    else:
        edges = np.stack([np.concatenate([src, src + 1]), np.concatenate([src + 1, src])])
    return torch.from_numpy(edges).to(device), batch, ptr


@lru_cache(maxsize=1)
def _batch_class() -> type:
    return type(Batch())  # PyG's DataBatch, made on first use by Batch's metaclass


def new_batch(**fields: Tensor) -> Batch:
    """``Batch(**fields)`` without the metaclass's per-call work (a signature inspection, about
    0.1 ms, which a cold batch of a few hundred microseconds would notice): the same class,
    built by its own ``__init__``."""
    return type.__call__(_batch_class(), **fields)


def clear_caches() -> None:
    """Forget the cached batch structures (the bench times cold builds)."""
    _uniform_nodes.cache_clear()
    _uniform_structure.cache_clear()


def path_edge_index(
    num_graphs: int, length: int, directed: bool = False, device: torch.device | str = "cpu"
) -> Tensor:
    """``edge_index`` of ``num_graphs`` path graphs of ``length`` nodes each (shared, read-only)."""
    return _uniform_structure(num_graphs, length, directed, torch.device(device))[0]


def path_graph_batch(
    x: Tensor,
    y: Tensor | None = None,
    *,
    lengths: Tensor | None = None,
    directed: bool = False,
) -> Batch:
    """Turn a dense batch ``x`` of shape [B, T] (tokens) or [B, T, F] into path graphs.

    ``directed=True`` keeps only the causal edges t -> t+1; otherwise both directions.
    With ``lengths`` (for padded batches) sequence b has ``lengths[b]`` nodes; padding is dropped.
    The returned batch keeps ``seq_len`` (uniform case) or ``lengths`` for :func:`to_sequence`.
    """
    num_graphs, length = x.shape[:2]
    if lengths is None:
        edge_index, batch, ptr = _uniform_structure(num_graphs, length, directed, x.device)
        out = new_batch(
            x=x.reshape(num_graphs * length, *x.shape[2:]),
            edge_index=edge_index,
            batch=batch,
            ptr=ptr,
        )
        out.seq_len = length
    else:
        lengths = lengths.to(x.device)
        mask = torch.arange(length, device=x.device) < lengths[:, None]
        ptr = torch.zeros(num_graphs + 1, dtype=torch.long, device=x.device)
        torch.cumsum(lengths, 0, out=ptr[1:])
        batch = torch.arange(num_graphs, device=x.device).repeat_interleave(lengths)
        pos = torch.arange(batch.numel(), device=x.device) - ptr[batch]
        src = torch.nonzero(pos < (lengths[batch] - 1)).view(-1)
        dst = src + 1
        edge_index = (
            torch.stack([src, dst])
            if directed
            else torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])
        )
        out = new_batch(x=x[mask], edge_index=edge_index, batch=batch, ptr=ptr)
        out.lengths = lengths
    if y is not None:
        out.y = y
    return out


def node_positions(batch: Batch) -> Tensor:
    """Position of every node inside its own sequence (0 for the first node)."""
    return torch.arange(batch.num_nodes, device=batch.batch.device) - batch.ptr[batch.batch]


def to_sequence(batch: Batch, x: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Read the nodes of each graph in position order: ``(dense [B, T, ...], lengths [B])``.

    ``x`` overrides ``batch.x`` (e.g. embedded node features). Uniform path batches are a
    zero-copy view; anything else goes through ``to_dense_batch``.
    """
    x = batch.x if x is None else x
    num_graphs = batch.num_graphs
    seq_len = getattr(batch, "seq_len", None)
    if seq_len is not None:
        lengths = torch.full((num_graphs,), seq_len, dtype=torch.long, device=x.device)
        return x.view(num_graphs, seq_len, *x.shape[1:]), lengths
    dense, mask = to_dense_batch(x, batch.batch, batch_size=num_graphs)
    return dense, mask.sum(1)


def from_sequence(batch: Batch, dense: Tensor) -> Tensor:
    """Inverse of :func:`to_sequence`: per-node rows of a dense [B, T, ...] tensor."""
    if getattr(batch, "seq_len", None) is not None:
        return dense.reshape(-1, *dense.shape[2:])
    return dense[batch.batch, node_positions(batch)]


def last_node_index(batch: Batch) -> Tensor:
    """Index of the last node of every graph (the node a next-token target depends on)."""
    return batch.ptr[1:] - 1
