"""GCNLayer against PyG's GCNConv with the same weights, in float64, outputs and gradients.

The first block ports PyG's own ``test/nn/conv/test_gcn_conv.py``; every case runs on the
tridiagonal fast path (a path graph) and on the general CSR path (PyG's star graph).
"""

import pytest
import torch
from torch_geometric.nn import GCNConv

from sgtk.graphs.views import path_edge_index
from sgtk.nn import GCNLayer

STAR = torch.tensor([[0, 0, 0, 1, 2, 3], [1, 2, 3, 0, 0, 0]])  # PyG's test graph
GRAPHS = {"star": STAR, "path": path_edge_index(1, 4)}
SIZES = [(16, 32), (32, 16)]  # both ways round: Â goes on the narrower side of W


def _pair(fin, fout, **options):
    conv = GCNConv(fin, fout, **options).double()
    if conv.bias is not None:
        torch.nn.init.normal_(conv.bias)
    layer = GCNLayer(fin, fout, **options).double()
    layer.load_state_dict(conv.state_dict())  # GCNConv's keys load as they are
    return layer, conv


def _check(layer, conv, x, args, ref_args=None, leaves=()):
    """Outputs and gradients (x, weight, bias and ``leaves``) equal to 1e-5."""
    out, ref = layer(x, *args), conv(x, *(args if ref_args is None else ref_args))
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    g = torch.randn_like(ref)
    params = [p for p in (layer.lin.weight, layer.bias) if p is not None]
    ref_params = [p for p in (conv.lin.weight, conv.bias) if p is not None]
    leaves = [t for t in (x, *leaves) if t.requires_grad]
    ours = torch.autograd.grad((out * g).sum(), [*params, *leaves])
    wanted = torch.autograd.grad((ref * g).sum(), [*ref_params, *leaves])
    for a, b in zip(ours, wanted):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def _path_taken(layer, name):
    assert layer._cache[3].tridiagonal == (name == "path")


def _adj_t(edge_index, value, layout):
    """PyG's ``adj.t()``: the transposed adjacency in ``layout``."""
    adj = torch.sparse_coo_tensor(edge_index, value, (4, 4)).coalesce()
    if layout == torch.sparse_csr:
        adj = adj.to_sparse_csr()
    elif layout == torch.sparse_csc:
        adj = adj.to_sparse_csc()
    return adj.t()


def _x(*shape):
    return torch.randn(*shape, dtype=torch.double, requires_grad=True)


# ---- PyG's test_gcn_conv.py ---------------------------------------------------------------
@pytest.mark.parametrize("fin,fout", SIZES)
@pytest.mark.parametrize("name", GRAPHS)
@pytest.mark.parametrize("weighted", [False, True])
def test_pyg_gcn_conv_edge_index_and_sparse_adjacency(name, fin, fout, weighted):
    ei = GRAPHS[name]
    value = torch.rand(ei.size(1), dtype=torch.double) if weighted else None
    layer, conv = _pair(fin, fout)
    x = _x(4, fin)
    _check(layer, conv, x, (ei, value))
    _path_taken(layer, name)
    ones = torch.ones(ei.size(1), dtype=torch.double)
    for layout in (torch.sparse_coo, torch.sparse_csr, torch.sparse_csc):
        adj_t = _adj_t(ei, ones if value is None else value, layout)
        # PyG's gcn_norm has no CSC; its own test compares adj.t() against edge_index.
        _check(layer, conv, x, (adj_t,), (ei, value))
        _path_taken(layer, name)
    assert str(layer) == f"GCNLayer({fin}, {fout})"


@pytest.mark.parametrize("name", GRAPHS)
def test_pyg_cached_keeps_the_first_graphs_normalisation(name):
    layer, conv = _pair(16, 32, cached=True)
    x = _x(4, 16)
    first = conv(x, GRAPHS[name])
    torch.testing.assert_close(layer(x, GRAPHS[name]), first, atol=1e-8, rtol=1e-5)
    other = torch.tensor([[0, 1], [2, 3]])
    torch.testing.assert_close(
        layer(x, other), first, atol=1e-8, rtol=1e-5
    )  # GCNConv's transductive cache
    torch.testing.assert_close(
        layer(x, _adj_t(other, torch.ones(2, dtype=torch.double), torch.sparse_csr)),
        first,
        atol=1e-8,
        rtol=1e-5,
    )
    layer.reset_parameters()  # forgets the graph, as GCNConv's does
    layer.load_state_dict(conv.state_dict())
    fresh = GCNConv(16, 32).double()
    fresh.load_state_dict(conv.state_dict())
    torch.testing.assert_close(layer(x, other), fresh(x, other), atol=1e-8, rtol=1e-5)


