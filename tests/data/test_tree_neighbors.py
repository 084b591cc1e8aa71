"""Tree-NeighborsMatch data as Alon & Yahav's code builds it, checked by hand on small trees."""

import math

import pytest
import torch

from sgtk.data import tree_neighbors
from sgtk.data.tree_neighbors import TreeNeighbors, tree_edges
from sgtk.errors import SgtkError
from sgtk.tasks import neighbors_match_config


def test_a_depth_2_tree_is_numbered_depth_first_with_edges_toward_the_root():
    #        0
    #     1     4
    #    2 3   5 6
    edges, leaves = tree_edges(2)
    assert sorted(map(tuple, edges.t().tolist())) == [
        (1, 0),
        (2, 1),
        (3, 1),
        (4, 0),
        (5, 4),
        (6, 4),
    ]
    assert leaves.tolist() == [2, 3, 5, 6]


def test_the_graph_view_has_the_tree_and_self_loops_per_example_and_nothing_across():
    data = TreeNeighbors(2)
    batch = data.graph_batch(torch.arange(3))
    n = data.num_nodes
    pairs = set(map(tuple, batch.edge_index.t().tolist()))
    tree = {(1, 0), (2, 1), (3, 1), (4, 0), (5, 4), (6, 4)} | {(i, i) for i in range(n)}
    for g in range(3):
        assert {(s - g * n, d - g * n) for s, d in pairs if g * n <= s < (g + 1) * n} == tree
    assert len(pairs) == 3 * len(tree)  # no edge leaves its own example
    assert batch.root.tolist() == [0, n, 2 * n]


def _keys_and_labels(data, batch):
    """Per example: the root's key, and each leaf's (key, label), read off the features."""
    n, leaves = data.num_nodes, data.num_leaves
    x = batch.x.view(-1, n, 2 * leaves)
    _, leaf_nodes = tree_edges(data.depth)
    root_key = x[:, 0, :leaves].argmax(1)
    leaf_x = x[:, leaf_nodes]
    return root_key, leaf_x[..., :leaves], leaf_x[..., leaves:]


@pytest.mark.parametrize("depth", [2, 3])
def test_exactly_one_leaf_matches_the_root_and_the_target_is_its_label(depth):
    data = TreeNeighbors(depth)
    batch = data.graph_batch(torch.arange(len(data)))
    root_key, leaf_keys, leaf_labels = _keys_and_labels(data, batch)
    assert (leaf_keys.sum(-1) == 1).all() and (leaf_labels.sum(-1) == 1).all()  # one-hot each
    matches = leaf_keys.argmax(-1) == root_key[:, None]
    assert (matches.sum(1) == 1).all()
    matching_label = leaf_labels.argmax(-1)[matches]
    assert torch.equal(matching_label, batch.y)
    # the root has no label and the inner nodes no features at all
    x = batch.x.view(len(data), data.num_nodes, -1)
    _, leaf_nodes = tree_edges(depth)
    inner = [i for i in range(1, data.num_nodes) if i not in leaf_nodes.tolist()]
    assert len(inner) == data.num_leaves - 2
    assert (x[:, 0, data.num_leaves :] == 0).all() and (x[:, inner] == 0).all()


def test_sizes_follow_the_papers_caps_on_permutations():
    # min(1000, leaves!, 32000 // leaves) permutations, every root key for each
    for depth, expected in ((2, 24 * 4), (3, 1000 * 8), (5, 1000 * 32), (6, 500 * 64)):
        data = TreeNeighbors(depth)
        leaves = 2**depth
        assert len(data) == expected
        assert len(data.perm) == min(1000, math.factorial(leaves), 32000 // leaves)
    small = TreeNeighbors(3)
    assert len({tuple(p) for p in small.perm.tolist()}) == 1000  # distinct where enumerable
    assert torch.equal(small.perm.sort(1).values, torch.arange(8).expand(1000, 8))


def test_the_split_is_80_20_per_label_disjoint_and_drawn_from_the_seed():
    data = TreeNeighbors(3, seed=1)
    train, test = data.train_idx, data.test_idx
    assert torch.equal(torch.cat([train, test]).sort().values, torch.arange(len(data)))
    per_label = torch.bincount(data.y[test], minlength=8)
    assert (per_label == 200).all()  # 1000 examples of each label, a fifth of them held out
    again = TreeNeighbors(3, seed=1)
    assert torch.equal(again.train_idx, train) and torch.equal(again.perm, data.perm)
    other = TreeNeighbors(3, seed=2)
    assert not torch.equal(other.train_idx, train)


def test_the_token_view_reads_the_same_leaves_in_order_then_the_root():
    data = TreeNeighbors(2)
    idx = torch.tensor([0, 7, 50])
    graph, seq = data.graph_batch(idx), data.sequence_batch(idx)
    _, leaf_nodes = tree_edges(2)
    tree_x = graph.x.view(3, data.num_nodes, -1)
    seq_x = seq.x.view(3, data.num_leaves + 1, -1)
    torch.testing.assert_close(seq_x[:, :-1], tree_x[:, leaf_nodes])
    torch.testing.assert_close(seq_x[:, -1], tree_x[:, 0])
    torch.testing.assert_close(seq.x[seq.root], graph.x[graph.root])
    assert torch.equal(seq.y, graph.y)


def test_the_complete_graph_puts_every_node_one_hop_from_the_root():
    data = TreeNeighbors(3, graph="complete")
    batch = data.graph_batch(torch.arange(2))
    into_root = batch.edge_index[0][batch.edge_index[1] == 0]
    assert sorted(into_root.tolist()) == list(range(data.num_nodes))
    assert batch.edge_index.shape[1] == 2 * data.num_nodes**2


def test_both_ways_adds_the_parent_to_child_edges():
    one_way = TreeNeighbors(2).graph_batch(torch.arange(1)).edge_index
    both = TreeNeighbors(2, directed=False).graph_batch(torch.arange(1)).edge_index
    assert {(d, s) for s, d in one_way.t().tolist()} <= set(map(tuple, both.t().tolist()))


@pytest.mark.parametrize(
    "kwargs,word",
    [
        ({"depth": 0}, "^depth 0"),
        ({"depth": 9}, "^depth 9"),
        ({"depth": 2, "graph": "star"}, "star"),
    ],
)
def test_bad_settings_are_one_line(kwargs, word):
    with pytest.raises(SgtkError, match=word) as e:
        TreeNeighbors(**kwargs)
    assert "\n" not in str(e.value) and "--" not in str(e.value)  # a field, not a flag


def test_the_configs_torch_free_choices_equal_the_datas():
    assert neighbors_match_config.GRAPHS == tree_neighbors.GRAPHS
    assert neighbors_match_config.MAX_DEPTH == tree_neighbors.MAX_DEPTH
