r"""Hand-written recurrent cells, from ``nn.Parameter`` only, after their papers' equations.

Both cells run the whole sequence inside one ``autograd.Function``: the forward pass keeps the
gate activations, the backward pass walks back in time (backpropagation through time, Werbos
1990) and takes the weight gradients as **one GEMM over all steps** instead of T small ones.
The time loops are small C++ kernels that fuse each step's element-wise work where they can be
built (``_lstm_kernel`` for the LSTM, ``_cells`` for the RNN and the GRU), the same maths in
Python otherwise. ``sgtk bench`` times both
cells against oneDNN-backed ``nn.RNN``/``nn.LSTM``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sgtk.errors import SgtkError
from sgtk.nn import _cells as cells
from sgtk.nn._lstm_kernel import backward_loop, forward_loop
from sgtk.nn._torch_names import TorchNamedCell


def _full_precision(x: Tensor):
    # The fused loops write into preallocated buffers of the parameters' dtype, so they run
    # outside autocast; the GEMMs are a small part of a palindrome step anyway.
    return torch.autocast(x.device.type, enabled=False)


def _flat(t: Tensor) -> Tensor:
    return t.reshape(-1, t.shape[-1])


class _RNNFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, h0: Tensor, w_hx: Tensor, w_hh: Tensor, b_h: Tensor):
        # x: [T, B, D] time-major; returns all hidden states [T, B, H].
        steps = x.shape[0]
        z = torch.addmm(b_h, _flat(x), w_hx.t()).view(steps, x.shape[1], -1)
        hs = cells.rnn_forward(z, h0, w_hh)
        ctx.save_for_backward(x, w_hx, w_hh, hs)
        return hs[1:]

    @staticmethod
    def backward(ctx, grad_hs: Tensor):
        x, w_hx, w_hh, hs = ctx.saved_tensors
        dz, dh = cells.rnn_backward(grad_hs, hs, w_hh)
        dz_flat = _flat(dz)
        grad_x = (dz_flat @ w_hx).view_as(x) if ctx.needs_input_grad[0] else None
        grad_w_hx = (_flat(x).t() @ dz_flat).t()  # skinny GEMMs are faster this way round
        grad_w_hh = dz_flat.t() @ _flat(hs[:-1])
        return grad_x, dh, grad_w_hx, grad_w_hh, dz_flat.sum(0)


# Gates are kept in nn.LSTM's order (i, f, g, o) so weights copy across unchanged; internally
# the sigmoid gates are moved together (i, f, o, g) so that one sigmoid and one tanh cover them.
def _ifgo_to_ifog(w: Tensor) -> Tensor:
    i, f, g, o = w.chunk(4, 0)
    return torch.cat([i, f, o, g])


def _ifog_to_ifgo(w: Tensor) -> Tensor:
    i, f, o, g = w.chunk(4, 0)
    return torch.cat([i, f, g, o])


class _LSTMFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, h0: Tensor, c0: Tensor, w_x: Tensor, w_h: Tensor, b: Tensor):
        steps = x.shape[0]
        w_x, w_h, b = _ifgo_to_ifog(w_x), _ifgo_to_ifog(w_h), _ifgo_to_ifog(b)
        acts, cs, hs, tanh_c = forward_loop(x, h0, c0, w_x, w_h, b)
        ctx.save_for_backward(x, w_x, w_h, acts, cs, hs, tanh_c)
        return hs[1:], cs[steps]

    @staticmethod
    def backward(ctx, grad_hs: Tensor, grad_c_last: Tensor):
        x, w_x, w_h, acts, cs, hs, tanh_c = ctx.saved_tensors
        dc = grad_c_last if grad_c_last is not None else torch.zeros_like(hs[0])
        dgates, dh, dc = backward_loop(grad_hs, dc, acts, cs, tanh_c, w_h)
        dg_flat = _flat(dgates)
        grad_x = (dg_flat @ w_x).view_as(x) if ctx.needs_input_grad[0] else None
        # Skinny GEMMs (d is small) are several times faster this way round. A column of
        # ones makes the bias gradient (the column sums of dgates) one more row of the same
        # GEMM, so dgates, the largest tensor here, is read once for both (~2 % of a step).
        x_flat = _flat(x)
        x_ones = torch.cat([x_flat, x_flat.new_ones(x_flat.shape[0], 1)], 1)
        grad_w_x_b = (x_ones.t() @ dg_flat).t()
        grad_w_x = _ifog_to_ifgo(grad_w_x_b[:, :-1])
        grad_w_h = _ifog_to_ifgo(dg_flat.t() @ _flat(hs[:-1]))
        grad_b = _ifog_to_ifgo(grad_w_x_b[:, -1])
        return grad_x, dh, dc, grad_w_x, grad_w_h, grad_b


class VanillaRNN(TorchNamedCell):
    r"""Elman RNN (Elman 1990): :math:`h^{(t)} = \tanh(W_{hx} x^{(t)} + W_{hh} h^{(t-1)} + b_h)`.

    The output projection :math:`p^{(t)} = W_{ph} h^{(t)} + b_p` (eq. 2) lives in the task
    head, so the same cell serves classification, regression and language models.

    Named as ``nn.RNNCell``: ``weight_ih`` (:math:`W_{hx}`) [n, d], ``weight_hh`` [n, n] and
    :math:`b_h` = ``bias_ih`` + ``bias_hh`` [n], where only ``bias_ih`` is a parameter and the
    buffer ``bias_hh`` is zero unless copied from torch (see :mod:`sgtk.nn._torch_names`).

    Args:
        input_size: d, the size of :math:`x^{(t)}`.
        hidden_size: n, the number of hidden units.
        init: ``"xavier"`` (Xavier-normal, Glorot & Bengio 2010) or ``"orthogonal"`` (orthogonal
            :math:`W_{hh}`, which keeps gradients alive over hundreds of steps).
    """

    bias_hh: Tensor  # a buffer
    OLD_NAMES = {"weight_hx": "weight_ih", "bias_h": "bias_ih"}
    TORCH = (nn.RNN, nn.RNNCell)
    TORCH_KWARGS = {"nonlinearity": "tanh"}

    def __init__(self, input_size: int, hidden_size: int, init: str = "xavier"):
        super().__init__()
        if init not in ("xavier", "orthogonal"):
            raise SgtkError(f"unknown RNN init {init!r}: use 'xavier' or 'orthogonal'")
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.zeros(hidden_size))
        self.register_buffer("bias_hh", torch.zeros(hidden_size))
        nn.init.xavier_normal_(self.weight_ih)
        if init == "orthogonal":
            nn.init.orthogonal_(self.weight_hh)
        else:
            nn.init.xavier_normal_(self.weight_hh)

    def forward(self, x: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``x`` [B, T, d] -> (all hidden states [B, T, n], last hidden state [B, n])."""
        self.check_input(x, h0)
        x = x.to(self.weight_hh.dtype)
        if h0 is None:
            h0 = x.new_zeros(x.shape[0], self.hidden_size)
        bias = self.bias_ih + self.bias_hh
        with _full_precision(x):
            hs = _RNNFunction.apply(
                x.transpose(0, 1), h0.to(x.dtype), self.weight_ih, self.weight_hh, bias
            )
        return hs.transpose(0, 1), hs[-1]


