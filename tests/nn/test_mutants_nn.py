"""What a model built on sgtk.nn relies on, pinned down against hand-computed references:
GCNLayer on a non-path graph equals the dense D^-1/2 (A + I) D^-1/2 X W^T, half inputs
propagate in float32, from_pyg/to_pyg carry every option, and the
sinusoidal positional features are Vaswani et al.'s. Written to kill the mutants that
test_gcn.py let live (CONTRIBUTING.md, "Mutation testing").

kills (sgtk.nn.*): gcn.x__csr__mutmut_36 (no (n, n) size: without loops the last node
  receives nothing), gcn.xǁNormalizedAdjacencyǁpropagate__mutmut_4/5/7 (half input not
  upcast), gcn.xǁNormalizedAdjacencyǁ__init____mutmut_11
  (an edge two nodes back taken for a path), gcn.xǁGCNLayerǁfrom_pyg__mutmut_1..49 and
  gcn.xǁGCNLayerǁto_pyg__mutmut_5..18 (every option carried, aggr/node_dim refused, the
  message: 29, 30);
  readout.x_positional_encoding__mutmut_1..28 (frequencies, sin/cos halves, the cut to dim);
  gcn_graph.x_gcn_norm__mutmut_1/2 (default loops of 2, no default loops), 3/4 (an existing
  loop's weight replaced by default);
  readout.x_readout__mutmut_1..22 (pools lost or renamed, size= dropped, the message).
"""

import math

import pytest
import torch
from torch_geometric.nn import GCNConv

from sgtk.errors import SgtkError
from sgtk.nn import GCNLayer
from sgtk.nn.readout import positional_encoding

# a star 0 <-> 1..3, an edge 4 -> 2 and a duplicated edge 1 -> 0; node 5 has no edge at all
EDGES = torch.tensor([[0, 1, 0, 2, 0, 3, 4, 1], [1, 0, 2, 0, 3, 0, 2, 0]])
N = 6


def _dense_norm(edge_index, n, fill=1.0):
    a = torch.zeros(n, n, dtype=torch.float64)
    for s, t in edge_index.t().tolist():
        a[t, s] += 1.0  # a message s -> t lands in row t
    a += fill * torch.eye(n, dtype=torch.float64)
    d = a.sum(1).pow(-0.5)
    return d[:, None] * a * d[None, :]


def test_gcn_half_features_propagate_in_float32():
    layer = GCNLayer(4, 4)
    x = torch.randn(N, 4)
    want = layer(x, EDGES)
    out = layer.half()(x.half(), EDGES)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, want, rtol=1e-2, atol=1e-2)


OPTIONS = [
    dict(improved=True, cached=True, add_self_loops=False, normalize=True, bias=False,
         flow="target_to_source"),
    dict(improved=False, cached=False, add_self_loops=False, normalize=False, bias=True,
         flow="source_to_target"),
]  # fmt: skip


@pytest.mark.parametrize("options", OPTIONS)
def test_from_pyg_and_to_pyg_carry_every_option_and_the_weights(options):
    conv = GCNConv(3, 5, **options).double()
    layer = GCNLayer.from_pyg(conv)
    for name in ("in_channels", "out_channels", "improved", "cached", "add_self_loops",
                 "normalize", "flow"):  # fmt: skip
        assert getattr(layer, name) == getattr(conv, name), name
    assert (layer.bias is None) == (conv.bias is None)
    x = torch.randn(N, 3, dtype=torch.float64)
    torch.testing.assert_close(layer(x, EDGES), conv(x, EDGES))
    back = layer.to_pyg()
    for name in ("in_channels", "out_channels", "improved", "cached", "add_self_loops",
                 "normalize", "flow"):  # fmt: skip
        assert getattr(back, name) == getattr(conv, name), name
    assert (back.bias is None) == (conv.bias is None)
    assert back.lin.weight.dtype == torch.float64
    torch.testing.assert_close(back(x, EDGES), conv(x, EDGES))


@pytest.mark.parametrize("attr,value", [("aggr", "mean"), ("node_dim", 0)])
def test_from_pyg_refuses_an_aggregation_it_cannot_reproduce(attr, value):
    conv = GCNConv(3, 3)
    setattr(conv, attr, value)
    with pytest.raises(SgtkError) as e:
        GCNLayer.from_pyg(conv)
    assert str(e.value) == "GCNConv with aggr/node_dim other than 'add'/-2: not supported"


