"""Edge sets over a sequence: which earlier positions each position hears from.

Every sequence graph here is a set of offsets D: position t receives from t - d for each
d in D with t - d >= 0 (causal), and also from t + d when bidirectional.

- ``path``: D = {1}, the chain a recurrent cell walks.
- ``window:K``: D = {1..K}, a K-gram context per layer.
- ``dilated``: D = {1, 2, 4, ...}: any offset below T is a sum of at most ceil(log2 T) of
  them, so ceil(log2 T) + 1 rounds of message passing reach the whole sequence (the reach of
  WaveNet's dilated convolutions, van den Oord et al. 2016).
- ``complete``: D = {1..T-1}, every earlier position: the graph that causal attention uses.

Edges are built by closed-form index arithmetic from one per-length template (a handful of
tensor ops, no per-sequence loop) and cached per (graph, batch size, length), so every step of
a run shares one ``edge_index`` object (GCNLayer then normalises it once).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Batch

from sgtk.errors import SgtkError
from sgtk.graphs.spec import GRAPH_CHOICES, parse_graph  # noqa: F401  (their old home)
from sgtk.graphs.views import path_edge_index

_TAG = "_sgtk_graph"  # on the edge lists built here: (kind, B, T or None, directed, ptr or None)


def offsets(spec: str, length: int) -> list[int]:
    """The offsets D of ``spec`` for sequences of ``length`` nodes (all below ``length``)."""
    kind, k = parse_graph(spec)
    if kind == "path":
        span = [1]
    elif kind == "window":
        span = list(range(1, k + 1))
    elif kind == "dilated":
        span = [2**i for i in range(max(length - 1, 1).bit_length())]
    elif kind == "complete":
        span = list(range(1, length))
    else:
        raise SgtkError("`graph` auto must be resolved to a graph before building edges")
    return [d for d in span if d < length]


@lru_cache(maxsize=64)
def _template(spec: str, length: int, directed: bool) -> Tensor:
    """[2, E] (src, dst) positions of one sequence's edges, from closed-form index arithmetic."""
    kind, _ = parse_graph(spec)
    if kind == "complete" and length > 1:
        # Every pair s < t, ordered by source: one call, no mask.
        template = torch.triu_indices(length, length, 1)
    else:
        # numpy: these few small ops cost a fraction of torch's per-call overhead.
        d = np.asarray(offsets(spec, length), dtype=np.int64)
        dst = np.broadcast_to(np.arange(length), (len(d), length))
        src = dst - d[:, None]
        keep = src >= 0  # ordered by offset, then position; negative sources cut
        template = torch.from_numpy(np.stack([src[keep], dst[keep]]))
    if not directed:
        template = torch.cat([template, template.flip(0)], 1)
    return template


def _tag(
    edge_index: Tensor,
    spec: str,
    num_graphs: int,
    length: int | None,
    directed: bool,
    ptr: Tensor | None = None,
) -> Tensor:
    # What the edges are, so that attention can take its dense path without comparing them.
    # A ragged batch's edges name its ptr object: they fit that batch and no other.
    setattr(edge_index, _TAG, (parse_graph(spec)[0], num_graphs, length, directed, ptr))
    return edge_index


@lru_cache(maxsize=64)
def _uniform_edges(
    spec: str, num_graphs: int, length: int, directed: bool, device: torch.device
) -> Tensor:
    if parse_graph(spec)[0] == "path":
        return path_edge_index(num_graphs, length, directed, device)  # the views' own object
    template = _template(spec, length, directed).to(device)
    starts = torch.arange(0, num_graphs * length, length, device=device)
    # One broadcast add: [2, 1, E] + [B, 1] -> [2, B, E], sequence-major like the nodes.
    edge_index = torch.add(template[:, None, :], starts[:, None]).view(2, -1)
    return _tag(edge_index, spec, num_graphs, length, directed)


def uniform_edges(
    spec: str,
    num_graphs: int,
    length: int,
    directed: bool = True,
    device: torch.device | str = "cpu",
) -> Tensor:
    """``edge_index`` of ``num_graphs`` sequences of ``length`` nodes (shared, read-only)."""
    return _uniform_edges(spec, num_graphs, length, directed, torch.device(device))