class LSTM(TorchNamedCell):
    r"""LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000), one layer.

    .. math::
        g &= \tanh(W_{gx} x + W_{gh} h + b_g) \qquad i = \sigma(W_{ix} x + W_{ih} h + b_i) \\
        f &= \sigma(W_{fx} x + W_{fh} h + b_f) \qquad o = \sigma(W_{ox} x + W_{oh} h + b_o) \\
        c^{(t)} &= g \odot i + c^{(t-1)} \odot f \qquad h^{(t)} = \tanh(c^{(t)}) \odot o

    Named as ``nn.LSTMCell``: the four gates are stacked in ``weight_ih`` [4n, d],
    ``weight_hh`` [4n, n] and ``bias_ih`` [4n] in its order (i, f, g, o): 4(dn + n² + n)
    parameters, one bias per gate. ``bias_hh`` [4n] is a buffer added to ``bias_ih``, zero
    unless copied from torch (see :mod:`sgtk.nn._torch_names`).

    Args:
        init: ``"xavier"`` (the seed), ``"forget"`` (Xavier plus ``forget_bias`` on f) or
            ``"chrono"`` (Tallec & Ollivier 2018: :math:`b_f \sim \log U(1, T_{max}-1)`,
            :math:`b_i = -b_f`, so that memory time scales span up to ``t_max`` steps).
    """

    bias_hh: Tensor  # a buffer
    OLD_NAMES = {"weight_x": "weight_ih", "weight_h": "weight_hh", "bias": "bias_ih"}
    TORCH = (nn.LSTM, nn.LSTMCell)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        init: str = "xavier",
        forget_bias: float = 1.0,
        t_max: int = 100,
    ):
        super().__init__()
        if init not in ("xavier", "forget", "chrono"):
            raise SgtkError(f"unknown LSTM init {init!r}: use xavier, forget or chrono")
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.zeros(4 * hidden_size))
        self.register_buffer("bias_hh", torch.zeros(4 * hidden_size))
        for w in (*self.weight_ih.chunk(4, 0), *self.weight_hh.chunk(4, 0)):
            nn.init.xavier_normal_(w)
        n = hidden_size
        with torch.no_grad():
            if init == "forget":
                self.bias_ih[n : 2 * n] = forget_bias
            elif init == "chrono":
                b_f = torch.log(torch.empty(n).uniform_(1, max(t_max - 1, 2)))
                self.bias_ih[n : 2 * n] = b_f
                self.bias_ih[:n] = -b_f

    def forward(
        self, x: Tensor, state: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """``x`` [B, T, d] -> (all hidden states [B, T, n], (h_T, c_T))."""
        self.check_input(x, *(state or ()))
        x = x.to(self.weight_hh.dtype)
        if state is None:
            zeros = x.new_zeros(x.shape[0], self.hidden_size)
            state = (zeros, zeros)
        with _full_precision(x):
            hs, c_last = _LSTMFunction.apply(
                x.transpose(0, 1),
                state[0].to(x.dtype),
                state[1].to(x.dtype),
                self.weight_ih,
                self.weight_hh,
                self.bias_ih + self.bias_hh,
            )
        return hs.transpose(0, 1), (hs[-1], c_last)


def num_lstm_parameters(input_size: int, hidden_size: int) -> int:
    """The parameter count of one LSTM layer, 4(dn + n² + n)."""
    return 4 * (input_size * hidden_size + hidden_size**2 + hidden_size)
