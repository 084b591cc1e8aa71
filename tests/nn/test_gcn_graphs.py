"""GCNLayer on graphs PyG's tests leave out, against Â written out by hand, on bad input, and
the one-node path-graph layer; the helpers are :mod:`tests.nn.test_gcn`'s."""

import math

import pytest
import torch

from sgtk.errors import SgtkError
from sgtk.graphs.views import path_edge_index
from sgtk.nn import GCNLayer
from tests.nn.test_gcn import SIZES, STAR, _adj_t, _check, _pair, _x

# ---- first principles: Â = D^-1/2 (A + I) D^-1/2 of the path 0 - 1 - 2 ----------------------
# A + I = [[1, 1, 0], [1, 1, 1], [0, 1, 1]], degrees (2, 3, 2): Â_ij = (A + I)_ij / sqrt(d_i d_j).
S6 = 0.4082482904638630  # 1 / sqrt(6) = 1 / sqrt(2 * 3)
A_HAT_PATH = [
    [0.5, S6, 0.0],
    [S6, 1 / 3, S6],
    [0.0, S6, 0.5],
]


def _by_hand(fin, fout, bias):
    torch.manual_seed(0)
    layer = GCNLayer(fin, fout, bias=bias).double()
    if bias:
        torch.nn.init.normal_(layer.bias)
    x = torch.randn(3, fin, dtype=torch.float64)
    return layer, x, torch.tensor(A_HAT_PATH, dtype=torch.float64)


def test_the_hand_written_number_is_one_over_root_six():
    assert S6 == pytest.approx(1 / math.sqrt(6), abs=1e-16)


@pytest.mark.parametrize("fin,fout", [(2, 4), (4, 2)])  # Â on either side of W
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("form", ["edge_index", "adj_t", "batched"])
def test_a_three_node_path_is_a_hat_x_w_by_hand(fin, fout, bias, form):
    layer, x, a_hat = _by_hand(fin, fout, bias)
    edges = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    want = a_hat @ x @ layer.lin.weight.detach().t()
    if bias:
        want = want + layer.bias.detach()
    if form == "edge_index":
        got = layer(x, edges)
    elif form == "adj_t":
        ones = torch.ones(4, dtype=torch.float64)
        got = layer(x, torch.sparse_coo_tensor(edges, ones, (3, 3)).to_sparse_csr().t())
    else:  # one graph under batched features: the shift-add, not the fused layer
        got = layer(torch.stack([x, 2 * x]), edges)
        want = torch.stack([want, 2 * want - (layer.bias.detach() if bias else 0)])
    torch.testing.assert_close(got, want, atol=1e-12, rtol=0)


def test_the_same_path_numbered_out_of_order_takes_csr_and_gives_the_same_a_hat():
    # Path 0 - 2 - 1: not tridiagonal in this numbering, so the CSR SpMM serves it.
    layer, x, a_hat = _by_hand(4, 2, True)
    order = torch.tensor([0, 2, 1])  # node k of the path is node order[k] here
    edges = torch.tensor([[0, 2, 2, 1], [2, 0, 1, 2]])
    x_here = torch.empty_like(x).index_copy_(0, order, x)
    got = layer(x_here, edges)
    assert not layer._cache[3].tridiagonal
    want = a_hat @ x @ layer.lin.weight.detach().t() + layer.bias.detach()
    torch.testing.assert_close(got[order], want, atol=1e-12, rtol=0)


# ---- graphs PyG's tests leave out; bad input ------------------------------------------------
@pytest.mark.parametrize("directed", [False, True])
def test_longer_path_graphs_take_the_fast_path(directed):
    ei = path_edge_index(4, 6, directed)
    layer, conv = _pair(3, 8)
    _check(layer, conv, _x(24, 3), (ei,))
    assert layer._cache[3].tridiagonal


def test_arbitrary_graph_with_isolated_nodes_loops_and_duplicates():
    edge_index = torch.randint(0, 20, (2, 60))
    loops = torch.tensor([[3, 3, 7], [3, 3, 7]])  # an existing (and repeated) self-loop
    edge_index = torch.cat([edge_index, edge_index[:, :6], loops], 1)  # duplicate edges
    layer, conv = _pair(8, 3)
    _check(layer, conv, _x(25, 8), (edge_index,))  # nodes 20..24 are isolated


def test_tridiagonal_graph_with_duplicates_and_loops():
    edge_index = torch.tensor([[0, 1, 1, 2, 2, 2, 3], [1, 0, 2, 1, 1, 2, 3]])
    layer, conv = _pair(3, 4)
    _check(layer, conv, _x(5, 3), (edge_index,))
    assert layer._cache[3].tridiagonal


