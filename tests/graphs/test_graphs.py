import math

import pytest
import torch

from sgtk.errors import SgtkError
from sgtk.graphs.builders import offsets, parse_graph, ragged_edges, sequence_edges, uniform_edges
from sgtk.graphs.views import path_graph_batch


def _reach(edge_index, num_nodes, layers):
    """Boolean [N, N]: reach[i, j] when j's state after ``layers`` rounds depends on i."""
    a = torch.eye(num_nodes, dtype=torch.bool)
    a[edge_index[0], edge_index[1]] = True
    r = torch.eye(num_nodes, dtype=torch.bool)
    for _ in range(layers):
        r = (r.float() @ a.float()) > 0
    return r


def _edges(ei):
    return set(map(tuple, ei.t().tolist()))


@pytest.mark.parametrize("length", [2, 5, 8, 9, 24, 49])
def test_dilated_with_log_depth_layers_covers_the_sequence(length):
    ei = uniform_edges("dilated", 1, length)
    layers = math.ceil(math.log2(length)) + 1
    assert _reach(ei, length, layers)[0, length - 1]  # the last node hears the first
    assert _reach(ei, length, layers)[:, length - 1].all()


def test_path_needs_linear_depth_where_dilated_needs_log_depth():
    length = 24
    path = uniform_edges("path", 1, length)
    assert not _reach(path, length, math.ceil(math.log2(length)) + 1)[0, length - 1]
    assert _reach(path, length, length - 1)[0, length - 1]


def test_edge_sets_are_causal_offsets():
    t = 6
    assert _edges(uniform_edges("path", 1, t)) == {(i, i + 1) for i in range(t - 1)}
    assert _edges(uniform_edges("window:2", 1, t)) == {
        (i, j) for j in range(t) for i in range(j) if j - i <= 2
    }
    assert _edges(uniform_edges("complete", 1, t)) == {(i, j) for j in range(t) for i in range(j)}
    assert _edges(uniform_edges("dilated", 1, t)) == {
        (i, j) for j in range(t) for i in range(j) if j - i in (1, 2, 4)
    }
    both = _edges(uniform_edges("window:2", 1, t, directed=False))
    assert both == {(i, j) for i in range(t) for j in range(t) if 0 < abs(i - j) <= 2}


def test_batches_never_cross_graphs_and_are_cached_per_shape():
    ei = uniform_edges("complete", 3, 5)
    assert ei.shape[1] == 3 * 10
    assert torch.equal(ei[0] // 5, ei[1] // 5)
    assert uniform_edges("complete", 3, 5) is ei
    b = path_graph_batch(torch.zeros(3, 5), directed=True)
    assert sequence_edges(b, "path") is b.edge_index  # shares the views' cached object


def test_ragged_matches_each_sequence_built_alone():
    lengths = torch.tensor([4, 1, 3])
    x = torch.zeros(3, 4)
    b = path_graph_batch(x, lengths=lengths, directed=False)
    for spec in ("path", "window:2", "dilated", "complete"):
        got = _edges(sequence_edges(b, spec, directed=False))
        want, start = set(), 0
        for n in lengths.tolist():
            want |= {(start + i, start + j) for i, j in _edges(uniform_edges(spec, 1, n, False))}
            start += n
        assert got == want, spec
    assert _edges(sequence_edges(b, "path", directed=False)) == _edges(b.edge_index)
    assert ragged_edges("path", torch.zeros(1, dtype=torch.long), torch.empty(0)).shape == (2, 0)


def test_bad_graph_names_list_the_choices():
    with pytest.raises(SgtkError, match="path, window:K, dilated, complete"):
        parse_graph("star")
    with pytest.raises(SgtkError):
        parse_graph("window:0")
    assert parse_graph("window:3") == ("window", 3)
    assert offsets("dilated", 9) == [1, 2, 4, 8]
