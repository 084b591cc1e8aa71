"""Tree-NeighborsMatch (Alon & Yahav, ICLR 2021, Sec. 4.1): over-squashing made measurable.

A complete binary tree of depth r has 2^r leaves. Leaf j carries its number of blue
neighbours (j, one-hot: the key) and its label (one-hot: the value); the root carries a number
of blue neighbours that exactly one leaf has, and must predict that leaf's label. The answer
sits r hops away, and all 2^r (key, label) pairs must be squeezed through the root's two
children: the bottleneck grows exponentially with r while each vector stays the same size.

As their ``tasks/dictionary_lookup.py`` builds it: nodes in depth-first pre-order (root 0),
leaves left to right, edges from child to parent plus self-loops; a leaf's features are
``one_hot(j, 2^r) ++ one_hot(label_j, 2^r)``, the root's ``one_hot(key, 2^r) ++ 0``, every
other node's zero. The labels are a permutation of the 2^r classes; a dataset is every root
key for each of ``min(1000, (2^r)!, 32000 // 2^r)`` permutations (distinct where they can be
enumerated, r <= 3), split 80/20 into train and test, stratified by label.

Two views of one example, built for a whole index tensor at once: the tree graph (``graph``:
``tree`` or ``complete``, the rewired graph where the root is one hop from every leaf), and
the token sequence for recurrent models: the 2^r leaf tokens in order, then the root's token.
Either batch has ``root``, the index of each example's root node, where the answer is read.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from functools import cached_property

import torch
from torch import Tensor
from torch_geometric.data import Batch

from sgtk.data.tree_settings import GRAPHS, MAX_DEPTH, check_depth, check_layout  # noqa: F401
from sgtk.graphs.views import path_graph_batch

MAX_PERMUTATIONS = 1000
MAX_EXAMPLES = 32_000
_ENUMERATE_UP_TO = 8  # leaves: draw distinct permutations from all (2^r)! below this


def tree_edges(depth: int) -> tuple[Tensor, Tensor]:
    """``(edges child -> parent [2, n-1], leaves [2^r])`` in depth-first pre-order."""
    edges: list[tuple[int, int]] = []
    leaves: list[int] = []
    stack = [(0, 2 ** (depth + 1) - 2)]  # (node, last node of its subtree)
    while stack:
        node, last = stack.pop()
        if node == last:
            leaves.append(node)
            continue
        left, right = node + 1, node + 1 + (last - node) // 2
        edges += [(left, node), (right, node)]
        stack += [(right, last), (left, right - 1)]
    return torch.tensor(edges, dtype=torch.long).t(), torch.tensor(leaves, dtype=torch.long)


def _permutations(num_leaves: int, count: int, generator: torch.Generator) -> Tensor:
    if num_leaves <= _ENUMERATE_UP_TO:
        every = torch.tensor(list(itertools.permutations(range(num_leaves))), dtype=torch.long)
        return every[torch.randperm(len(every), generator=generator)[:count]]
    return torch.rand(count, num_leaves, generator=generator).argsort(1)


def _stratified_split(
    labels: Tensor, train_fraction: float, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """Each label's examples shuffled and cut at ``train_fraction``: (train, test) indices."""
    order = torch.randperm(len(labels), generator=generator)
    by_label = order[labels[order].argsort(stable=True)]  # shuffled within each label
    counts = torch.bincount(labels)
    start = torch.cumsum(counts, 0) - counts
    rank = torch.arange(len(labels)) - start.repeat_interleave(counts)
    cut = (counts.double() * train_fraction).round().long().repeat_interleave(counts)
    in_train = rank < cut
    return by_label[in_train].sort().values, by_label[~in_train].sort().values


