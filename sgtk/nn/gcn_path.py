r"""The path-graph GCN layer in one autograd node: :math:`\hat A X W^\top + b` with a
tridiagonal :math:`\hat A`, every large output written once into memory allocated for it.

A layer on a long path graph is memory-bound: a few bytes of arithmetic per byte moved. Two
things then decide its speed, and both are handled here rather than left to autograd:

* passes over N x F tensors: the layer runs in blocks of rows, the narrow intermediate
  (Â x or x Wᵀ) in a scratch that stays in cache, so each large tensor is read or written
  once a pass rather than once an op; the bias rides in the GEMM (``addmm``), in the first
  shift-add, or (backward) in the weight gradient's GEMM as a column of ones; only x is saved,
  and the backward applies Âᵀ (tridiagonal too) to the narrow side only;
* first-touch page faults: a fresh tensor of hundreds of MiB is faulted in 4 KiB at a time,
  which on Linux costs several times the copy itself. Outputs above ``_HUGE_MIN`` bytes are
  advised as transparent huge pages before their first write (what PyTorch's own
  ``THP_MEM_ALLOC_ENABLE=1`` does for every allocation), so they fault 2 MiB at a time.

Thin layers with Â first (in < out, in <= ``_KERNEL_MAX_IN``, float32/64 on the CPU) run a
fused C++ row kernel (``_gcn_path_kernel.cpp``, built like the LSTM's, :mod:`sgtk.nn._lstm_kernel`):
at K = 16 ATen's GEMM is far from memory speed, while the kernel makes Â x a block of rows
at a time in cache and multiplies it with register tiles, one streaming pass per direction.
Everything else, and ``SGTK_NO_EXT=1`` or no compiler, runs the blocked ATen path below,
which computes the same maths.
"""

from __future__ import annotations

import ctypes
import functools
import sys
import threading
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from sgtk.nn import _lstm_kernel as lstm_ext

_HUGE_MIN = 8 << 20
# A block's scratch (Â x, or x Wᵀ): small enough to stay in a core's L2 between the passes
# that write and read it.
_BLOCK_BYTES = 512 << 10
_HUGE_PAGE = 2 << 20
_MADV_HUGEPAGE = 14
# Above this input width the GEMM is compute-bound and ATen's BLAS beats a row kernel.
_KERNEL_MAX_IN = 64
_SOURCE = Path(__file__).with_name("_gcn_path_kernel.cpp")
_lock = threading.Lock()
_state: dict[str, object] = {}


def gcn_path_kernel() -> object | None:
    """The ops (``propagate_mm``, ``propagate_outer``), or ``None`` where disabled or not
    buildable: the LSTM's loader, flags and build lock (:func:`lstm_ext.load_once`)."""
    return lstm_ext.load_once(_state, _lock, "sgtk_gcn_path", _SOURCE, "path-graph GCN")


def _kernel_for(x: Tensor, fin: int, fout: int) -> Any:
    if not fin < fout or fin > _KERNEL_MAX_IN:
        return None
    return lstm_ext.kernel_for(x, gcn_path_kernel)


@functools.cache
def _madvise():
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


