"""The GCN rows of ``sgtk bench``: the hand-written ``GCNLayer`` against PyG's ``GCNConv`` at
its best, and the peak-memory row.

The primary reference is ``GCNConv(cached=True)`` fed ``adj_t``, the transposed adjacency
that PyG's ``T.ToSparseTensor()`` builds (a ``torch_sparse.SparseTensor`` where torch_sparse
is installed, else a ``torch.sparse`` CSR tensor). That is PyG's documented fast path: the
normalisation runs once, into the cache, and every later call is one sparse matrix
multiply, where ``edge_index`` input gathers and scatters every message. The ``edge_index``
forms (cached, and the default uncached one that renormalises every call) stay as labelled
secondary rows. Before any timing every reference is checked to give ours' outputs with
ours' weights, and the cached references are checked to have primed their cache and to
reuse it to the end.
"""

from __future__ import annotations

import functools
import multiprocessing as mp

import torch
from torch import nn

from sgtk.bench.core import Row, Sizes, _proc_status_kib, make_row, time_many

# float32 over two layers; the sums run in a different order (shift-and-add or CSR in ours,
# SpMM or scatter in GCNConv), so agreement is to rounding, not bitwise.
ATOL, RTOL = 1e-4, 1e-4
ADJ_T_NAME = "GCNConv(cached=True), adj_t from T.ToSparseTensor()"


def _gcn_model(conv, fin: int = 16, hidden: int = 64, **kwargs) -> nn.ModuleList:
    return nn.ModuleList([conv(fin, hidden, **kwargs), conv(hidden, 1, **kwargs)])


def _gcn_forward(model: nn.ModuleList, x: torch.Tensor, graph) -> torch.Tensor:
    return model[1](torch.relu(model[0](x, graph)), graph)


def _gcn_step(model: nn.ModuleList, x: torch.Tensor, graph) -> None:
    _gcn_forward(model, x, graph).sum().backward()


def _gcn_inputs(kind: str, s: Sizes, device: torch.device):
    from sgtk.graphs.views import path_edge_index

    if kind == "path":
        return torch.randn(s.path_nodes, 16, device=device), path_edge_index(
            1, s.path_nodes, device=device
        )
    from torch_geometric.utils import coalesce, remove_self_loops

    g = torch.Generator().manual_seed(0)
    ei = torch.randint(0, s.rand_nodes, (2, s.rand_edges), generator=g)
    # A simple graph (no loops, no repeated edge): on one GCNConv treats a loop differently
    # for edge_index and for torch.sparse input, so the references would not agree.
    ei = coalesce(remove_self_loops(ei)[0], num_nodes=s.rand_nodes).to(device)
    return torch.randn(s.rand_nodes, 16, device=device), ei


def pyg_adj_t(edge_index: torch.Tensor, num_nodes: int):
    """``data.adj_t`` as PyG's docs make it: ``T.ToSparseTensor()`` on the same graph."""
    import torch_geometric.transforms as T
    from torch_geometric.data import Data

    data = T.ToSparseTensor()(Data(edge_index=edge_index.clone(), num_nodes=num_nodes))
    return data.adj_t


def pyg_cache(conv):
    """What a ``GCNConv(cached=True)`` keeps: ``_cached_adj_t`` for a SparseTensor,
    ``_cached_edge_index`` for ``edge_index`` and for a ``torch.sparse`` adjacency."""
    return conv._cached_adj_t if conv._cached_adj_t is not None else conv._cached_edge_index


def _caches(models: list[nn.ModuleList]) -> list:
    return [pyg_cache(conv) for model in models for conv in model]


def _require_same(ours: torch.Tensor, ref: torch.Tensor, what: str) -> None:
    if not torch.allclose(ours, ref, atol=ATOL, rtol=RTOL):
        worst = (ours - ref).abs().max().item()
        raise RuntimeError(f"bench: {what} differs from ours by {worst:.3g}, not timed")


