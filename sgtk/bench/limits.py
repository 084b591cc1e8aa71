r"""``sgtk bench`` rows against the machine rather than another implementation: how close the
path-graph GCN layer comes to the memory system's copy bandwidth, and the LSTM to a GEMM of
its own shapes, each measured in the same run (one loop, alternating, medians).

Both rows are ``higher_is_better`` fractions with a target of 0.5: ``ours`` is the achieved
rate (bytes that must move per second, or FLOP/s), ``reference`` the machine's own rate.

The GCN row's reference is a same-run copy of 256 MiB into **fresh** memory (a clone), counted
read + write: the layer returns a new tensor, so it pays the kernel's first-touch zeroing of
its output as a clone does, and a copy into a warm buffer (which pays none) would measure a
different job. The clone's memory is allocated as the layer's output is
(:func:`sgtk.nn.gcn_path.empty_rows`: huge-page advice above 8 MiB), so both fault alike;
``torch.clone`` itself faults in 4 KiB pages, several times slower here, and would flatter the
row. Both other rates are kept in the row's ``shape`` (``warm_copy_GBs``, ``torch_clone_GBs``,
and the ratio against the warm copy), so nothing is hidden.

Where the layer's time goes (2-core EPYC with AVX-512, one thread, a loaded machine): thin
layers run the fused C++ row kernel (:mod:`sgtk.nn.gcn_path`), which makes Â X a block of
rows at a time in cache and multiplies it with register tiles, one streaming pass forward
and one backward. That takes the 16 -> 64 product (1,024 multiply-adds a row) from MKL's
thin-GEMM rate to the core's own FMA rate; on a shared core that arithmetic, not DRAM, is
what is left (docs/performance.md, "Physical limits").
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from sgtk.bench.core import Row, Sizes, make_row, time_many

COPY_BYTES = 256 << 20  # far above any last-level cache, so the copy streams from DRAM
GCN_IN, GCN_OUT = 16, 64  # the bench model's first layer


def gcn_layer_bytes(
    nodes: int, fin: int, fout: int, bias: bool = True, itemsize: int = 4
) -> tuple[int, int]:
    r"""Bytes one ``GCNLayer(fin, fout)`` must move on an N-node path graph, (forward, backward).

    forward  = itemsize · (N·fin + 3N + fin·fout + fout + N·fout):
               read the features X [N, fin], Â's three bands [3, N] and W, b; write H' [N, fout].
    backward = itemsize · (N·fout + N·fin + fin·fout + fout):
               read the incoming gradient [N, fout] and ÂX [N, fin] (what dW = Gᵀ(ÂX) needs;
               recomputing it from X would read the bands as well), write dW and db.
               The input's gradient is not counted: the layer is a first layer, X needs none.

    A floor: intermediates (ÂX written and read back) and re-reads are not counted, so an
    implementation can only move more than this."""
    params = fin * fout + (fout if bias else 0)
    forward = nodes * fin + 3 * nodes + params + nodes * fout
    backward = nodes * fout + nodes * fin + params
    return forward * itemsize, backward * itemsize


def lstm_forward_flops(batch: int, steps: int, inputs: int, hidden: int) -> int:
    """FLOPs of an LSTM forward in its GEMMs: per step the input GEMM [B, d] x [d, 4H] and the
    recurrent GEMM [B, H] x [H, 4H], 2 FLOPs per multiply-add; the pointwise gates are left out."""
    return 2 * steps * batch * 4 * hidden * (inputs + hidden)


def copy_bandwidth_fn(nbytes: int, device: torch.device) -> Callable[[], object]:
    """``dst.copy_(src)`` between two tensors allocated and touched before the timing: the
    memory system's streaming rate, counted as ``2·nbytes`` (read + write) per call."""
    src = torch.ones(nbytes // 4, device=device)
    dst = torch.empty_like(src).copy_(src)
    return lambda: dst.copy_(src)


def fresh_copy_fn(nbytes: int, device: torch.device) -> Callable[[], object]:
    """A clone of ``nbytes`` into memory allocated for it on each call, as the GCN layer's
    output is (:func:`~sgtk.nn.gcn_path.empty_rows`), and freed after: counted ``2·nbytes``."""
    from sgtk.nn.gcn_path import empty_rows

    src = torch.ones(nbytes // (4 * 64), 64, device=device)
    return lambda: empty_rows(src.size(0), 64, src).copy_(src)


def torch_clone_fn(nbytes: int, device: torch.device) -> Callable[[], object]:
    """``torch.clone`` of ``nbytes``: fresh memory in the allocator's default pages."""
    src = torch.ones(nbytes // 4, device=device)
    return lambda: src.clone()


def gcn_limit_rows(s: Sizes, device: torch.device) -> list[Row]:
    """The path-graph GCN layer's achieved bandwidth, forward and backward, as a fraction of a
    same-run clone into fresh memory. Why this reference: a layer that writes a new tensor
    cannot beat a copy of as many bytes into a new tensor, so the fraction says how much is
    left, whatever the implementation. The warm ``copy_`` and ``torch.clone`` rates of the
    same run go into the row's ``shape``."""
    from sgtk.graphs.views import path_edge_index
    from sgtk.nn import GCNLayer

    n = s.path_nodes
    copy_bytes = COPY_BYTES if n >= 100_000 else 32 << 20  # tiny test shapes: a short copy
    layer = GCNLayer(GCN_IN, GCN_OUT).to(device)
    x = torch.randn(n, GCN_IN, device=device)
    ei = path_edge_index(1, n, device=device)
    grad = torch.randn(n, GCN_OUT, device=device)
    fresh = fresh_copy_fn(copy_bytes, device)
    warm = copy_bandwidth_fn(copy_bytes, device)
    clone = torch_clone_fn(copy_bytes, device)
    out: list[torch.Tensor] = []

    def forward() -> None:
        out[:] = [layer(x, ei)]

    def backward() -> None:
        out.pop().backward(grad)

    fns = [forward, backward, fresh, warm, clone]
    fwd_s, bwd_s, *copies_s = time_many(fns, device, s.repeats, warmup=1)
    fresh_gbs, warm_gbs, clone_gbs = (2 * copy_bytes / t / 1e9 for t in copies_s)
    ref_name = (
        f"clone of {copy_bytes >> 20} MiB into fresh memory (empty_rows + copy_, as the "
        "layer's output), (read + write) / time, same run"
    )
    name = f"GCN layer {GCN_IN}->{GCN_OUT} {{}} on {n:,}-node path graph, bytes that must move"
    fwd_bytes, bwd_bytes = gcn_layer_bytes(n, GCN_IN, GCN_OUT)
    rows = []
    for what, nbytes, secs in (("forward", fwd_bytes, fwd_s), ("backward", bwd_bytes, bwd_s)):
        gbs = nbytes / secs / 1e9
        shape = {
            "nodes": n,
            "warm_copy_GBs": warm_gbs,
            "ratio_to_warm_copy": gbs / warm_gbs,
            "torch_clone_GBs": clone_gbs,
        }
        rows.append(
            make_row(
                name.format(what),
                gbs,
                fresh_gbs,
                "GB/s",
                ref_name,
                0.5,
                higher_is_better=True,
                shape=shape,
            )
        )
    return rows  # fmt: skip


def lstm_limit_row(s: Sizes, device: torch.device) -> Row:
    """The LSTM forward's GFLOP/s (its GEMM FLOPs only) against the same GEMMs run bare with
    preallocated outputs: T recurrent [B, H] x [H, 4H] and one input [T·B, d] x [d, 4H], the
    fastest those FLOPs can go through ATen's BLAS. The shape is the size curve's largest
    (B, T, H) with the one-hot digits (d = 10)."""
    from sgtk.nn import LSTM

    batch, steps, hidden, d = s.batch, s.curve_steps[-1], s.curve_hidden[-1], 10
    lstm = LSTM(d, hidden).to(device)
    x = torch.randn(batch, steps, d, device=device)
    h = torch.randn(batch, hidden, device=device)
    w_h = torch.randn(4 * hidden, hidden, device=device)
    w_x = torch.randn(4 * hidden, d, device=device)
    gates = torch.empty(steps * batch, 4 * hidden, device=device)
    rec = torch.empty(batch, 4 * hidden, device=device)
    flat = x.view(steps * batch, d)

    def ours() -> None:
        with torch.no_grad():
            lstm(x)

    def gemms() -> None:
        torch.mm(flat, w_x.t(), out=gates)
        for _ in range(steps):
            torch.mm(h, w_h.t(), out=rec)

    ours_s, ref_s = time_many([ours, gemms], device, s.repeats, warmup=1)
    flops = lstm_forward_flops(batch, steps, d, hidden)
    return make_row(
        f"LSTM forward B={batch} T={steps} H={hidden}, GEMM FLOP rate",
        flops / ours_s / 1e9, flops / ref_s / 1e9, "GFLOP/s",
        "the same GEMMs bare (torch.mm, preallocated out), same run", 0.5,
        higher_is_better=True,
    )  # fmt: skip


def limit_rows(s: Sizes, device: torch.device) -> list[Row]:
    return [*gcn_limit_rows(s, device), lstm_limit_row(s, device)]
