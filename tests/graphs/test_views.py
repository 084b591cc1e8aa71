import torch
from torch_geometric.data import Batch, Data

from sgtk.graphs.views import from_sequence, path_graph_batch, to_sequence


def test_uniform_batch_edges_offsets_and_direction():
    x = torch.randint(0, 10, (3, 5))
    both = path_graph_batch(x)
    assert both.num_graphs == 3 and both.num_nodes == 15
    assert both.edge_index.shape == (2, 2 * 3 * 4)
    causal = path_graph_batch(x, directed=True)
    src, dst = causal.edge_index
    assert causal.edge_index.shape == (2, 3 * 4)
    assert torch.equal(dst - src, torch.ones_like(src))
    assert not torch.isin(src, torch.tensor([4, 9, 14])).any()  # no edge leaves a last node
    assert torch.equal(causal.batch[src], causal.batch[dst])  # no edge crosses graphs
    assert torch.equal(both.ptr, torch.tensor([0, 5, 10, 15]))
    edges = set(map(tuple, both.edge_index.t().tolist()))
    assert (1, 0) in edges and (0, 1) in edges and (5, 4) not in edges


def test_matches_from_data_list():
    x = torch.randn(4, 6, 3)
    ours = path_graph_batch(x, directed=True)
    ref = Batch.from_data_list(
        [Data(x=s, edge_index=torch.stack([torch.arange(5), torch.arange(1, 6)])) for s in x]
    )
    assert torch.equal(ours.x, ref.x)
    assert torch.equal(ours.edge_index, ref.edge_index)
    assert torch.equal(ours.batch, ref.batch)
    assert torch.equal(ours.ptr, ref.ptr)


def test_batches_built_directly_are_pygs_own_batch_class():
    # new_batch skips Batch's metaclass: the result must still be the class Batch(...) and
    # from_data_list make, with the same keys, so PyG's loaders and pooling treat it alike.
    x = torch.randn(4, 6, 3)
    for ours in (path_graph_batch(x), path_graph_batch(x, lengths=torch.tensor([6, 2, 0, 5]))):
        ref = Batch(x=ours.x, edge_index=ours.edge_index, batch=ours.batch, ptr=ours.ptr)
        assert type(ours) is type(ref) is type(Batch.from_data_list([Data(x=x[0])]))
        assert isinstance(ours, Batch) and ours.num_graphs == 4
        assert set(ours.keys()) - {"seq_len", "lengths"} == set(ref.keys())


def test_round_trip_uniform_and_ragged():
    x = torch.randn(3, 5, 2)
    b = path_graph_batch(x)
    dense, lengths = to_sequence(b)
    assert torch.equal(dense, x) and lengths.tolist() == [5, 5, 5]
    assert torch.equal(from_sequence(b, dense), b.x)

    lengths = torch.tensor([5, 2, 3])
    r = path_graph_batch(x, lengths=lengths, directed=True)
    assert r.num_nodes == 10 and r.edge_index.shape[1] == 4 + 1 + 2
    dense, got = to_sequence(r)
    assert torch.equal(got, lengths)
    for i, n in enumerate(lengths.tolist()):
        assert torch.equal(dense[i, :n], x[i, :n])
        assert (dense[i, n:] == 0).all()
    assert torch.equal(from_sequence(r, dense), r.x)


def test_structure_is_shared_across_calls():
    a = path_graph_batch(torch.zeros(8, 4))
    b = path_graph_batch(torch.ones(8, 4))
    assert a.edge_index is b.edge_index  # lets GCNLayer reuse its normalisation
