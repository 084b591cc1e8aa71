"""The Elman RNN's and the GRU's time loops: C++ (``_cells_kernel.cpp``) where it builds,
Python otherwise.

As for the LSTM (:mod:`sgtk.nn._lstm_kernel`), the C++ loops fuse each step's element-wise
work into one pass and leave the GEMMs to ATen; both loops compute the same maths and return
the same tensors, so either backward serves either forward. The extension is built once per
machine and CPU capability (the capability is in its name, with the matching ``-m`` flags,
from the LSTM's scheme); ``SGTK_NO_EXT=1``, no compiler, or a failed build: the Python loops.
"""

from __future__ import annotations

import threading
from pathlib import Path

import torch
from torch import Tensor

from sgtk.nn import _lstm_kernel as lstm_ext

_SOURCE = Path(__file__).with_name("_cells_kernel.cpp")
_lock = threading.Lock()
_state: dict[str, object] = {}


def cells_kernel() -> object | None:
    """The ops (``rnn_forward``, ``gru_backward``, ...), or ``None`` where disabled or not
    buildable: the LSTM's loader, flags and build lock (:func:`lstm_ext.load_once`)."""
    return lstm_ext.load_once(_state, _lock, "sgtk_cells", _SOURCE, "RNN/GRU")


def build_seconds() -> float | None:
    """Seconds the first :func:`cells_kernel` call took here (a cache hit is fast)."""
    return _state.get("seconds")  # type: ignore[return-value]


def _kernel_for(t: Tensor):
    return lstm_ext.kernel_for(t, cells_kernel)


# ---- Elman RNN ------------------------------------------------------------------------------
def rnn_forward(z: Tensor, h0: Tensor, w_hh: Tensor) -> Tensor:
    """z [T, B, H] = x W_hx^T + b (consumed); returns hs [T+1, B, H], hs[0] = h0."""
    kernel = _kernel_for(z)
    if kernel is not None:
        return kernel.rnn_forward(z, h0.contiguous(), w_hh.contiguous())
    steps = z.shape[0]
    hs = torch.empty(steps + 1, *h0.shape, dtype=z.dtype, device=z.device)
    hs[0] = h0
    w_hh_t = w_hh.t()
    for t in range(steps):
        # tanh(z) = 2 sigmoid(2z) - 1, several times faster than ATen's CPU tanh.
        torch.addmm(z[t], hs[t], w_hh_t, beta=2, alpha=2, out=hs[t + 1]).sigmoid_()
        hs[t + 1].mul_(2).sub_(1)
    return hs


def rnn_backward(grad_hs: Tensor, hs: Tensor, w_hh: Tensor) -> tuple[Tensor, Tensor]:
    """Returns (dz [T, B, H], the gradient of h0)."""
    kernel = _kernel_for(hs)
    if kernel is not None:
        dz, dh = kernel.rnn_backward(grad_hs, hs, w_hh.contiguous())
        return dz, dh
    steps = grad_hs.shape[0]
    dtanh = 1 - hs[1:] * hs[1:]  # tanh' for every step at once
    dz = torch.empty_like(dtanh)
    dh = torch.zeros_like(hs[0])
    has_grad = grad_hs.flatten(1).ne(0).any(1).tolist()  # a classifier: the last step only
    for t in range(steps - 1, -1, -1):
        if has_grad[t]:
            dh.add_(grad_hs[t])
        torch.mul(dh, dtanh[t], out=dz[t])
        dh = dz[t] @ w_hh
    return dz, dh


# ---- GRU ------------------------------------------------------------------------------------
def gru_forward(xg: Tensor, h0: Tensor, w_h: Tensor, b_h: Tensor):
    """xg [T, B, 3n] = x W_x^T + b_x. Returns (rz [T, B, 2n], cand, hn [T, B, n], hs [T+1, B, n]):
    the gates r and z, the candidate n, W_hn h + b_hn (for the gradient of r), the states."""
    kernel = _kernel_for(xg)
    if kernel is not None:
        return kernel.gru_forward(xg, h0.contiguous(), w_h.contiguous(), b_h.contiguous())
    steps, batch = xg.shape[:2]
    n = h0.shape[-1]
    w_h_t = w_h.t()
    rz = xg.new_empty(steps, batch, 2 * n)
    cand = xg.new_empty(steps, batch, n)
    hn = torch.empty_like(cand)
    hs = xg.new_empty(steps + 1, batch, n)
    hs[0] = h0
    for t in range(steps):
        hg = torch.addmm(b_h, hs[t], w_h_t)
        torch.add(xg[t, :, : 2 * n], hg[:, : 2 * n], out=rz[t]).sigmoid_()
        r, z = rz[t, :, :n], rz[t, :, n:]
        hn[t] = hg[:, 2 * n :]
        # n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); the hidden bias stays inside r.
        torch.addcmul(xg[t, :, 2 * n :], r, hn[t], out=cand[t]).tanh_()
        # h' = (1 - z) n + z h = n + z (h - n)
        torch.addcmul(cand[t], z, hs[t] - cand[t], out=hs[t + 1])
    return rz, cand, hn, hs


def gru_backward(grad_hs: Tensor, rz: Tensor, cand: Tensor, hn: Tensor, hs: Tensor, w_h: Tensor):
    """Returns (dxg, dhg [T, B, 3n]: the gradients of x W_x^T + b_x and h W_h^T + b_h, and
    the gradient of h0)."""
    kernel = _kernel_for(hs)
    if kernel is not None:
        return kernel.gru_backward(grad_hs, rz, cand, hn, hs, w_h.contiguous())
    steps, n = cand.shape[0], cand.shape[-1]
    r, z = rz[..., :n], rz[..., n:]
    # Factors that do not depend on the running dh, for all steps at once:
    # d a_n = dh (1 - z)(1 - n^2); d a_z = dh (h_prev - n) z (1 - z); d a_r = d a_n hn r (1 - r)
    to_cand = (1 - z) * (1 - cand * cand)
    to_z = (hs[:-1] - cand) * z * (1 - z)
    to_r = hn * r * (1 - r)
    dhg = rz.new_empty(steps, rz.shape[1], 3 * n)
    dcand = torch.empty_like(cand)  # grad of W_in x + b_in + r * hn
    dh = torch.zeros_like(hs[0])
    has_grad = grad_hs.flatten(1).ne(0).any(1).tolist()
    for t in range(steps - 1, -1, -1):
        if has_grad[t]:
            dh.add_(grad_hs[t])
        torch.mul(dh, to_cand[t], out=dcand[t])
        torch.mul(dcand[t], to_r[t], out=dhg[t, :, :n])
        torch.mul(dh, to_z[t], out=dhg[t, :, n : 2 * n])
        torch.mul(dcand[t], r[t], out=dhg[t, :, 2 * n :])
        dh = torch.addmm(dh * z[t], dhg[t], w_h)
    return torch.cat([dhg[..., : 2 * n], dcand], -1), dhg, dh
