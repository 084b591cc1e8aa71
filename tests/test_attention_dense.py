"""The transformer's dense causal-attention path against its message-passing path."""

import pytest
import torch
import torch.nn.functional as F

from sgtk.graphs import complete_layout, sequence_edges, uniform_edges
from sgtk.models import attention
from sgtk.models.attention import GraphTransformer
from sgtk.views import path_graph_batch


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


@pytest.mark.parametrize("length", [2, 7])
def test_dense_path_equals_message_passing_forward_and_gradients(length, sdpa_calls, monkeypatch):
    model = _model()
    batch = path_graph_batch(torch.randn(3, length, 3, dtype=torch.float64), directed=True)
    edges = sequence_edges(batch, "complete")
    dense = _run(model, batch, edges)
    assert len(sdpa_calls) == 2  # one per block: the dense path ran
    monkeypatch.setattr(attention, "complete_layout", lambda *_: None)
    sparse = _run(model, batch, edges)
    assert len(sdpa_calls) == 2  # message passing: no dense call
    torch.testing.assert_close(dense[0], sparse[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(dense[1], sparse[1], atol=1e-5, rtol=1e-5)
    for got, want in zip(dense[2], sparse[2]):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_first_node_hears_nothing_and_no_node_hears_itself():
    conv = _model().blocks[0].attn
    x = torch.randn(2 * 5, 8, dtype=torch.float64)
    out = attention.dense_causal_attention(conv, x, 2, 5).view(2, 5, -1)
    assert torch.equal(out[:, 0], torch.zeros_like(out[:, 0]))
    # Node 1 hears node 0 only: its message is node 0's value, whatever the scores.
    value = conv.lin_value(x).view(2, 5, -1)
    torch.testing.assert_close(out[:, 1], value[:, 0])


def test_only_the_complete_causal_graph_is_detected():
    b, t = 3, 6
    batch = path_graph_batch(torch.zeros(b, t, 3), directed=True)
    complete = uniform_edges("complete", b, t)
    assert complete_layout(batch, complete) == (b, t)
    # Built elsewhere, in another order: recognised by comparison, once.
    shuffled = complete[:, torch.randperm(complete.shape[1])].clone()
    assert complete_layout(batch, shuffled) == (b, t)
    # Same edge count, one edge moved to the wrong direction: not complete.
    wrong = complete.clone()
    wrong[:, 0] = wrong[:, 0].flip(0)
    assert complete_layout(batch, wrong) is None
    assert complete_layout(batch, uniform_edges("window:2", b, t)) is None
    assert complete_layout(batch, uniform_edges("complete", b, t, directed=False)) is None
    ragged = path_graph_batch(torch.zeros(b, t, 3), lengths=torch.tensor([6, 2, 4]))
    assert complete_layout(ragged, sequence_edges(ragged, "complete")) is None


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
