r"""A hand-written graph convolution (Kipf & Welling 2017; the seed's §3.1), sparse only."""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn

_HALF = (torch.float16, torch.bfloat16)


class _Propagation:
    """Â as a linear operator, built once per graph structure.

    Path graphs (every edge joins i and i±1) make Â tridiagonal, so ``Â X`` is a weighted
    shift-and-add over rows: three memory-bound passes, no gather and no scatter. Any other
    graph is stored as CSR (and its transpose, for the backward pass).
    """

    def __init__(
        self, edge_index: Tensor, num_nodes: int, edge_weight: Tensor | None, dtype: torch.dtype
    ):
        row, col, norm = gcn_norm(edge_index, num_nodes, edge_weight, dtype)
        self.num_nodes = num_nodes
        offset = row - col  # messages flow row (source) -> col (target)
        self.tridiagonal = bool(((offset >= -1) & (offset <= 1)).all())
        if self.tridiagonal:
            bands = norm.new_zeros(3, num_nodes)  # [from i-1, from i, from i+1] into node i
            bands.index_put_((offset + 1, col), norm, accumulate=True)
            self.bands = bands
            # Âᵀ swaps the bands: what node i sent to i+1 is what i+1 received from i.
            lower, diag, upper = bands
            self.bands_t = torch.stack([torch.roll(upper, 1), diag, torch.roll(lower, -1)])
        else:
            self.csr = _csr(col, row, norm, num_nodes)  # Â[i, j] = norm of j -> i
            self.csr_t = _csr(row, col, norm, num_nodes)

    def apply(self, x: Tensor) -> Tensor:
        # Â is kept in full precision; under autocast the SpMM/shift-add runs in float32.
        with torch.autocast(x.device.type, enabled=False):
            return _Propagate.apply(x.float() if x.dtype in _HALF else x, self)


def _csr(rows: Tensor, cols: Tensor, values: Tensor, n: int) -> Tensor:
    order = torch.argsort(rows * n + cols)  # duplicates stay as separate entries and add up
    crow = torch.zeros(n + 1, dtype=torch.long, device=rows.device)
    torch.cumsum(torch.bincount(rows, minlength=n), 0, out=crow[1:])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "sparse CSR support is in beta"
        return torch.sparse_csr_tensor(crow, cols[order], values[order], (n, n))


def _tridiagonal_mm(bands: Tensor, x: Tensor) -> Tensor:
    lower, diag, upper = (b.unsqueeze(-1).to(x.dtype) for b in bands)
    out = x * diag
    out[1:].addcmul_(lower[1:], x[:-1])
    out[:-1].addcmul_(upper[:-1], x[1:])
    return out


class _Propagate(torch.autograd.Function):
    # A custom Function so that backward is Â^T G (also tridiagonal, or the cached CSR^T)
    # and nothing of size N x F is saved for it.
    @staticmethod
    def forward(ctx, x: Tensor, op: _Propagation) -> Tensor:
        ctx.op = op
        if op.tridiagonal:
            return _tridiagonal_mm(op.bands, x)
        return op.csr.to(x.dtype) @ x

    @staticmethod
    def backward(ctx, grad: Tensor):
        op = ctx.op
        if op.tridiagonal:
            return _tridiagonal_mm(op.bands_t, grad), None
        return op.csr_t.to(grad.dtype) @ grad, None


def gcn_norm(
    edge_index: Tensor,
    num_nodes: int,
    edge_weight: Tensor | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Symmetric normalisation with self-loops, as ``GCNConv`` does it.

    Self-loops are added only where a node has none (an existing loop keeps its weight), and
    the degree is the weighted in-degree: :math:`\hat d_i = \sum_{j \to i} w_{ji}`.
    Returns ``(row, col, norm)`` with :math:`\mathrm{norm}_{ji} = \hat d_j^{-1/2} w_{ji}
    \hat d_i^{-1/2}` for every message :math:`j \to i` (row j, col i).
    """
    row, col = edge_index
    if edge_weight is None:
        edge_weight = torch.ones(row.numel(), dtype=dtype, device=row.device)
    is_loop = row == col
    loop_weight = edge_weight.new_ones(num_nodes)
    loop_weight[row[is_loop]] = edge_weight[is_loop]
    nodes = torch.arange(num_nodes, device=row.device)
    keep = ~is_loop
    row = torch.cat([row[keep], nodes])
    col = torch.cat([col[keep], nodes])
    weight = torch.cat([edge_weight[keep], loop_weight])
    deg = weight.new_zeros(num_nodes).index_add_(0, col, weight)
    deg_inv_sqrt = deg.pow(-0.5).masked_fill_(deg == 0, 0.0)
    return row, col, deg_inv_sqrt[row] * weight * deg_inv_sqrt[col]


class GCNLayer(nn.Module):
    r"""Graph convolution :math:`H' = \hat A H W^\top + b` (apply σ outside, as with GCNConv).

    .. math::
        \hat A = \tilde D^{-1/2} (A + I) \tilde D^{-1/2}, \qquad
        \tilde D_{ii} = \sum_j (A + I)_{ji}

    Numerically equal to ``torch_geometric.nn.GCNConv(in, out)`` given the same ``weight``
    ([out, in], GCNConv's ``lin.weight``) and ``bias`` ([out]). It never forms a dense N×N
    matrix: path graphs propagate by shift-and-add (Â is tridiagonal), other graphs by CSR
    SpMM. Â is applied on the narrower side, (ÂH)Wᵀ when in < out and Â(HWᵀ) otherwise.

    The normalisation is cached per ``edge_index`` object (and its in-place version), so a
    batch structure that is reused across steps (as :mod:`sgtk.views` does) is normalised once.
    A learnable ``edge_weight`` (one with ``requires_grad``) falls back to plain autograd.

    Args:
        in_channels: size of each input node feature.
        out_channels: size of each output node feature.
        bias: learn an additive bias.
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        nn.init.xavier_uniform_(self.weight)
        self._cache: tuple | None = None

    def _propagation(
        self, edge_index: Tensor, num_nodes: int, edge_weight: Tensor | None, dtype: torch.dtype
    ) -> _Propagation:
        c = self._cache
        if (
            c is not None
            and c[0] is edge_index
            and c[1] == edge_index._version
            and c[2] == num_nodes
            and c[3] is edge_weight
            and c[4] == dtype
        ):
            return c[5]
        op = _Propagation(edge_index, num_nodes, edge_weight, dtype)
        self._cache = (edge_index, edge_index._version, num_nodes, edge_weight, dtype, op)
        return op

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        num_nodes = x.shape[0]
        if edge_weight is not None and edge_weight.requires_grad:
            row, col, norm = gcn_norm(edge_index, num_nodes, edge_weight, x.dtype)
            h = x @ self.weight.t()
            out = torch.zeros_like(h).index_add_(0, col, h[row] * norm.unsqueeze(-1))
        else:
            op = self._propagation(
                edge_index, num_nodes, edge_weight, torch.float32 if x.dtype in _HALF else x.dtype
            )
            if self.in_channels < self.out_channels:
                out = op.apply(x) @ self.weight.t()
            else:
                out = op.apply(x @ self.weight.t())
        return out if self.bias is None else out + self.bias

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"