@pytest.mark.parametrize("fin,fout", SIZES)
@pytest.mark.parametrize("name", GRAPHS)
def test_pyg_static_graph_with_batched_features(name, fin, fout):
    layer, conv = _pair(fin, fout)
    x = _x(3, 4, fin)  # node dimension -2, one graph for all 3
    _check(layer, conv, x, (GRAPHS[name],))
    _path_taken(layer, name)
    adj_t = _adj_t(
        GRAPHS[name], torch.ones(GRAPHS[name].size(1), dtype=torch.double), torch.sparse_csr
    )
    torch.testing.assert_close(layer(x, adj_t), conv(x, GRAPHS[name]), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", GRAPHS)
def test_pyg_flow_target_to_source_equals_flipped_edges(name):
    ei = GRAPHS[name][:, ::2]  # directed: one way along each edge
    layer, conv = _pair(16, 32)
    x = _x(4, 16)
    layer.flow = conv.flow = "target_to_source"
    _check(layer, conv, x, (ei.flip(0),))
    layer.flow = "source_to_target"
    torch.testing.assert_close(layer(x, ei), conv(x, ei.flip(0)), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", GRAPHS)
@pytest.mark.parametrize("as_sparse", [False, True])
def test_pyg_gradient_with_respect_to_edge_weights(name, as_sparse):
    ei = GRAPHS[name]
    w = torch.rand(ei.size(1), dtype=torch.double, requires_grad=True)
    layer, conv = _pair(16, 8)
    args = (_adj_t(ei, w, torch.sparse_coo),) if as_sparse else (ei, w)
    # GCNConv can't backpropagate into sparse values (no derivative for aten::_coalesced_);
    # PyG's test only checks requires_grad, so compare with its edge_index gradient.
    _check(layer, conv, _x(4, 16), args, (ei, w), leaves=(w,))


def test_pyg_sparse_input_features():
    x = torch.sparse_coo_tensor(torch.tensor([[0, 0], [0, 1]]), torch.ones(2), (4, 16)).double()
    layer, conv = _pair(16, 32)
    for ei in GRAPHS.values():
        torch.testing.assert_close(layer(x, ei), conv(x, ei), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(layer(x, ei), layer(x.to_dense(), ei), atol=1e-5, rtol=1e-5)


# ---- every option, both paths, with and without edge weights ------------------------------
OPTIONS = [
    {"improved": True},
    {"add_self_loops": False},
    {"normalize": False},
    {"bias": False},
    {"cached": True},
]


@pytest.mark.parametrize(
    "options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items())
)
@pytest.mark.parametrize("fin,fout", SIZES)
@pytest.mark.parametrize("name", GRAPHS)
@pytest.mark.parametrize("weight", ["none", "fixed", "learnable"])
def test_options_match_gcnconv(options, name, fin, fout, weight):
    ei = GRAPHS[name]
    w = None if weight == "none" else torch.rand(ei.size(1), dtype=torch.double)
    if weight == "learnable":
        w.requires_grad_()
    # PyG 2.8 drops `improved`'s 2I when edge_weight is None; its docs say A + 2I, as we do.
    ref_w = (
        torch.ones(ei.size(1), dtype=torch.double) if w is None and options.get("improved") else w
    )
    layer, conv = _pair(fin, fout, **options)
    _check(layer, conv, _x(4, fin), (ei, w), (ei, ref_w), leaves=() if w is None else (w,))
    if weight != "learnable":
        _path_taken(layer, name)


@pytest.mark.parametrize("name", GRAPHS)
def test_existing_self_loops_follow_gcnconv_per_input(name):
    # edge_index keeps a loop's own weight; a torch.sparse adjacency adds I on top of it.
    ei = torch.cat([GRAPHS[name], torch.tensor([[1, 2], [1, 2]])], 1)
    w = torch.rand(ei.size(1), dtype=torch.double)
    layer, conv = _pair(16, 32, improved=True)
    x = _x(4, 16)
    _check(layer, conv, x, (ei, w))
    _path_taken(layer, name)
    _check(layer, conv, x, (_adj_t(ei, w, torch.sparse_coo),))
    _path_taken(layer, name)


class _FakeSparseTensor:
    """What GCNLayer reads of a torch_sparse.SparseTensor (not installed here)."""

    def __init__(self, edge_index, value):
        self.edge_index, self.value = edge_index, value

    def sparse_sizes(self):
        return (4, 4)

    def coo(self):  # of adj_t: row is the target
        return self.edge_index[1], self.edge_index[0], self.value


@pytest.mark.parametrize("name", GRAPHS)
def test_sparse_tensor_sets_the_diagonal(name):
    # torch_sparse's fill_diag replaces existing loops: as if they were not there.
    loops = torch.tensor([[1, 2], [1, 2]])
    ei = GRAPHS[name]
    w = torch.rand(ei.size(1), dtype=torch.double)
    layer, conv = _pair(16, 32)
    adj_t = _FakeSparseTensor(torch.cat([ei, loops], 1), torch.cat([w, torch.rand(2).double()]))
    _check(layer, conv, _x(4, 16), (adj_t,), (ei, w))
    _path_taken(layer, name)


def test_real_sparse_tensor():
    torch_sparse = pytest.importorskip("torch_sparse")
    adj = torch_sparse.SparseTensor.from_edge_index(STAR, sparse_sizes=(4, 4))
    layer, conv = _pair(16, 32)
    _check(layer, conv, _x(4, 16), (adj.t(),), (STAR,))


# ---- state dict, conversion, compile -------------------------------------------------------
def test_state_dict_round_trips_with_gcnconv():
    conv = GCNConv(7, 3)
    layer = GCNLayer(7, 3)
    assert layer.state_dict().keys() == conv.state_dict().keys()
    layer.load_state_dict(conv.state_dict())
    back = GCNConv(7, 3)
    back.load_state_dict(layer.state_dict())
    assert torch.equal(back.lin.weight, conv.lin.weight) and torch.equal(back.bias, conv.bias)
    assert layer.weight is layer.lin.weight


def test_checkpoints_with_the_old_weight_key_still_load():
    model = torch.nn.Sequential(GCNLayer(5, 4))
    old = {"0.weight": torch.randn(4, 5), "0.bias": torch.randn(4)}
    model.load_state_dict(old)
    assert torch.equal(model[0].lin.weight, old["0.weight"])


def test_from_pyg_and_to_pyg_keep_options_and_outputs():
    conv = GCNConv(6, 5, improved=True, add_self_loops=False, bias=False).double()
    layer = GCNLayer.from_pyg(conv)
    assert (layer.improved, layer.add_self_loops, layer.bias) == (True, False, None)
    assert torch.equal(layer.lin.weight, conv.lin.weight)  # float64, not via float32
    x, ei = _x(9, 6), torch.randint(0, 9, (2, 20))
    torch.testing.assert_close(layer(x, ei), conv(x, ei), atol=1e-5, rtol=1e-5)
    back = layer.to_pyg()
    assert isinstance(back, GCNConv) and torch.equal(back.lin.weight, conv.lin.weight)
    torch.testing.assert_close(back(x, ei), conv(x, ei), atol=1e-8, rtol=1e-5)


def test_torch_compile_equals_eager():
    # Eager takes the tridiagonal shift-add; compiled code traces the gather/scatter path.
    torch._dynamo.reset()
    layer, _ = _pair(16, 8)
    x, ei = _x(4, 16), GRAPHS["path"]
    eager, out = layer(x, ei), torch.compile(layer)(x, ei)
    torch.testing.assert_close(out, eager, atol=1e-10, rtol=1e-5)
    g = torch.randn_like(out)
    a = torch.autograd.grad((out * g).sum(), [x, layer.lin.weight])
    b = torch.autograd.grad((eager * g).sum(), [x, layer.lin.weight])
    for u, v in zip(a, b):
        torch.testing.assert_close(u, v, atol=1e-10, rtol=1e-5)


@pytest.mark.parametrize("weighted", [False, True])
def test_compile_traces_edge_index_input_in_one_graph(weighted):
    w = torch.rand(6, dtype=torch.double) if weighted else None
    layer = GCNLayer(16, 8, improved=True).double()
    explained = torch._dynamo.explain(layer)(_x(4, 16), STAR, w)
    assert (explained.graph_count, explained.graph_break_count) == (1, 0)


def test_compile_with_a_sparse_adjacency():
    torch._dynamo.reset()
    layer, conv = _pair(16, 8)
    x = _x(4, 16)
    adj_t = _adj_t(STAR, torch.ones(6, dtype=torch.double), torch.sparse_csr)
    out = torch.compile(layer, backend="eager")(x, adj_t)  # dynamo alone: inductor is tested above
    torch.testing.assert_close(out, conv(x, STAR), atol=1e-5, rtol=1e-5)