def empty_rows(rows: int, cols: int, like: Tensor) -> Tensor:
    """An uninitialised [rows, cols] tensor like ``like``; large CPU ones advised huge pages.

    Advice only: where the kernel refuses it (THP off, not Linux) the tensor is the same,
    just faulted in small pages."""
    out = torch.empty(rows, cols, dtype=like.dtype, device=like.device)
    nbytes = out.numel() * out.element_size()
    madvise = _madvise() if out.device.type == "cpu" and nbytes >= _HUGE_MIN else None
    if madvise is not None:
        start = -(-out.data_ptr() // _HUGE_PAGE) * _HUGE_PAGE
        end = (out.data_ptr() + nbytes) // _HUGE_PAGE * _HUGE_PAGE
        if end > start:
            madvise(start, end - start, _MADV_HUGEPAGE)
    return out


def tridiagonal_into(bands: Tensor, x: Tensor, out: Tensor, bias: Tensor | None = None) -> Tensor:
    """``out = Â x (+ bias)`` for Â given by its three bands [from i-1, from i, from i+1]:
    three passes over x, the bias folded into the first."""
    return _shift_add(_columns(bands, x.dtype), x, 0, 0, x.size(0), out, bias)


def propagate(bands: Tensor, x: Tensor, bias: Tensor | None = None) -> Tensor:
    return tridiagonal_into(bands, x, empty_rows(x.size(0), x.size(1), x), bias)


def _columns(bands: Tensor, dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor]:
    lower, diag, upper = (b.unsqueeze(-1) for b in bands.to(dtype))
    return lower, diag, upper


def _shift_add(
    bands: tuple[Tensor, Tensor, Tensor],
    src: Tensor,
    first: int,
    lo: int,
    hi: int,
    out: Tensor,
    bias: Tensor | None = None,
) -> Tensor:
    """``out = (Â s)[lo:hi] (+ bias)``, where ``src`` holds rows ``first..`` of s: at least
    rows lo-1 .. hi of it, as far as they exist."""
    lower, diag, upper = bands
    n = diag.size(0)
    mid = src[lo - first : hi - first]
    if bias is None:
        torch.mul(mid, diag[lo:hi], out=out)
    else:
        torch.addcmul(bias, mid, diag[lo:hi], out=out)
    start, stop = max(lo, 1), min(hi, n - 1)  # node 0 has no i-1, node n-1 no i+1
    if start < hi:
        out[start - lo :].addcmul_(lower[start:hi], src[start - 1 - first : hi - 1 - first])
    if stop > lo:
        out[: stop - lo].addcmul_(upper[lo:stop], src[lo + 1 - first : stop + 1 - first])
    return out


def _blocks(n: int, width: int, itemsize: int):
    """Row ranges of ``n`` whose [rows, width] scratch stays in a core's cache."""
    rows = max(64, _BLOCK_BYTES // (width * itemsize))
    return ((lo, min(lo + rows, n)) for lo in range(0, n, rows)), min(rows, n)


class PathConv(torch.autograd.Function):
    r"""``(x [N, in], weight [out, in], bias [out] or None, bands, bands_t) -> [N, out]``.

    Â goes on the narrower side: with in < out, ``(Â x) Wᵀ + b``; otherwise ``Â (x Wᵀ) + b``.
    Both run in blocks of rows, the narrow intermediate (Â x, or x Wᵀ with one halo row each
    side) in a scratch buffer that stays in cache, so x is read once and the output written
    once. Only x is saved: the backward recomputes Â x block by block beside the gradient,
    reading the bands again rather than a saved N x in tensor, and gets dW and db from one
    GEMM per block (a column of ones beside Â x), one pass over the incoming gradient."""

    @staticmethod
    def forward(ctx, x, weight, bias, bands, bands_t):
        n, fin, fout = x.size(0), weight.size(1), weight.size(0)
        ctx.propagate_first = fin < fout
        ctx.bands, ctx.bands_t = bands, bands_t
        ctx.save_for_backward(x, weight)
        cols, wt = _columns(bands, x.dtype), weight.t()
        out = empty_rows(n, fout, x)
        kernel = _kernel_for(x, fin, fout)
        if kernel is not None:
            kernel.propagate_mm(
                x.contiguous(), bands.to(x.dtype).contiguous(), wt.contiguous(), bias, out
            )
            return out
        if ctx.propagate_first:
            blocks, rows = _blocks(n, fin, x.element_size())
            scratch = x.new_empty(rows, fin)
            for lo, hi in blocks:
                ax = _shift_add(cols, x, 0, lo, hi, scratch[: hi - lo])
                if bias is None:
                    torch.mm(ax, wt, out=out[lo:hi])
                else:
                    torch.addmm(bias, ax, wt, out=out[lo:hi])
            return out
        blocks, rows = _blocks(n, fout, x.element_size())
        scratch = x.new_empty(rows + 2, fout)
        for lo, hi in blocks:
            first, last = max(lo - 1, 0), min(hi + 1, n)  # one halo row each side
            h = torch.mm(x[first:last], wt, out=scratch[: last - first])
            _shift_add(cols, h, first, lo, hi, out[lo:hi], bias)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        kernel = _kernel_for(x, weight.size(1), weight.size(0))
        if kernel is not None:
            return (*_kernel_grads(kernel, ctx, x, grad.contiguous(), weight), None, None)
        if ctx.propagate_first:
            grad_w, grad_b = _first_weight_grads(ctx.bands, x, grad, need_w, need_b)
            grad_x = _transposed(ctx.bands_t, grad, weight) if need_x else None
        else:
            grad_x, grad_w, grad_b = _last_grads(ctx.bands_t, x, grad, weight, ctx.needs_input_grad)
        return grad_x, grad_w, grad_b, None, None


def _kernel_grads(kernel, ctx, x: Tensor, grad: Tensor, weight: Tensor):
    """dW and db from one streaming pass (Â x recomputed a block at a time beside G), and
    dx = Âᵀ (G W) as the forward's row loop with the transposed bands and W itself."""
    need_x, need_w, need_b = ctx.needs_input_grad[:3]
    fin = weight.size(1)
    grad_x = grad_w = grad_b = None
    if need_w:
        acc = kernel.propagate_outer(
            x.contiguous(), ctx.bands.to(x.dtype).contiguous(), grad, need_b
        )
        grad_w, grad_b = acc[:fin].t().contiguous(), (acc[fin] if need_b else None)
    elif need_b:
        grad_b = grad.sum(0)
    if need_x:
        grad_x = empty_rows(x.size(0), fin, grad)
        bands_t = ctx.bands_t.to(x.dtype).contiguous()
        kernel.propagate_mm(grad, bands_t, weight.contiguous(), None, grad_x)
    return grad_x, grad_w, grad_b


def _first_weight_grads(bands, x, grad, need_w: bool, need_b: bool):
    """dW = Gᵀ (Â x) and db = Gᵀ 1 in one GEMM per block: Â x recomputed into a scratch
    whose last column is ones."""
    if not need_w:
        return None, (grad.sum(0) if need_b else None)
    n, fin = x.shape
    width = fin + int(need_b)
    blocks, rows = _blocks(n, width, x.element_size())
    scratch = x.new_empty(rows, width)
    scratch[:, fin:] = 1
    acc = x.new_zeros(width, grad.size(1))  # [dW; db]ᵀ: the narrow operand transposed is faster
    cols = _columns(bands, x.dtype)
    for lo, hi in blocks:
        block = scratch[: hi - lo]
        _shift_add(cols, x, 0, lo, hi, block[:, :fin])
        acc.addmm_(block.t(), grad[lo:hi])
    return acc[:fin].t().contiguous(), (acc[fin].clone() if need_b else None)


def _transposed(bands_t, grad, weight):
    """dx = Âᵀ (G W), block by block, G W of each block (and a halo row each side) in cache."""
    n, fin = grad.size(0), weight.size(1)
    blocks, rows = _blocks(n, fin, grad.element_size())
    scratch = grad.new_empty(rows + 2, fin)
    cols, out = _columns(bands_t, grad.dtype), empty_rows(n, fin, grad)
    for lo, hi in blocks:
        first, last = max(lo - 1, 0), min(hi + 1, n)
        gw = torch.mm(grad[first:last], weight, out=scratch[: last - first])
        _shift_add(cols, gw, first, lo, hi, out[lo:hi])
    return out


def _last_grads(bands_t, x, grad, weight, needs):
    """For ``Â (x Wᵀ) + b``: g = Âᵀ G block by block, then dW += gᵀ x, dx = g W, db = Gᵀ 1."""
    need_x, need_w, need_b = needs[:3]
    n, fin, fout = x.size(0), weight.size(1), weight.size(0)
    blocks, rows = _blocks(n, fout, x.element_size())
    scratch = x.new_empty(rows, fout)
    cols = _columns(bands_t, x.dtype)
    grad_x = empty_rows(n, fin, x) if need_x else None
    grad_w_t = x.new_zeros(fin, fout) if need_w else None
    grad_b = x.new_zeros(fout) if need_b else None
    for lo, hi in blocks:
        g = _shift_add(cols, grad, 0, lo, hi, scratch[: hi - lo])
        if grad_w_t is not None:
            grad_w_t.addmm_(x[lo:hi].t(), g)
        if grad_x is not None:
            torch.mm(g, weight, out=grad_x[lo:hi])
        if grad_b is not None:
            grad_b += grad[lo:hi].sum(0)
    grad_w = None if grad_w_t is None else grad_w_t.t().contiguous()
    return grad_x, grad_w, grad_b
