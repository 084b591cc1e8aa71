"""The path-graph layer (:mod:`sgtk.nn.gcn_path`) runs in blocks of rows, each reading one halo
row on either side: outputs and gradients must not change where a block or a graph ends.
Blocks are shrunk to 64 rows here so that small graphs cross several of them."""

import pytest
import torch

from sgtk.graphs.views import path_edge_index
from sgtk.nn import gcn_path
from tests.nn.test_gcn import _check, _pair

# (graphs, nodes each): a partial last block of 1 row, of 8 rows, and graph ends on and off
# the block edges (2 x 64 ends the first graph exactly where the second block starts).
LAYOUTS = [(1, 129), (1, 200), (2, 64), (3, 43)]


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    monkeypatch.setattr(gcn_path, "_BLOCK_BYTES", 1)  # the 64-row minimum


def test_blocks_are_the_minimum_here():
    blocks, rows = gcn_path._blocks(200, 16, 8)
    assert rows == 64 and list(blocks) == [(0, 64), (64, 128), (128, 192), (192, 200)]


@pytest.mark.parametrize("graphs,nodes", LAYOUTS)
@pytest.mark.parametrize("fin,fout", [(3, 8), (8, 3)])  # Â before W, and after it
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_grad", [True, False])
def test_blocked_layer_equals_gcnconv_across_block_and_graph_ends(
    graphs, nodes, fin, fout, bias, x_grad
):
    torch.manual_seed(0)
    layer, conv = _pair(fin, fout, bias=bias)
    x = torch.randn(graphs * nodes, fin, dtype=torch.double, requires_grad=x_grad)
    ei = path_edge_index(graphs, nodes)
    assert type(layer(x, ei).grad_fn).__name__ == "PathConvBackward"
    _check(layer, conv, x, (ei,))


def test_only_the_bias_gradient_asked_for():
    torch.manual_seed(0)
    layer, conv = _pair(3, 8)
    layer.lin.weight.requires_grad_(False)
    x, ei = torch.randn(200, 3, dtype=torch.double), path_edge_index(1, 200)
    (ours,) = torch.autograd.grad(layer(x, ei).sum(), layer.bias)
    (want,) = torch.autograd.grad(conv(x, ei).sum(), conv.bias)
    torch.testing.assert_close(ours, want)