@pytest.mark.parametrize("dim", [6, 7])
def test_positional_encoding_is_vaswanis_sinusoids(dim):
    positions = torch.tensor([0, 1, 5, 40])
    pe = positional_encoding(positions, dim)
    half = (dim + 1) // 2
    want = torch.empty(4, 2 * half, dtype=torch.float64)
    for r, p in enumerate(positions.tolist()):
        for i in range(half):
            angle = p / 10_000 ** (2 * i / dim)
            want[r, i], want[r, half + i] = math.sin(angle), math.cos(angle)
    assert pe.shape == (4, dim) and pe.dtype == torch.float32
    torch.testing.assert_close(pe.double(), want[:, :dim], atol=1e-5, rtol=1e-5)


def test_gcn_norm_by_default_adds_unit_self_loops_like_gcnconv():
    from sgtk.nn import gcn_norm

    row, col, norm = gcn_norm(EDGES, N, dtype=torch.float64)
    dense = torch.zeros(N, N, dtype=torch.float64).index_put_((col, row), norm, accumulate=True)
    torch.testing.assert_close(dense, _dense_norm(EDGES, N))


def test_gcn_on_a_graph_with_an_edge_two_nodes_back_is_not_taken_for_a_path():
    edges = torch.tensor([[2, 1], [0, 0]])  # 2 -> 0 skips a node; 1 -> 0 is a path edge
    layer = GCNLayer(3, 3).double()
    x = torch.randn(3, 3, dtype=torch.float64)
    want = _dense_norm(edges, 3) @ x @ layer.lin.weight.t() + layer.bias
    torch.testing.assert_close(layer(x, edges), want)


def test_each_readout_pools_each_graph_of_a_batch_on_its_own():
    from torch_geometric.data import Batch, Data

    from sgtk.nn.readout import readout

    h = torch.tensor([[1.0], [2.0], [3.0], [10.0], [20.0]])
    batch = Batch.from_data_list([Data(num_nodes=3), Data(num_nodes=2)])
    want = {"last": [3.0, 20.0], "mean": [2.0, 15.0], "sum": [6.0, 30.0], "max": [3.0, 20.0]}
    for how, rows in want.items():
        torch.testing.assert_close(readout(h, batch, how), torch.tensor(rows)[:, None])
    with_empty = Batch.from_data_list([Data(num_nodes=3), Data(num_nodes=2), Data(num_nodes=0)])
    sums = readout(h, with_empty, "sum")  # an empty last graph still gets its (zero) row
    torch.testing.assert_close(sums, torch.tensor([[6.0], [30.0], [0.0]]))
    with pytest.raises(SgtkError) as e:
        readout(h, batch, "median")
    assert str(e.value) == "unknown readout 'median': choose one of last, mean, sum, max"


def test_gcn_norm_by_default_keeps_the_weight_of_a_self_loop_already_there():
    from sgtk.nn import gcn_norm

    edges = torch.tensor([[0, 1, 1], [1, 0, 1]])  # node 1 has a loop of weight 3
    weight = torch.tensor([1.0, 1.0, 3.0], dtype=torch.float64)
    row, col, norm = gcn_norm(edges, 2, weight, torch.float64)
    dense = torch.zeros(2, 2, dtype=torch.float64).index_put_((col, row), norm, accumulate=True)
    a = torch.tensor([[1.0, 1.0], [1.0, 3.0]], dtype=torch.float64)  # node 0 gets a unit loop
    d = a.sum(1).pow(-0.5)
    torch.testing.assert_close(dense, d[:, None] * a * d[None, :])


# ---- issue 28's pass over gcn.py / gcn_graph.py --------------------------------------------
# kills: gcn.xǁGCNLayerǁ_adjacency__mutmut_19/25/40/41/42 (a cache that never hits),
#   __init____mutmut_12/13/20 and gcn_graph.x_as_edges__mutmut_6/28/38/39 (the messages),
#   as_edges_12 (a [3, E] edge_index let through), 36 (index N accepted), 30 (no edges),
#   _load_from_state_dict__mutmut_8 (a partial load), _normalised__mutmut_12 (edge weights
#   of another dtype), forward__mutmut_6 (Â in bfloat16 under autocast), forward__mutmut_19
#   (learnable float32 edge weights normalised in float32 for float64 features).
PATH3 = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])