def test_cache_follows_the_structure():
    layer, conv = _pair(2, 2)
    x = _x(6, 2)
    ei = path_edge_index(1, 6)
    layer(x, ei)
    other = torch.tensor([[0, 2, 4], [5, 1, 3]])
    torch.testing.assert_close(layer(x, other), conv(x, other), atol=1e-8, rtol=1e-5)
    ei2 = ei.clone()
    layer(x, ei2)
    ei2[1, 0] = 4  # edited in place: the cached normalisation must not be reused
    torch.testing.assert_close(layer(x, ei2), conv(x, ei2), atol=1e-8, rtol=1e-5)
    w = torch.rand(ei2.size(1), dtype=torch.double)
    layer(x, ei2, w)
    w.mul_(3.0)  # so are edited edge weights
    torch.testing.assert_close(layer(x, ei2, w), conv(x, ei2, w), atol=1e-8, rtol=1e-5)


@pytest.mark.parametrize(
    "args,problem",
    [
        ((torch.tensor([[0, 9], [1, 2]]),), "outside"),
        ((torch.tensor([0, 1, 2]),), "[2, E]"),
        ((STAR, torch.ones(4)), "one weight per edge"),
        ((_adj_t(STAR, torch.ones(6), torch.sparse_coo), torch.ones(6)), "put it in its values"),
        ((torch.sparse_coo_tensor(STAR, torch.ones(6), (4, 5)),), "N x N"),
        (([[0, 1], [1, 0]],), "cannot read a graph"),
    ],
)
def test_bad_graphs_raise_one_line_errors(args, problem):
    with pytest.raises(SgtkError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        GCNLayer(2, 2)(torch.randn(4, 2), *args)


def test_self_loops_without_normalisation_is_refused_like_gcnconv():
    with pytest.raises(SgtkError, match="normalize"):
        GCNLayer(2, 2, add_self_loops=True, normalize=False)


def test_init_is_one_glorot_draw_so_seeded_runs_do_not_move():
    torch.manual_seed(0)
    layer = GCNLayer(8, 16)
    after = torch.rand(1)
    torch.manual_seed(0)
    w = torch.nn.init.xavier_uniform_(torch.empty(16, 8))  # GCNConv's glorot, nothing else
    assert torch.equal(layer.lin.weight, w) and torch.equal(torch.rand(1), after)
    assert not layer.bias.any()


# ---- the one-node path-graph layer (sgtk.nn.gcn_path) -----------------------------------
@pytest.mark.parametrize("fin,fout", SIZES + [(16, 1)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_grad", [True, False])
def test_path_graph_layer_is_one_autograd_node_equal_to_gcnconv(fin, fout, bias, x_grad):
    layer, conv = _pair(fin, fout, bias=bias)
    x = torch.randn(9, fin, dtype=torch.double, requires_grad=x_grad)
    ei = path_edge_index(1, 9)
    assert type(layer(x, ei).grad_fn).__name__ == "PathConvBackward"
    _check(layer, conv, x, (ei,))
    # A gradient that is not contiguous, as .sum() hands back (an expanded scalar).
    ours = torch.autograd.grad(layer(x, ei).sum(), layer.lin.weight)
    torch.testing.assert_close(ours, torch.autograd.grad(conv(x, ei).sum(), conv.lin.weight))


def test_path_graph_layer_falls_back_where_it_does_not_serve():
    layer, conv = _pair(4, 6)
    ei = path_edge_index(1, 5)
    x = _x(2, 5, 4)  # one graph under batched features
    batched = layer(x, ei)
    assert type(batched.grad_fn).__name__ != "PathConvBackward"
    torch.testing.assert_close(batched, conv(x, ei), atol=1e-5, rtol=1e-5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        half = layer.float()(torch.randn(5, 4), ei)
    assert type(half.grad_fn).__name__ != "PathConvBackward"


def test_large_outputs_are_advised_huge_pages_small_ones_not(monkeypatch):
    from sgtk.nn import gcn_path

    calls = []
    monkeypatch.setattr(gcn_path, "_madvise", lambda: lambda *a: calls.append(a) or 0)
    like = torch.zeros(1)
    big = gcn_path.empty_rows(1 << 20, 4, like)  # 16 MiB
    (start, length, advice), *_ = calls
    assert advice == gcn_path._MADV_HUGEPAGE and start % gcn_path._HUGE_PAGE == 0
    assert length % gcn_path._HUGE_PAGE == 0 and length >= 14 << 20
    assert big.data_ptr() <= start and start + length <= big.data_ptr() + (16 << 20)
    gcn_path.empty_rows(100, 4, like)
    assert len(calls) == 1
