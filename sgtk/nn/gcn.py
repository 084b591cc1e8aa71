r"""A hand-written graph convolution (Kipf & Welling 2017), sparse only."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, NamedTuple

import torch
from torch import Tensor, nn

from sgtk.errors import SgtkError
from sgtk.nn.gcn_graph import as_edges, gcn_norm
from sgtk.nn.gcn_path import PathConv

if TYPE_CHECKING:
    from torch_geometric.nn import GCNConv

__all__ = ["GCNLayer", "gcn_norm"]

_HALF = (torch.float16, torch.bfloat16)


class NormalizedAdjacency:
    """Â as a linear operator, built once per graph structure from its normalised edges.

    Path graphs (every edge joins i and i±1) make Â tridiagonal, so ``Â X`` is a weighted
    shift-and-add over rows: three memory-bound passes, no gather and no scatter. Any other
    graph is stored as CSR (and its transpose, for the backward pass).
    """

    def __init__(self, row: Tensor, col: Tensor, norm: Tensor, num_nodes: int):
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

    def propagate(self, x: Tensor) -> Tensor:
        """Â X."""
        # Â is kept in full precision; under autocast the SpMM/shift-add runs in float32.
        with torch.autocast(x.device.type, enabled=False):
            x = x.float() if x.dtype in _HALF else x
            if x.dim() == 2 or self.tridiagonal:
                return _AdjacencyMatmul.apply(x, self)
            # A static graph under batched features [..., N, F]: one SpMM over [N, (...)·F].
            flat = x.movedim(-2, 0)
            out = _AdjacencyMatmul.apply(flat.reshape(self.num_nodes, -1), self)
            return out.view(flat.shape).movedim(0, -2)


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
    out[..., 1:, :].addcmul_(lower[1:], x[..., :-1, :])
    out[..., :-1, :].addcmul_(upper[:-1], x[..., 1:, :])
    return out


class _AdjacencyMatmul(torch.autograd.Function):
    # A custom Function so that backward is Â^T G (also tridiagonal, or the cached CSR^T)
    # and nothing of size N x F is saved for it.
    @staticmethod
    def forward(ctx, x: Tensor, op: NormalizedAdjacency) -> Tensor:
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


class _CachedAdjacency(NamedTuple):
    """The last graph a layer saw, and its Â (valid while ``key`` matches)."""

    adj: object
    edge_weight: Tensor | None
    key: tuple[object, ...]
    operator: NormalizedAdjacency


def _gather_scatter(x: Tensor, row: Tensor, col: Tensor, norm: Tensor) -> Tensor:
    """Plain-autograd propagation: for learnable edge weights and under ``torch.compile``."""
    msg = x.index_select(-2, row) * norm.unsqueeze(-1)
    return torch.zeros_like(x).index_add_(-2, col, msg)


class GCNLayer(nn.Module):
    r"""Graph convolution :math:`H' = \hat A H W^\top + b` (apply σ outside, as with GCNConv).

    .. math::
        \hat A = \tilde D^{-1/2} (A + I) \tilde D^{-1/2}, \qquad
        \tilde D_{ii} = \sum_j (A + I)_{ji}

    A drop-in for ``torch_geometric.nn.GCNConv``: the same arguments, inputs and state-dict
    keys (``lin.weight`` [out, in], ``bias`` [out]), and the same outputs to 1e-5. It never
    forms a dense N×N matrix: path graphs propagate by shift-and-add (Â is tridiagonal), other
    graphs by CSR SpMM. Â is applied on the narrower side, (ÂH)Wᵀ when in < out and Â(HWᵀ)
    otherwise. Learnable edge weights, and ``torch.compile``, take a plain gather/scatter path.

    Unlike GCNConv, the normalisation is cached by default, per graph: keyed on the
    ``edge_index`` object (and its in-place version), so a batch structure that is reused
    across steps (as :mod:`sgtk.graphs.views` does) is normalised once and a new graph is never
    served a stale one. ``cached=True`` is GCNConv's transductive cache: the first graph's
    normalisation is kept for every later call, whatever graph is passed.

    Args:
        in_channels: size of each input node feature.
        out_channels: size of each output node feature.
        improved: Â = A + 2I.
        cached: keep the first graph's normalisation for good (GCNConv's semantics).
        add_self_loops: add self-loops; defaults to ``normalize``.
        normalize: symmetric normalisation; without it Â = A (weighted), no loops.
        bias: learn an additive bias.
        flow: ``"source_to_target"`` or ``"target_to_source"``, for ``edge_index`` input.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        improved: bool = False,
        cached: bool = False,
        add_self_loops: bool | None = None,
        normalize: bool = True,
        bias: bool = True,
        flow: str = "source_to_target",
    ):
        super().__init__()
        if add_self_loops is None:
            add_self_loops = normalize
        if add_self_loops and not normalize:
            raise SgtkError("add_self_loops=True needs normalize=True: drop one of them")
        if flow not in ("source_to_target", "target_to_source"):
            raise SgtkError(f"flow={flow!r}: use 'source_to_target' or 'target_to_source'")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.improved, self.cached, self.flow = improved, cached, flow
        self.add_self_loops, self.normalize = add_self_loops, normalize
        # skip_init: one random draw (glorot, below), so seeded runs start where they used to.
        self.lin = nn.utils.skip_init(nn.Linear, in_channels, out_channels, bias=False)
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    @property
    def weight(self) -> Tensor:
        """``lin.weight`` [out, in], under the name this layer used before it matched GCNConv."""
        return self.lin.weight

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.lin.weight)  # GCNConv's glorot
        if self.bias is not None:
            nn.init.zeros_(self.bias)
        # The last graph's normalisation, see _adjacency.
        self._cache: _CachedAdjacency | None = None
        self._fixed: NormalizedAdjacency | None = None

    def rename_old_keys(self, state_dict: dict, prefix: str) -> None:
        # Checkpoints written before the GCNConv-compatible keys name the weight `weight`.
        old, new = prefix + "weight", prefix + "lin.weight"
        if old in state_dict and new not in state_dict:
            state_dict[new] = state_dict.pop(old)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        self.rename_old_keys(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _normalised(
        self, adj, edge_weight: Tensor | None, num_nodes: int, dtype: torch.dtype
    ) -> tuple[Tensor, Tensor, Tensor]:
        edge_index, weight, loops = as_edges(adj, edge_weight, num_nodes, self.flow)
        if weight is not None:
            weight = weight.to(dtype)
        if not self.normalize:
            if weight is None:
                weight = torch.ones(edge_index.size(1), dtype=dtype, device=edge_index.device)
            return edge_index[0], edge_index[1], weight
        fill = 2.0 if self.improved else 1.0
        return gcn_norm(
            edge_index, num_nodes, weight, dtype, fill_value=fill,
            add_self_loops=self.add_self_loops, loops=loops,
        )  # fmt: skip

    def _adjacency(
        self, adj, edge_weight, num_nodes: int, dtype: torch.dtype
    ) -> NormalizedAdjacency:
        if self.cached and self._fixed is not None:
            return self._fixed
        ew_version = None if edge_weight is None else edge_weight._version
        key: tuple[object, ...] = (getattr(adj, "_version", 0), ew_version, num_nodes, dtype)
        key += (self.improved, self.add_self_loops, self.normalize, self.flow)
        c = self._cache
        if c is not None and c.adj is adj and c.edge_weight is edge_weight and c.key == key:
            return c.operator
        op = NormalizedAdjacency(*self._normalised(adj, edge_weight, num_nodes, dtype), num_nodes)
        self._cache = _CachedAdjacency(adj, edge_weight, key, op)
        if self.cached:
            self._fixed = op
        return op

    def _lin(self, x: Tensor) -> Tensor:
        w = self.lin.weight
        return torch.sparse.mm(x, w.t()) if x.is_sparse else x @ w.t()

    def _fused(self, x: Tensor) -> bool:
        """Whether the one-node path-graph layer (:class:`PathConv`) serves ``x``: a single
        graph's dense [N, F] features in the weights' full-precision dtype, no autocast."""
        return (
            x.dim() == 2
            and x.layout == torch.strided
            and x.dtype in (torch.float32, torch.float64)
            and x.dtype == self.lin.weight.dtype
            and not torch.is_autocast_enabled(x.device.type)
        )

    def forward(self, x: Tensor, edge_index, edge_weight: Tensor | None = None) -> Tensor:
        """``x`` [N, F] or [..., N, F]; ``edge_index`` [2, E], a torch.sparse ``adj_t`` or a
        ``SparseTensor``; ``edge_weight`` [E] only with ``edge_index``."""
        num_nodes = x.size(-2)
        dtype = torch.float32 if x.dtype in _HALF else x.dtype
        learnable = (edge_weight is not None and edge_weight.requires_grad) or (
            isinstance(edge_index, Tensor) and edge_index.requires_grad
        )
        if learnable or torch.compiler.is_compiling():
            # Autograd through the normalisation; under compile, traceable ops only.
            row, col, norm = self._normalised(edge_index, edge_weight, num_nodes, dtype)
            h = self._lin(x)
            out = _gather_scatter(h, row, col, norm.to(h.dtype))
        else:
            op = self._adjacency(edge_index, edge_weight, num_nodes, dtype)
            if op.tridiagonal and self._fused(x):
                return PathConv.apply(x, self.lin.weight, self.bias, op.bands, op.bands_t)
            if self.in_channels < self.out_channels and not x.is_sparse:
                out = op.propagate(x) @ self.lin.weight.t()
            else:
                out = op.propagate(self._lin(x))
        return out if self.bias is None else out + self.bias

    @classmethod
    def from_pyg(cls, conv: GCNConv) -> GCNLayer:
        """A GCNLayer with ``conv``'s options and a copy of its weights (a PyG ``GCNConv``)."""
        if getattr(conv, "aggr", "add") != "add" or getattr(conv, "node_dim", -2) != -2:
            raise SgtkError("GCNConv with aggr/node_dim other than 'add'/-2: not supported")
        layer = cls(
            conv.in_channels, conv.out_channels, conv.improved, conv.cached,
            conv.add_self_loops, conv.normalize, conv.bias is not None, conv.flow,
        ).to(conv.lin.weight)  # fmt: skip
        layer.load_state_dict(conv.state_dict())  # after .to(): float64 weights stay exact
        return layer

    def to_pyg(self) -> nn.Module:
        """A PyG ``GCNConv`` with this layer's options and a copy of its weights."""
        from torch_geometric.nn import GCNConv

        conv = GCNConv(
            self.in_channels, self.out_channels, self.improved, self.cached,
            self.add_self_loops, self.normalize, self.bias is not None, flow=self.flow,
        ).to(self.lin.weight)  # fmt: skip
        conv.load_state_dict(self.state_dict())
        return conv

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"