def ragged_edges(spec: str, ptr: Tensor, lengths: Tensor, directed: bool = True) -> Tensor:
    """``edge_index`` of sequences of different ``lengths`` laid out by ``ptr``."""
    if lengths.numel() == 0:
        return torch.empty(2, 0, dtype=torch.long, device=ptr.device)
    template = _template(spec, int(lengths.max()), directed).to(ptr.device)
    # An edge of the longest sequence's template exists in graph b if both ends fit in it.
    graph, edge = torch.nonzero(template.amax(0)[None, :] < lengths[:, None], as_tuple=True)
    return _tag(template[:, edge] + ptr[graph], spec, len(lengths), None, directed, ptr)


def clear_caches() -> None:
    """Forget every cached template and batch structure (the bench times cold builds)."""
    from sgtk.graphs import views

    _template.cache_clear()
    _uniform_edges.cache_clear()
    views.clear_caches()


class Layout(NamedTuple):
    """Where a batch's graph is complete: B sequences, the longest of ``length`` nodes."""

    num_graphs: int
    length: int
    directed: bool  # causal: node t hears 0..t-1; otherwise every other node of its sequence
    lengths: Tensor | None  # a ragged batch's sequence lengths; None when all are ``length``


def complete_layout(batch: Batch, edge_index: Tensor) -> Layout | None:
    """The :class:`Layout` when ``edge_index`` is the complete graph (causal or both ways,
    no self-loops) over every sequence of ``batch``, else ``None``. Edges built here are known
    by their tag; another edge list over equal-length sequences is compared once, if it has
    the right size, and the answer is kept on it."""
    if not isinstance(edge_index, Tensor):
        return None
    num_graphs, length = batch.num_graphs, getattr(batch, "seq_len", None)
    tag = getattr(edge_index, _TAG, None)
    if length is None:  # ragged: only the edges built for this very batch
        if tag is None or tag[0] != "complete" or tag[4] is not batch.ptr:
            return None
        lengths = batch.ptr[1:] - batch.ptr[:-1]
        longest = int(lengths.max()) if num_graphs else 0
        return Layout(num_graphs, longest, tag[3], lengths) if longest >= 2 else None
    if length < 2:  # no edges at all: message passing is free
        return None
    pairs = num_graphs * length * (length - 1) // 2
    if tag is None and edge_index.shape[1] in (pairs, 2 * pairs) and edge_index.shape[0] == 2:
        directed = edge_index.shape[1] == pairs
        canonical = uniform_edges("complete", num_graphs, length, directed, edge_index.device)
        n = num_graphs * length
        same = torch.equal(
            (edge_index[1] * n + edge_index[0]).sort().values,
            (canonical[1] * n + canonical[0]).sort().values,
        )
        tag = ("complete" if same else "other", num_graphs, length, directed, None)
        setattr(edge_index, _TAG, tag)
    if tag is None or tag[:3] != ("complete", num_graphs, length) or tag[4] is not None:
        return None
    return Layout(num_graphs, length, tag[3], None)


def sequence_graph_batch(
    x: Tensor, spec: str, directed: bool = True, y: Tensor | None = None
) -> Batch:
    """Equal-length sequences ``x`` [B, T, ...] as a ``Batch`` over the ``spec`` graph: the
    path view of :func:`sgtk.graphs.views.path_graph_batch` with ``spec``'s edges, built
    directly."""
    from sgtk.graphs.views import new_batch, uniform_nodes

    num_graphs, length = x.shape[:2]
    batch, ptr = uniform_nodes(num_graphs, length, x.device)
    out = new_batch(
        x=x.reshape(num_graphs * length, *x.shape[2:]),
        edge_index=uniform_edges(spec, num_graphs, length, directed, x.device),
        batch=batch,
        ptr=ptr,
    )
    out.seq_len = length
    if y is not None:
        out.y = y
    return out


def sequence_edges(batch: Batch, spec: str, directed: bool = True) -> Tensor:
    """The ``spec`` graph over the sequences of a path-graph ``batch`` (from
    :mod:`sgtk.graphs.views`)."""
    seq_len = getattr(batch, "seq_len", None)
    if seq_len is not None:
        return uniform_edges(spec, batch.num_graphs, seq_len, directed, batch.x.device)
    lengths = batch.ptr[1:] - batch.ptr[:-1]
    return ragged_edges(spec, batch.ptr, lengths, directed)
