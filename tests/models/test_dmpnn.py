"""``dmpnn``: the reverse-edge index, one message-passing step by hand, invariance, CLI."""

import torch
from torch import nn
from torch_geometric.data import Batch, Data
from torch_geometric.utils import from_smiles

from sgtk.models.dmpnn import DirectedMPNN, messages, reverse_edges
from sgtk.models.predictor import Predictor
from sgtk.tasks.molecules import AtomEncoder
from tests.helpers import invoke, last_json

# 0 - 1 - 2 as directed edges: 0->1, 1->0, 1->2, 2->1
CHAIN = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])


def test_reverse_edge_of_a_three_atom_chain():
    assert reverse_edges(CHAIN, 3).tolist() == [1, 0, 3, 2]


def test_reverse_edge_of_a_ring_in_any_order():
    ring = torch.tensor([[0, 1, 2, 1, 3, 2, 3, 0], [1, 2, 3, 0, 0, 1, 2, 3]])
    rev = reverse_edges(ring, 4)
    torch.testing.assert_close(ring[:, rev], ring.flip(0))
    assert sorted(rev.tolist()) == list(range(8))  # a permutation: every edge has one twin


def test_an_edge_without_its_twin_has_none():
    one_way = torch.tensor([[0, 1, 1], [1, 0, 2]])
    assert reverse_edges(one_way, 3).tolist() == [1, 0, -1]


def _chain_batch(dtype=torch.float64) -> tuple[Batch, torch.Tensor]:
    edge_attr = torch.tensor([[0, 0, 0], [0, 0, 0], [1, 0, 1], [1, 0, 1]])  # single, double bond
    batch = Batch.from_data_list([Data(edge_index=CHAIN, edge_attr=edge_attr, num_nodes=3)])
    return batch, torch.randn(3, 4, dtype=dtype)


def test_messages_exclude_the_reverse_edge():
    # m_vw = sum of h_kv, k in N(v) \ {w}. On 0-1-2: m_01 = m_21 = 0 (the ends' only neighbour
    # is the target), m_10 = h_21, m_12 = h_01. Summing the reverse edge in would add h_wv.
    h = torch.randn(4, 3, dtype=torch.float64)
    zero = torch.zeros(3, dtype=torch.float64)
    want = torch.stack([zero, h[3], h[0], zero])
    torch.testing.assert_close(messages(h, CHAIN, reverse_edges(CHAIN, 3), 3), want)


def test_one_round_matches_the_equations_by_hand():
    batch, x = _chain_batch()
    net = DirectedMPNN(4, 8, layers=1).double()  # wide: some a_vw < 0 where m_vw != 0
    e = net.bonds(batch.edge_attr)
    src = CHAIN[0]
    a = torch.cat([x[src], e], -1) @ net.w_i.weight.T  # a_vw = W_i [x_v, e_vw], no bias
    h0 = torch.relu(a)
    zero = torch.zeros(8, dtype=torch.float64)
    m = torch.stack([zero, h0[3], h0[0], zero])  # as in the test above, by hand
    h1 = torch.relu(a + m @ net.w_m.weight.T)
    incoming = torch.stack([h1[1], h1[0] + h1[3], h1[2]])  # atom 0 <- 1; 1 <- 0, 2; 2 <- 1
    want = torch.relu(torch.cat([x, incoming], -1) @ net.w_a.weight.T + net.w_a.bias)
    torch.testing.assert_close(net(batch, x), want)


def test_a_diatomic_bond_state_never_echoes_itself():
    # With one bond there is nothing but the reverse edge to hear from, so every round's
    # message is zero and more rounds change nothing; an MPNN that kept the reverse edge would
    # feed each bond's state back to itself.
    g = from_smiles("CO")
    batch = Batch.from_data_list([g])
    x = torch.randn(2, 4, dtype=torch.float64)
    net = DirectedMPNN(4, 8, layers=1).double()
    deeper = DirectedMPNN(4, 8, layers=5).double()
    deeper.load_state_dict(net.state_dict())
    torch.testing.assert_close(net(batch, x), deeper(batch, x))


def _molecule_model() -> nn.Module:
    torch.manual_seed(0)
    return Predictor("dmpnn", 16, 1, hidden=16, layers=3, readout="mean", encoder=AtomEncoder(16))


def _permuted(g: Data, gen: torch.Generator) -> Data:
    """The same molecule with its atoms renumbered and its bonds listed in another order."""
    perm = torch.randperm(g.num_nodes, generator=gen)
    new_id = torch.empty_like(perm)
    new_id[perm] = torch.arange(g.num_nodes)
    order = torch.randperm(g.edge_index.shape[1], generator=gen)
    return Data(
        x=g.x[perm], edge_index=new_id[g.edge_index][:, order], edge_attr=g.edge_attr[order]
    )


def test_molecule_output_is_invariant_to_atom_and_bond_order():
    model = _molecule_model().double()
    mols = [from_smiles(s) for s in ("CC(=O)Oc1ccccc1C(=O)O", "C1CCOC1", "N#CC=C")]
    gen = torch.Generator().manual_seed(1)
    plain = model(Batch.from_data_list(mols))
    shuffled = model(Batch.from_data_list([_permuted(g, gen) for g in mols]))
    torch.testing.assert_close(plain, shuffled)
    assert plain.shape == (3, 1)


def test_dmpnn_trains_through_the_cli(tmp_path, shared_data, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = invoke(
        "train", "molecules", "--model", "dmpnn", "--data", shared_data / "freesolv.csv",
        "--target-col", "expt", "--steps", 4, "--eval-every", 2, "--hidden", 16,
        "--out", tmp_path / "r", "--json",
    )  # fmt: skip
    result = last_json(r)
    assert result["test_rmse"] > 0 and result["n_molecules"] == 642
