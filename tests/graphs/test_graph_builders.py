"""The vectorised sequence-graph builders against the plain construction: each sequence's
edges listed pair by pair in Python, batched by ``Batch.from_data_list``."""

import pytest
import torch
from torch_geometric.data import Batch, Data

from sgtk.graphs import builders as graphs
from sgtk.graphs.views import path_graph_batch

SPECS = ["path", "window:1", "window:3", "window:50", "dilated", "complete"]


def _reference_edges(spec: str, length: int, directed: bool) -> torch.Tensor:
    kind, k = graphs.parse_graph(spec)
    pairs = []
    for dst in range(length):
        for src in range(dst):
            d = dst - src
            if (
                (kind == "path" and d == 1)
                or (kind == "window" and d <= k)
                or (kind == "dilated" and d & (d - 1) == 0)
                or kind == "complete"
            ):
                pairs.append((src, dst))
                if not directed:
                    pairs.append((dst, src))
    return torch.tensor(pairs, dtype=torch.long).reshape(-1, 2).t()


def _reference_batch(x, lengths, spec, directed) -> Batch:
    data = [
        Data(x=x[b, :n], edge_index=_reference_edges(spec, n, directed))
        for b, n in enumerate(lengths)
    ]
    return Batch.from_data_list(data)


def _edge_set(ei: torch.Tensor) -> list[tuple[int, int]]:
    return sorted(map(tuple, ei.t().tolist()))


@pytest.fixture(autouse=True)
def cold():
    graphs.clear_caches()


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("directed", [True, False])
@pytest.mark.parametrize("length", [1, 2, 9, 17])
def test_uniform_batches_equal_the_reference(spec, directed, length):
    x = torch.randn(5, length, 2)
    built = graphs.sequence_graph_batch(x, spec, directed)
    want = _reference_batch(x, [length] * 5, spec, directed)
    edges = built.edge_index
    assert len(_edge_set(edges)) == edges.shape[1]  # no edge twice
    assert _edge_set(edges) == _edge_set(want.edge_index)
    assert torch.equal(built.x, want.x)
    assert torch.equal(built.batch, want.batch) and torch.equal(built.ptr, want.ptr)
    assert built.num_graphs == 5 and built.seq_len == length


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("directed", [True, False])
def test_ragged_batches_equal_the_reference(spec, directed):
    lengths = [7, 1, 12, 3, 12, 0, 5]
    x = torch.randn(len(lengths), max(lengths), 2)
    batch = path_graph_batch(x, lengths=torch.tensor(lengths), directed=directed)
    got = graphs.sequence_edges(batch, spec, directed)
    want = _reference_batch(x, lengths, spec, directed)
    assert got.shape[1] == want.edge_index.shape[1]
    assert _edge_set(got) == _edge_set(want.edge_index)


def test_built_once_per_graph_batch_size_and_length():
    first = graphs.uniform_edges("window:3", 4, 10)
    assert graphs.uniform_edges("window:3", 4, 10) is first
    assert graphs.sequence_graph_batch(torch.zeros(4, 10), "window:3").edge_index is first
    assert graphs.uniform_edges("window:3", 5, 10) is not first
    assert graphs.uniform_edges("window:3", 4, 11) is not first
    assert graphs.uniform_edges("dilated", 4, 10) is not first
    graphs.clear_caches()
    assert graphs.uniform_edges("window:3", 4, 10) is not first