def _gcn(kind: str, s: Sizes, device: torch.device) -> list[Row]:
    """Three rows from one interleaved run, all with ours' weights.

    Why these references are the fastest a careful user would write: ``GCNConv(cached=True)``
    on ``T.ToSparseTensor()``'s ``adj_t`` is what PyG's docs recommend for a fixed graph
    (normalised once, then one SpMM a layer); ``cached=True`` on ``edge_index`` is the same
    cache without the sparse layout; the default ``GCNConv`` is what most code calls."""
    from torch_geometric.nn import GCNConv

    from sgtk.nn import GCNLayer

    x, ei = _gcn_inputs(kind, s, device)
    adj_t = pyg_adj_t(ei, x.shape[0])
    ours = _gcn_model(GCNLayer).to(device)
    refs = [_gcn_model(GCNConv, **kw).to(device) for kw in ({"cached": True},) * 2 + ({},)]
    for ref in refs:
        ref.load_state_dict(ours.state_dict())
    graphs = [ei, adj_t, ei, ei]
    models = [ours, *refs]
    with torch.no_grad():  # also primes every cache, ours included
        want = _gcn_forward(ours, x, ei)
        for ref, graph, what in zip(refs, graphs[1:], ("adj_t", "cached edge_index", "edge_index")):
            _require_same(want, _gcn_forward(ref, x, graph), f"GCNConv on {what}")
    primed = _caches(refs[:2])
    if any(c is None for c in primed):
        raise RuntimeError("bench: a GCNConv(cached=True) did not prime its cache")
    times = time_many(
        [functools.partial(_gcn_step, m, x, g) for m, g in zip(models, graphs)], device, s.repeats
    )
    if any(a is not b for a, b in zip(primed, _caches(refs[:2]))):
        raise RuntimeError("bench: a GCNConv(cached=True) renormalised during the timing")
    if kind == "path":
        name, limit = f"2-layer GCN fwd+bwd, {s.path_nodes:,}-node path graph", 0.5
    else:
        name = f"2-layer GCN fwd+bwd, random graph {s.rand_nodes:,} nodes / {ei.size(1):,} edges"
        limit = 1.0
    layout = "SparseTensor" if type(adj_t).__name__ == "SparseTensor" else "CSR"
    ms = [t * 1e3 for t in times]
    return [
        make_row(name, ms[0], ms[1], "ms", f"{ADJ_T_NAME} ({layout})", limit),
        make_row(f"{name}, edge_index reference", ms[0], ms[2], "ms",
                 "GCNConv(cached=True), edge_index (secondary)", limit),
        make_row(f"{name}, uncached edge_index reference", ms[0], ms[3], "ms",
                 "GCNConv (default, renormalises every call), edge_index (secondary)", limit),
    ]  # fmt: skip


def _peak_child(which: str, nodes: int, queue) -> None:
    from torch_geometric.nn import GCNConv

    from sgtk.nn import GCNLayer

    x, ei = _gcn_inputs("path", Sizes(path_nodes=nodes), torch.device("cpu"))
    # The reference's input, like ours', is built before the measurement: adj_t is made once
    # when the dataset is loaded, as T.ToSparseTensor() does.
    graph = ei if which == "ours" else pyg_adj_t(ei, nodes)
    model = _gcn_model(GCNLayer if which == "ours" else GCNConv)
    # VmHWM is this process image's own high-water mark (ru_maxrss survives exec, so a
    # spawned child would report its parent's peak).
    before = _proc_status_kib("VmRSS")
    _gcn_step(model, x, graph)
    queue.put((_proc_status_kib("VmHWM") - before) / 1024)  # MiB above the inputs


def gcn_memory_row(s: Sizes, device: torch.device) -> Row:
    """Peak memory of one step against GCNConv on ``adj_t``, its leanest input (no per-edge
    message tensors), so the leanest reference a careful user would write; both normalise in
    the step measured."""
    name = f"peak memory, 2-layer GCN step on {s.path_nodes:,}-node path graph"
    ref_name = "GCNConv on adj_t, first step (both normalise)"
    if device.type == "cuda":
        from torch_geometric.nn import GCNConv

        from sgtk.nn import GCNLayer

        x, ei = _gcn_inputs("path", s, device)
        peaks = []
        for conv, graph in ((GCNLayer, ei), (GCNConv, pyg_adj_t(ei, s.path_nodes))):
            model = _gcn_model(conv).to(device)
            _gcn_step(model, x, graph)  # warm caches (normalisation) before measuring
            torch.cuda.synchronize()
            base = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
            _gcn_step(model, x, graph)
            peaks.append((torch.cuda.max_memory_allocated() - base) / 2**20)
        return make_row(name, peaks[0], peaks[1], "MiB", "GCNConv on adj_t, second step", 1.0)
    ctx = mp.get_context("spawn")  # a fresh process each, so high-water marks are separate
    peaks = []
    for which in ("ours", "ref"):
        queue = ctx.Queue()
        p = ctx.Process(target=_peak_child, args=(which, s.path_nodes, queue))
        p.start()
        peaks.append(queue.get(timeout=600))
        p.join()
    return make_row(name, peaks[0], peaks[1], "MiB", ref_name, 1.0)


def gcn_rows(
    s: Sizes, device: torch.device, kinds: tuple[str, ...] = ("path", "random")
) -> list[Row]:
    """The timed GCN rows: for each graph kind, ours against the three references."""
    return [row for kind in kinds for row in _gcn(kind, s, device)]