def _count_normalisations(monkeypatch) -> list[int]:
    from sgtk.nn import gcn

    calls: list[int] = []
    real = gcn.gcn_norm
    monkeypatch.setattr(gcn, "gcn_norm", lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def test_a_graph_is_normalised_once_until_it_or_an_option_changes(monkeypatch):
    calls = _count_normalisations(monkeypatch)
    layer = GCNLayer(3, 2).double()
    x = torch.randn(N, 3, dtype=torch.float64)
    edges = EDGES.clone()
    for _ in range(3):
        layer(x, edges)
    assert len(calls) == 1
    w = torch.rand(edges.size(1), dtype=torch.float64)
    layer(x, edges, w)
    layer(x, edges, w)
    assert len(calls) == 2
    layer(x, edges.clone())  # the same numbers in another tensor: not known to be the same
    assert len(calls) == 3
    layer.improved = True
    layer(x, edges.clone())
    layer(x, edges)
    assert len(calls) == 5


@pytest.mark.parametrize(
    "make,args,message",
    [
        (dict(add_self_loops=True, normalize=False), None,
         "add_self_loops=True needs normalize=True: drop one of them"),
        (dict(flow="up"), None, "flow='up': use 'source_to_target' or 'target_to_source'"),
        ({}, (torch.tensor([[0, 1], [1, 2], [2, 0]]),),
         "edge_index has shape (3, 2): pass a [2, E] tensor"),
        ({}, (EDGES, torch.ones(3)),
         "edge_weight has shape (3,): pass one weight per edge, [8]"),
        ({}, (torch.tensor([[0, 6], [1, 2]]),),
         "edge_index names a node outside 0..5: fix the graph"),
        ({}, (torch.sparse_coo_tensor(PATH3, torch.ones(4), (N, N)), torch.ones(4)),
         "edge_weight given with a sparse adjacency: put it in its values"),
    ],
)  # fmt: skip
def test_gcn_errors_say_exactly_what_is_wrong(make, args, message):
    with pytest.raises(SgtkError) as e:
        GCNLayer(3, 2, **make)(torch.randn(N, 3), *args)
    assert str(e.value) == message


def test_a_graph_without_edges_is_each_node_on_its_own():
    layer = GCNLayer(3, 2).double()
    torch.nn.init.normal_(layer.bias)
    x = torch.randn(4, 3, dtype=torch.float64)
    want = x @ layer.lin.weight.t() + layer.bias  # Â = I: one unit loop per node
    got = layer(x, torch.empty(2, 0, dtype=torch.long))
    torch.testing.assert_close(got, want, atol=1e-12, rtol=0)


def test_a_partial_state_dict_loads_with_strict_false():
    layer = GCNLayer(3, 2)
    result = layer.load_state_dict({"bias": torch.ones(2)}, strict=False)
    assert result.missing_keys == ["lin.weight"]
    torch.testing.assert_close(layer.bias.detach(), torch.ones(2))


@pytest.mark.parametrize("learnable", [False, True])
def test_float32_edge_weights_are_used_at_the_features_float64_precision(learnable):
    layer = GCNLayer(3, 2).double()
    x = torch.randn(N, 3, dtype=torch.float64)
    w = torch.rand(EDGES.size(1)) + 0.1
    want = layer(x, EDGES, w.double())
    got = layer(x, EDGES, w.requires_grad_(learnable))
    torch.testing.assert_close(got, want, atol=1e-12, rtol=0)


def test_under_autocast_a_hat_stays_float32():
    # in > out: Â is applied after W, to the bfloat16 product, and adds no rounding of its own.
    layer = GCNLayer(4, 2)
    x = torch.randn(3, 4).bfloat16()  # what an earlier layer hands on under autocast
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = layer(x, PATH3)
        h = x @ layer.lin.weight.t()
    s6 = 1 / math.sqrt(6)
    a_hat = torch.tensor([[0.5, s6, 0.0], [s6, 1 / 3, s6], [0.0, s6, 0.5]])
    want = a_hat @ h.float() + layer.bias
    torch.testing.assert_close(got, want.detach(), atol=1e-6, rtol=1e-6)
