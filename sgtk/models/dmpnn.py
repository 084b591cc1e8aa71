"""``dmpnn``: directed-edge message passing (Yang et al. 2019, chemprop's D-MPNN).

Hidden states live on directed bonds v->w, not on atoms, so a message never flows straight back
along the bond it came from (the "totter" an atom-centred MPNN suffers):

    a_vw      = W_i [x_v, e_vw],  h_vw(0) = ReLU(a_vw)
    m_vw(t+1) = sum over k in N(v) \\ {w} of h_kv(t) = (sum over k in N(v) of h_kv(t)) - h_wv(t)
    h_vw(t+1) = ReLU(a_vw + W_m m_vw(t+1))
    h_v       = ReLU(W_a [x_v, sum over k in N(v) of h_kv(T)])

``W_m`` is shared by the T = ``layers`` rounds and the skip term is the pre-activation
``a_vw``, both as in chemprop v2's ``BondMessagePassing``. The atom states go to the
predictor's readout (mean or sum) and head.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch

from sgtk.errors import SgtkError
from sgtk.models.graph_nets import BondEncoder


def reverse_edges(edge_index: Tensor, num_nodes: int) -> Tensor:
    """For each edge v->w, the index of w->v in ``edge_index``, or -1 where it has none.

    One sort and one binary search over the whole batch: edge keys ``src * N + dst``.
    """
    src, dst = edge_index
    key = src * num_nodes + dst
    order = torch.argsort(key)
    ordered = key[order]
    wanted = dst * num_nodes + src
    pos = torch.searchsorted(ordered, wanted).clamp_max(max(len(ordered) - 1, 0))
    found = ordered[pos] == wanted if len(ordered) else torch.zeros_like(wanted, dtype=torch.bool)
    return torch.where(found, order[pos], torch.full_like(pos, -1))


def incoming_sum(h: Tensor, dst: Tensor, num_nodes: int) -> Tensor:
    """Per atom, the sum of the states on the bonds that end at it: [N, hidden]."""
    return h.new_zeros(num_nodes, h.shape[1]).index_add_(0, dst, h)


def messages(h: Tensor, edge_index: Tensor, rev: Tensor, num_nodes: int) -> Tensor:
    """m_vw = sum of h_kv over k in N(v) except w: the incoming sum at v less the reverse edge.

    ``rev == -1`` (an edge without its twin) reads an appended zero row: nothing to remove.
    """
    src, dst = edge_index
    padded = torch.cat([h, h.new_zeros(1, h.shape[1])])
    return incoming_sum(h, dst, num_nodes)[src] - padded[rev]


class DirectedMPNN(nn.Module):
    """T rounds of D-MPNN message passing; returns atom states [N, hidden].

    Args:
        in_features: size of the atom features ``x`` (the task's atom embedding).
        hidden: size of the bond and atom states (and of the bond embedding).
        layers: T, the message-passing rounds after the initial bond states.
    """

    def __init__(self, in_features: int, hidden: int, layers: int):
        super().__init__()
        self.bonds = BondEncoder(hidden)
        self.w_i = nn.Linear(in_features + hidden, hidden, bias=False)
        self.w_m = nn.Linear(hidden, hidden, bias=False)
        self.w_a = nn.Linear(in_features + hidden, hidden)
        self.rounds = layers

    def forward(self, batch: Batch, x: Tensor, edge_index: Tensor | None = None) -> Tensor:
        edge_index = batch.edge_index if edge_index is None else edge_index
        edge_attr = getattr(batch, "edge_attr", None)
        if edge_attr is None:
            raise SgtkError("dmpnn reads bond features but the batch has no edge_attr: use it "
                            "on a task whose graphs carry them (molecules)")  # fmt: skip
        n = x.shape[0]
        rev = reverse_edges(edge_index, n)
        h0 = self.w_i(torch.cat([x[edge_index[0]], self.bonds(edge_attr).to(x.dtype)], -1))
        h = torch.relu(h0)
        for _ in range(self.rounds):
            h = torch.relu(h0 + self.w_m(messages(h, edge_index, rev, n)))
        return torch.relu(self.w_a(torch.cat([x, incoming_sum(h, edge_index[1], n)], -1)))


def build(name: str, in_features: int, hidden: int, layers: int = 2, **_) -> DirectedMPNN:
    return DirectedMPNN(in_features, hidden, layers)
