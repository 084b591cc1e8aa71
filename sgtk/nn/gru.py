r"""A hand-written GRU (Cho et al. 2014) in ``nn.GRU``'s convention, one layer.

Like the cells of :mod:`sgtk.nn.rnn`, the whole sequence runs inside one
``autograd.Function``: the backward pass walks back in time and takes the weight gradients as
one GEMM over all steps.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from sgtk.nn.rnn import _flat, _full_precision


class _GRUFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, h0: Tensor, w_x: Tensor, w_h: Tensor, b_x: Tensor, b_h: Tensor):
        # x: [T, B, d] time-major; returns all hidden states [T, B, n].
        steps, batch = x.shape[:2]
        n = h0.shape[-1]
        xg = torch.addmm(b_x, _flat(x), w_x.t()).view(steps, batch, 3 * n)
        w_h_t = w_h.t()
        rz = torch.empty(steps, batch, 2 * n, dtype=xg.dtype, device=xg.device)
        cand = torch.empty(steps, batch, n, dtype=xg.dtype, device=xg.device)
        hn = torch.empty_like(cand)  # W_hn h + b_hn, kept for the gradient of r
        hs = torch.empty(steps + 1, batch, n, dtype=xg.dtype, device=xg.device)
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
        ctx.save_for_backward(x, w_x, w_h, rz, cand, hn, hs)
        return hs[1:]

    @staticmethod
    def backward(ctx, grad_hs: Tensor):
        x, w_x, w_h, rz, cand, hn, hs = ctx.saved_tensors
        steps = x.shape[0]
        n = hs.shape[-1]
        r, z = rz[..., :n], rz[..., n:]
        # Factors that do not depend on the running dh, for all steps at once:
        # d a_n = dh (1 - z)(1 - n^2); d a_z = dh (h_prev - n) z (1 - z); d a_r = d a_n hn r (1 - r)
        to_cand = (1 - z) * (1 - cand * cand)
        to_z = (hs[:-1] - cand) * z * (1 - z)
        to_r = hn * r * (1 - r)
        dhg = rz.new_empty(steps, rz.shape[1], 3 * n)  # grads of W_h h + b_h
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
        dxg = torch.cat([dhg[..., : 2 * n], dcand], -1)
        dxg_flat, dhg_flat = _flat(dxg), _flat(dhg)
        grad_x = (dxg_flat @ w_x).view_as(x) if ctx.needs_input_grad[0] else None
        grad_w_x = (_flat(x).t() @ dxg_flat).t()  # skinny GEMMs are faster this way round
        grad_w_h = dhg_flat.t() @ _flat(hs[:-1])
        return grad_x, dh, grad_w_x, grad_w_h, dxg_flat.sum(0), dhg_flat.sum(0)


class GRU(nn.Module):
    r"""Gated recurrent unit, one layer, gates stacked in ``nn.GRU``'s order (r, z, n).

    .. math::
        r &= \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}) \qquad
        z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}) \\
        n &= \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn})) \qquad
        h^{(t)} = (1 - z) \odot n + z \odot h^{(t-1)}

    ``weight_x`` [3n, d], ``weight_h`` [3n, n], ``bias_x`` and ``bias_h`` [3n]: both biases are
    kept, as in ``nn.GRU``, because :math:`b_{hn}` sits inside the reset gate's product and
    does not fold into :math:`b_{in}`. Initialised like ``nn.GRU``: U(-1/sqrt(n), 1/sqrt(n)).
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_x = nn.Parameter(torch.empty(3 * hidden_size, input_size))
        self.weight_h = nn.Parameter(torch.empty(3 * hidden_size, hidden_size))
        self.bias_x = nn.Parameter(torch.empty(3 * hidden_size))
        self.bias_h = nn.Parameter(torch.empty(3 * hidden_size))
        bound = 1 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    @classmethod
    def from_torch(cls, gru: nn.GRU) -> GRU:
        """A hand-written copy of a one-layer, unidirectional ``nn.GRU``."""
        if gru.num_layers != 1 or gru.bidirectional or not gru.bias:
            raise ValueError("GRU.from_torch copies a one-layer, unidirectional nn.GRU with bias")
        cell = cls(gru.input_size, gru.hidden_size)
        w_ih, w_hh = gru.get_parameter("weight_ih_l0"), gru.get_parameter("weight_hh_l0")
        cell.to(w_ih)
        with torch.no_grad():
            cell.weight_x.copy_(w_ih)
            cell.weight_h.copy_(w_hh)
            cell.bias_x.copy_(gru.get_parameter("bias_ih_l0"))
            cell.bias_h.copy_(gru.get_parameter("bias_hh_l0"))
        return cell

    def forward(self, x: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``x`` [B, T, d] -> (all hidden states [B, T, n], last hidden state [B, n])."""
        x = x.to(self.weight_h.dtype)
        if h0 is None:
            h0 = x.new_zeros(x.shape[0], self.hidden_size)
        with _full_precision(x):
            hs = _GRUFunction.apply(
                x.transpose(0, 1),
                h0.to(x.dtype),
                self.weight_x,
                self.weight_h,
                self.bias_x,
                self.bias_h,
            )
        return hs.transpose(0, 1), hs[-1]
