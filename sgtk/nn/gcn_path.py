r"""The path-graph GCN layer in one autograd node: :math:`\hat A X W^\top + b` with a
tridiagonal :math:`\hat A`, every large output written once into memory allocated for it.

A layer on a long path graph is memory-bound: a few bytes of arithmetic per byte moved. Two
things then decide its speed, and both are handled here rather than left to autograd:

* passes over N x F tensors: the bias rides in the GEMM (``addmm``) or in the first pass of
  the shift-and-add, nothing N x F is saved that the backward does not read, and the
  backward applies Âᵀ (tridiagonal too) to the narrow side only;
* first-touch page faults: a fresh tensor of hundreds of MiB is faulted in 4 KiB at a time,
  which on Linux costs several times the copy itself. Outputs above ``_HUGE_MIN`` bytes are
  advised as transparent huge pages before their first write (what PyTorch's own
  ``THP_MEM_ALLOC_ENABLE=1`` does for every allocation), so they fault 2 MiB at a time.
"""

from __future__ import annotations

import ctypes
import functools
import sys

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

_HUGE_MIN = 8 << 20
_HUGE_PAGE = 2 << 20
_MADV_HUGEPAGE = 14


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
    lower, diag, upper = (b.unsqueeze(-1) for b in bands.to(x.dtype))
    if bias is None:
        torch.mul(x, diag, out=out)
    else:
        torch.addcmul(bias, x, diag, out=out)
    out[1:].addcmul_(lower[1:], x[:-1])
    out[:-1].addcmul_(upper[:-1], x[1:])
    return out


def propagate(bands: Tensor, x: Tensor, bias: Tensor | None = None) -> Tensor:
    return tridiagonal_into(bands, x, empty_rows(x.size(0), x.size(1), x), bias)


class PathConv(torch.autograd.Function):
    r"""``(x [N, in], weight [out, in], bias [out] or None, bands, bands_t) -> [N, out]``.

    Â goes on the narrower side: with in < out, ``(Â x) Wᵀ + b`` (Â x saved, N x in);
    otherwise ``Â (x Wᵀ) + b`` (x saved, which autograd would keep anyway). The backward is
    the transposed product, Âᵀ again tridiagonal, applied to whichever side is narrow."""

    @staticmethod
    def forward(ctx, x, weight, bias, bands, bands_t):
        n, fout = x.size(0), weight.size(0)
        ctx.propagate_first = weight.size(1) < fout
        ctx.bands_t = bands_t
        if ctx.propagate_first:
            ax = propagate(bands, x)
            out = empty_rows(n, fout, x)
            if bias is None:
                torch.mm(ax, weight.t(), out=out)
            else:
                torch.addmm(bias, ax, weight.t(), out=out)
            ctx.save_for_backward(ax, weight)
            return out
        h = torch.mm(x, weight.t(), out=empty_rows(n, fout, x))
        ctx.save_for_backward(x, weight)
        return propagate(bands, h, bias)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        saved, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        grad_x = grad_w = grad_b = None
        if need_b:
            grad_b = grad.sum(0)
        if ctx.propagate_first:  # saved = Â x
            if need_w:
                grad_w = grad.t() @ saved
            if need_x:
                gw = torch.mm(grad, weight, out=empty_rows(grad.size(0), weight.size(1), grad))
                grad_x = propagate(ctx.bands_t, gw)
        else:  # saved = x
            g = propagate(ctx.bands_t, grad)
            if need_w:
                grad_w = g.t() @ saved
            if need_x:
                grad_x = torch.mm(g, weight, out=empty_rows(g.size(0), weight.size(1), g))
        return grad_x, grad_w, grad_b, None, None
