r"""A hand-written GRU (Cho et al. 2014) in ``nn.GRU``'s convention, one layer.

Like the cells of :mod:`sgtk.nn.rnn`, the whole sequence runs inside one
``autograd.Function``: the backward pass walks back in time and takes the weight gradients as
one GEMM over all steps. The time loops are in :mod:`sgtk.nn._cells` (C++ where it builds).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from sgtk.errors import SgtkError
from sgtk.nn import _cells as cells
from sgtk.nn._torch_names import TorchNamedCell
from sgtk.nn.rnn import _flat, _full_precision


class _GRUFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, h0: Tensor, w_x: Tensor, w_h: Tensor, b_x: Tensor, b_h: Tensor):
        # x: [T, B, d] time-major; returns all hidden states [T, B, n].
        steps, batch = x.shape[:2]
        xg = torch.addmm(b_x, _flat(x), w_x.t()).view(steps, batch, -1)
        rz, cand, hn, hs = cells.gru_forward(xg, h0, w_h, b_h)
        ctx.save_for_backward(x, w_x, w_h, rz, cand, hn, hs)
        return hs[1:]

    @staticmethod
    def backward(ctx, grad_hs: Tensor):
        x, w_x, w_h, rz, cand, hn, hs = ctx.saved_tensors
        dxg, dhg, dh = cells.gru_backward(grad_hs, rz, cand, hn, hs, w_h)
        dxg_flat, dhg_flat = _flat(dxg), _flat(dhg)
        grad_x = (dxg_flat @ w_x).view_as(x) if ctx.needs_input_grad[0] else None
        grad_w_x = (_flat(x).t() @ dxg_flat).t()  # skinny GEMMs are faster this way round
        grad_w_h = dhg_flat.t() @ _flat(hs[:-1])
        return grad_x, dh, grad_w_x, grad_w_h, dxg_flat.sum(0), dhg_flat.sum(0)


class GRU(TorchNamedCell):
    r"""Gated recurrent unit, one layer, gates stacked in ``nn.GRU``'s order (r, z, n).

    .. math::
        r &= \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}) \qquad
        z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}) \\
        n &= \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn})) \qquad
        h^{(t)} = (1 - z) \odot n + z \odot h^{(t-1)}

    Named as ``nn.GRUCell``: ``weight_ih`` [3n, d], ``weight_hh`` [3n, n], ``bias_ih`` and
    ``bias_hh`` [3n]. Both biases are parameters, as in torch, because :math:`b_{hn}` sits
    inside the reset gate's product and does not fold into :math:`b_{in}`.

    Args:
        init: ``"xavier"``, the plain init every cell has under that name, which for the GRU
            is ``nn.GRU``'s own U(-1/sqrt(n), 1/sqrt(n)) for every weight and bias;
            ``"orthogonal"``: the same with each gate's [n, n] block of ``weight_hh``
            orthogonal; ``"chrono"`` (Tallec & Ollivier 2018): orthogonal blocks and the
            update gate's bias :math:`b_z \sim \log U(1, T_{max}-1)` (in ``bias_ih``, with
            ``bias_hh``'s z part zero), so that at init z is near 1 and h is kept, with memory
            time scales up to ``t_max`` steps.
    """

    OLD_NAMES = {
        "weight_x": "weight_ih",
        "weight_h": "weight_hh",
        "bias_x": "bias_ih",
        "bias_h": "bias_hh",
    }
    TORCH = (nn.GRU, nn.GRUCell)

    def __init__(self, input_size: int, hidden_size: int, init: str = "xavier", t_max: int = 100):
        super().__init__()
        if init not in ("xavier", "orthogonal", "chrono"):
            raise SgtkError(f"unknown GRU init {init!r}: use xavier, orthogonal or chrono")
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(3 * hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(3 * hidden_size))
        bound = 1 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)
        n = hidden_size
        with torch.no_grad():
            if init in ("orthogonal", "chrono"):
                for w in self.weight_hh.split(n):
                    nn.init.orthogonal_(w)
            if init == "chrono":
                # nn.GRU keeps h where z is 1 (h' = (1 - z) n + z h): a positive b_z keeps it.
                self.bias_ih[n : 2 * n] = torch.log(torch.empty(n).uniform_(1, max(t_max - 1, 2)))
                self.bias_hh[n : 2 * n] = 0

    def forward(self, x: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``x`` [B, T, d] -> (all hidden states [B, T, n], last hidden state [B, n])."""
        self.check_input(x, h0)
        x = x.to(self.weight_hh.dtype)
        if h0 is None:
            h0 = x.new_zeros(x.shape[0], self.hidden_size)
        with _full_precision(x):
            hs = _GRUFunction.apply(
                x.transpose(0, 1),
                h0.to(x.dtype),
                self.weight_ih,
                self.weight_hh,
                self.bias_ih,
                self.bias_hh,
            )
        return hs.transpose(0, 1), hs[-1]
