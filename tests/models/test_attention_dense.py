"""The transformer's dense causal-attention path against its message-passing path."""

import pytest
import torch
import torch.nn.functional as F

from sgtk.graphs.builders import Layout, complete_layout, sequence_edges, uniform_edges
from sgtk.graphs.views import path_graph_batch
from sgtk.models import attention
from sgtk.models.attention import GraphTransformer


def _model(seed=0, hidden=8, layers=2):
    torch.manual_seed(seed)
    return GraphTransformer(3, hidden, layers).double()


def _run(model, batch, edges):
    x = batch.x.clone().requires_grad_(True)
    out = model(batch, x, edges)
    (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    return out.detach(), x.grad, grads


@pytest.fixture
def sdpa_calls(monkeypatch):
    calls = []
    real = F.scaled_dot_product_attention

    def spy(*args, **kwargs):
        calls.append(args[0].shape)
        return real(*args, **kwargs)

    monkeypatch.setattr(attention.F, "scaled_dot_product_attention", spy)
    return calls


def _batch(lengths, directed):
    x = torch.randn(len(lengths), max(lengths), 3, dtype=torch.float64)
    if len(set(lengths)) == 1:
        return path_graph_batch(x, directed=directed)
    return path_graph_batch(x, lengths=torch.tensor(lengths), directed=directed)


@pytest.mark.parametrize(
    "lengths,directed",
    [
        ([2, 2, 2], True),
        ([7, 7, 7], True),  # the fused causal kernel, no mask
        ([7, 7, 7], False),  # both ways, as the SMILES transformer reads
        ([7, 1, 4, 0, 2], True),  # ragged: a one-node and an empty sequence too
        ([7, 1, 4, 0, 2], False),
    ],
)
def test_dense_path_equals_message_passing_forward_and_gradients(
    lengths, directed, sdpa_calls, monkeypatch
):
    model = _model()
    batch = _batch(lengths, directed)
    edges = sequence_edges(batch, "complete", directed)
    dense = _run(model, batch, edges)
    assert len(sdpa_calls) == 2  # one per block: the dense path ran
    monkeypatch.setattr(attention, "complete_layout", lambda *_: None)
    sparse = _run(model, batch, edges)
    assert len(sdpa_calls) == 2  # message passing: no dense call
    torch.testing.assert_close(dense[0], sparse[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(dense[1], sparse[1], atol=1e-5, rtol=1e-5)
    for got, want in zip(dense[2], sparse[2], strict=True):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_first_node_hears_nothing_and_no_node_hears_itself():
    conv = _model().blocks[0].attn
    batch = _batch([5, 5], True)
    plan = attention.DensePlan(complete_layout(batch, sequence_edges(batch, "complete")), batch)
    x = torch.randn(2 * 5, 8, dtype=torch.float64)
    out = plan.attend(conv, x).view(2, 5, -1)
    assert torch.equal(out[:, 0], torch.zeros_like(out[:, 0]))
    # Node 1 hears node 0 only: its message is node 0's value, whatever the scores.
    value = conv.lin_value(x).view(2, 5, -1)
    torch.testing.assert_close(out[:, 1], value[:, 0])


def test_only_complete_graphs_are_detected():
    b, t = 3, 6
    batch = path_graph_batch(torch.zeros(b, t, 3), directed=True)
    complete = uniform_edges("complete", b, t)
    assert complete_layout(batch, complete) == Layout(b, t, True, None)
    both = uniform_edges("complete", b, t, directed=False)
    assert complete_layout(batch, both) == Layout(b, t, False, None)
    # Built elsewhere, in another order: recognised by comparison, once.
    shuffled = complete[:, torch.randperm(complete.shape[1])].clone()
    assert complete_layout(batch, shuffled) == Layout(b, t, True, None)
    # Same edge count, one edge turned the wrong way: not complete.
    wrong = complete.clone()
    wrong[:, 0] = wrong[:, 0].flip(0)
    assert complete_layout(batch, wrong) is None
    assert complete_layout(batch, uniform_edges("window:2", b, t)) is None
    assert complete_layout(batch, uniform_edges("complete", b + 1, t)) is None
    ragged = path_graph_batch(torch.zeros(b, t, 3), lengths=torch.tensor([6, 2, 4]))
    edges = sequence_edges(ragged, "complete", directed=False)
    layout = complete_layout(ragged, edges)
    assert layout is not None and (layout.num_graphs, layout.length) == (3, 6)
    assert not layout.directed and layout.lengths.tolist() == [6, 2, 4]
    assert complete_layout(ragged, edges.clone()) is None  # untagged ragged: not compared
    other = path_graph_batch(torch.zeros(b, t, 3), lengths=torch.tensor([6, 2, 4]))
    assert complete_layout(other, edges) is None  # another batch's edges
    assert complete_layout(ragged, sequence_edges(ragged, "window:3")) is None


def test_sparse_graphs_keep_message_passing(sdpa_calls):
    model = _model()
    batch = path_graph_batch(torch.randn(2, 5, 3, dtype=torch.float64), directed=True)
    model(batch, batch.x, sequence_edges(batch, "window:2"))
    assert sdpa_calls == []


def test_charnet_on_the_complete_graph_takes_the_dense_path(sdpa_calls):
    from sgtk.data.text import text_batch
    from sgtk.models.charlm import CharNet

    net = CharNet(11, "transformer", 8, 2, embed=8, graph="complete")
    tokens = torch.randint(0, 11, (2, 6))
    logits = net(text_batch(tokens, tokens))
    assert logits.shape == (12, 11) and len(sdpa_calls) == 2
