"""GCNLayer against PyG's GCNConv with the same weights, the way PyG tests its layers."""

import pytest
import torch
from torch_geometric.nn import GCNConv

from sgtk.nn import GCNLayer
from sgtk.views import path_edge_index


def _pair(fin, fout):
    conv = GCNConv(fin, fout).double()
    layer = GCNLayer(fin, fout).double()
    with torch.no_grad():
        conv.bias.normal_()
        layer.weight.copy_(conv.lin.weight)
        layer.bias.copy_(conv.bias)
    return conv, layer


def _compare(edge_index, num_nodes, fin, fout, edge_weight=None):
    conv, layer = _pair(fin, fout)
    x = torch.randn(num_nodes, fin, dtype=torch.double, requires_grad=True)
    ref = conv(x, edge_index, edge_weight)
    out = layer(x, edge_index, edge_weight)
    assert out.shape == ref.shape
    assert torch.allclose(out, ref, atol=1e-5)
    g = torch.randn_like(ref)
    wanted = [x, conv.lin.weight, conv.bias]
    got = [x, layer.weight, layer.bias]
    if edge_weight is not None and edge_weight.requires_grad:
        wanted.append(edge_weight)
        got.append(edge_weight)
    ref_grads = torch.autograd.grad((ref * g).sum(), wanted)
    our_grads = torch.autograd.grad((out * g).sum(), got)
    for a, b in zip(our_grads, ref_grads):
        assert torch.allclose(a, b, atol=1e-5)


# (in, out) both ways round: the layer propagates on the narrower side.
SIZES = [(3, 8), (8, 3), (5, 5)]


@pytest.mark.parametrize("fin,fout", SIZES)
@pytest.mark.parametrize("directed", [False, True])
def test_path_graphs(fin, fout, directed):
    _compare(path_edge_index(4, 6, directed), 24, fin, fout)


@pytest.mark.parametrize("fin,fout", SIZES)
def test_arbitrary_graph_with_isolated_nodes_loops_and_duplicates(fin, fout):
    edge_index = torch.randint(0, 20, (2, 60))
    loops = torch.tensor([[3, 3, 7], [3, 3, 7]])  # an existing (and repeated) self-loop
    edge_index = torch.cat([edge_index, edge_index[:, :6], loops], 1)  # duplicate edges
    _compare(edge_index, 25, fin, fout)  # nodes 20..24 are isolated


def test_tridiagonal_graph_with_duplicates_and_loops():
    edge_index = torch.tensor([[0, 1, 1, 2, 2, 2, 3], [1, 0, 2, 1, 1, 2, 3]])
    _compare(edge_index, 5, 3, 4)


@pytest.mark.parametrize("learnable", [False, True])
def test_edge_weights(learnable):
    edge_index = torch.randint(0, 15, (2, 40))
    w = torch.rand(40, dtype=torch.double, requires_grad=learnable)
    _compare(edge_index, 15, 4, 6, w)
    _compare(
        path_edge_index(2, 5), 10, 4, 6, torch.rand(16, dtype=torch.double, requires_grad=learnable)
    )


def test_cache_follows_the_structure():
    layer = GCNLayer(2, 2).double()
    conv = GCNConv(2, 2).double()
    with torch.no_grad():
        layer.weight.copy_(conv.lin.weight)
        layer.bias.copy_(conv.bias)
    x = torch.randn(6, 2, dtype=torch.double)
    ei = path_edge_index(1, 6)
    layer(x, ei)
    other = torch.tensor([[0, 2, 4], [5, 1, 3]])
    assert torch.allclose(layer(x, other), conv(x, other))
    ei2 = ei.clone()
    layer(x, ei2)
    ei2[1, 0] = 4  # edited in place: the cached normalisation must not be reused
    assert torch.allclose(layer(x, ei2), conv(x, ei2))


def test_weight_shapes_match_gcnconv():
    layer, conv = GCNLayer(7, 3), GCNConv(7, 3)
    assert layer.weight.shape == conv.lin.weight.shape
    assert layer.bias.shape == conv.bias.shape
