"""Edge sets over a sequence: which earlier positions each position hears from.

Every sequence graph here is a set of offsets D: position t receives from t - d for each
d in D with t - d >= 0 (causal), and also from t + d when bidirectional.

- ``path``: D = {1}, the chain a recurrent cell walks.
- ``window:K``: D = {1..K}, a K-gram context per layer.
- ``dilated``: D = {1, 2, 4, ...}: any offset below T is a sum of at most ceil(log2 T) of
  them, so ceil(log2 T) + 1 rounds of message passing reach the whole sequence (the reach of
  WaveNet's dilated convolutions, van den Oord et al. 2016).
- ``complete``: D = {1..T-1}, every earlier position: the graph that causal attention uses.

Edges are built by tensor arithmetic from one per-length template and cached per shape, so
every step of a run shares one ``edge_index`` object (GCNLayer then normalises it once).
"""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import Tensor
from torch_geometric.data import Batch

from sgtk.errors import SgtkError
from sgtk.views import path_edge_index

GRAPH_CHOICES = ("auto", "path", "window:K", "dilated", "complete")


def parse_graph(spec: str) -> tuple[str, int]:
    """``"window:8"`` -> ``("window", 8)``; the other kinds carry 0."""
    kind, _, arg = spec.partition(":")
    if kind in ("auto", "path", "dilated", "complete") and not arg:
        return kind, 0
    if kind == "window" and arg.isdigit() and int(arg) > 0:
        return kind, int(arg)
    raise SgtkError(
        f"unknown --graph {spec!r}: choose one of {', '.join(GRAPH_CHOICES)} "
        "(K a positive integer, e.g. window:4)"
    )


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
        raise SgtkError("--graph auto must be resolved to a graph before building edges")
    return [d for d in span if d < length]


@lru_cache(maxsize=64)
def _template(spec: str, length: int, directed: bool) -> tuple[Tensor, Tensor]:
    # (src, dst) positions of one sequence's edges, ordered by offset then position.
    d = torch.tensor(offsets(spec, length), dtype=torch.long)
    dst = torch.arange(length)
    keep = dst[None, :] >= d[:, None]
    dst = dst.expand(len(d), length)[keep]
    src = dst - d[:, None].expand(len(d), length)[keep]
    if not directed:
        src, dst = torch.cat([src, dst]), torch.cat([dst, src])
    return src, dst


@lru_cache(maxsize=64)
def _uniform_edges(
    spec: str, num_graphs: int, length: int, directed: bool, device: torch.device
) -> Tensor:
    if parse_graph(spec)[0] == "path":
        return path_edge_index(num_graphs, length, directed, device)  # the views' own object
    src, dst = (t.to(device) for t in _template(spec, length, directed))
    starts = torch.arange(num_graphs, device=device).mul_(length)[:, None]
    # Written in place: complete graphs are large, and a stack would copy them once more.
    edge_index = torch.empty(2, num_graphs, len(src), dtype=torch.long, device=device)
    torch.add(starts, src, out=edge_index[0])
    torch.add(starts, dst, out=edge_index[1])
    return edge_index.view(2, -1)


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
    src, dst = (t.to(ptr.device) for t in _template(spec, int(lengths.max()), directed))
    # An edge of the longest sequence's template exists in graph b if both ends fit in it.
    graph, edge = torch.nonzero(torch.maximum(src, dst)[None, :] < lengths[:, None], as_tuple=True)
    start = ptr[graph]
    return torch.stack([start + src[edge], start + dst[edge]])


def sequence_edges(batch: Batch, spec: str, directed: bool = True) -> Tensor:
    """The ``spec`` graph over the sequences of a path-graph ``batch`` (from ``sgtk.views``)."""
    seq_len = getattr(batch, "seq_len", None)
    if seq_len is not None:
        return uniform_edges(spec, batch.num_graphs, seq_len, directed, batch.x.device)
    lengths = batch.ptr[1:] - batch.ptr[:-1]
    return ragged_edges(spec, batch.ptr, lengths, directed)