@dataclass
class TreeNeighbors:
    """Every example of Tree-NeighborsMatch at ``depth``, drawn from ``seed``.

    ``perm[p]`` is permutation p's leaf labels; example i pairs ``example_perm[i]`` with the
    root key ``example_key[i]`` and its target is ``y[i] = perm[example_perm[i], key]``.
    """

    depth: int
    seed: int = 0
    train_fraction: float = 0.8
    graph: str = "tree"
    directed: bool = True  # child -> parent only, as the paper: messages flow to the root
    perm: Tensor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_depth(self.depth)
        check_layout(self.graph, self.train_fraction)
        g = torch.Generator().manual_seed(self.seed)
        leaves = self.num_leaves
        count = min(MAX_PERMUTATIONS, math.factorial(leaves), MAX_EXAMPLES // leaves)
        self.perm = _permutations(leaves, count, g)
        self.example_perm = torch.arange(count).repeat_interleave(leaves)
        self.example_key = torch.arange(leaves).repeat(count)
        self.y = self.perm[self.example_perm, self.example_key]
        self.train_idx, self.test_idx = _stratified_split(self.y, self.train_fraction, g)

    @property
    def num_leaves(self) -> int:
        return 2**self.depth

    @property
    def num_nodes(self) -> int:
        return 2 ** (self.depth + 1) - 1

    @property
    def num_features(self) -> int:
        return 2 * self.num_leaves

    @property
    def num_classes(self) -> int:
        return self.num_leaves

    def __len__(self) -> int:
        return len(self.y)

    @cached_property
    def _structure(self) -> tuple[Tensor, Tensor]:
        edges, leaves = tree_edges(self.depth)
        n = self.num_nodes
        if self.graph == "complete":
            every = torch.arange(n)
            edges = torch.stack([every.repeat_interleave(n), every.repeat(n)])
            edges = edges[:, edges[0] != edges[1]]
        elif not self.directed:
            edges = torch.cat([edges, edges.flip(0)], 1)
        loops = torch.arange(n).repeat(2, 1)  # the paper adds them to every graph
        return torch.cat([edges, loops], 1), leaves

    def _tokens(self, idx: Tensor) -> tuple[Tensor, Tensor]:
        """Leaf features [B, 2^r, 2*2^r] (key ++ label) and root features [B, 2*2^r]."""
        b, n_leaf = len(idx), self.num_leaves
        leaf = torch.zeros(b, n_leaf, 2 * n_leaf)
        leaf[:, :, :n_leaf] = torch.eye(n_leaf)
        labels = self.perm[self.example_perm[idx]]
        leaf.scatter_(2, (labels + n_leaf).unsqueeze(-1), 1.0)
        root = torch.zeros(b, 2 * n_leaf)
        root[torch.arange(b), self.example_key[idx]] = 1.0
        return leaf, root

    def graph_batch(self, idx: Tensor, device: torch.device | str = "cpu") -> Batch:
        """The tree view (root first): one graph of ``num_nodes`` nodes per example."""
        edges, leaves = self._structure
        leaf, root = self._tokens(idx)
        b, n = len(idx), self.num_nodes
        x = torch.zeros(b, n, self.num_features)
        x[:, leaves] = leaf
        x[:, 0] = root
        offset = torch.arange(b) * n
        edge_index = (edges.unsqueeze(1) + offset.view(1, -1, 1)).reshape(2, -1)
        out = Batch(
            x=x.reshape(b * n, -1),
            edge_index=edge_index,
            batch=torch.arange(b).repeat_interleave(n),
            ptr=torch.arange(b + 1) * n,
            y=self.y[idx],
        )
        out.root = offset
        return out.to(device)

    def sequence_batch(self, idx: Tensor, device: torch.device | str = "cpu") -> Batch:
        """The token view: the leaves' tokens in order, then the root's (read last)."""
        leaf, root = self._tokens(idx)
        tokens = torch.cat([leaf, root.unsqueeze(1)], 1)
        out = path_graph_batch(tokens, self.y[idx], directed=True)
        out.root = out.ptr[1:] - 1
        return out.to(device)
