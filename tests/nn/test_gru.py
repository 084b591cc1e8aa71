"""The hand-written GRU's two loops (C++ kernel, Python fallback) against nn.GRU."""

import os

import pytest
import torch
from torch import nn

from sgtk.errors import SgtkError
from sgtk.nn import GRU
from tests.nn.test_rnn_kernel import cells_loop, kernel_calls  # noqa: F401  (a fixture)


def _pair(d=3, n=5):
    ref = nn.GRU(d, n, batch_first=True).double()
    return ref, GRU.from_torch(ref)


@pytest.mark.usefixtures("cells_loop")
def test_fixture_runs_the_loop_it_names(monkeypatch):
    loop = "python" if os.environ.get("SGTK_NO_EXT") == "1" else "cpp"
    calls = kernel_calls(monkeypatch)
    _pair()[1](torch.randn(2, 3, 3, dtype=torch.float64))[0].sum().backward()
    assert calls == (["gru_forward", "gru_backward"] if loop == "cpp" else [])


@pytest.mark.usefixtures("cells_loop")
@pytest.mark.parametrize("with_h0", [False, True])
def test_outputs_and_all_gradients_match_nn_gru_float64(with_h0):
    ref, ours = _pair()
    x = torch.randn(4, 7, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4, 5, dtype=torch.float64, requires_grad=True) if with_h0 else None
    hs_ref, h_ref = ref(x, h0[None] if with_h0 else None)
    hs, h_last = ours(x, h0)
    torch.testing.assert_close(hs, hs_ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(h_last, h_ref[0], atol=1e-5, rtol=0)

    up, up_last = torch.randn_like(hs), torch.randn_like(h_last)
    inputs = [x, *([h0] if with_h0 else [])]
    g_ref = torch.autograd.grad(
        (hs_ref * up).sum() + (h_ref[0] * up_last).sum(), inputs + list(ref.parameters())
    )
    g = torch.autograd.grad(
        (hs * up).sum() + (h_last * up_last).sum(), inputs + list(ours.parameters())
    )
    for a, b in zip(g, g_ref, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


@pytest.mark.usefixtures("cells_loop")
def test_candidate_keeps_its_hidden_bias_inside_the_reset_gate():
    # With the reset gate near 0, b_hn must vanish from n: folding it into b_in would not.
    ref, ours = _pair(2, 3)
    with torch.no_grad():
        for m in (ref, ours):
            b = m.bias_hh_l0 if m is ref else ours.bias_hh
            b[:3] = -50.0  # r = sigmoid(-50) ~ 0
            b[6:] = 10.0  # b_hn, large
    x = torch.randn(2, 4, 2, dtype=torch.float64)
    h0 = torch.randn(2, 3, dtype=torch.float64)
    torch.testing.assert_close(ours(x, h0)[0], ref(x, h0[None])[0], atol=1e-10, rtol=0)


@pytest.mark.usefixtures("cells_loop")
def test_loss_on_last_step_only_and_gradcheck():
    ref, ours = _pair(2, 3)
    x = torch.randn(3, 6, 2, dtype=torch.float64, requires_grad=True)
    g = torch.autograd.grad(ours(x)[1].sum(), [x, *ours.parameters()])
    g_ref = torch.autograd.grad(ref(x)[1].sum(), [x, *ref.parameters()])
    for a, b in zip(g, g_ref, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    assert torch.autograd.gradcheck(lambda inp: ours(inp)[0], (x,))


def test_from_torch_refuses_what_it_cannot_copy():
    with pytest.raises(SgtkError, match="one layer"):
        GRU.from_torch(nn.GRU(2, 3, num_layers=2))
    with pytest.raises(SgtkError, match="not LSTMCell"):
        GRU.from_torch(nn.LSTMCell(2, 3))


@pytest.mark.usefixtures("cells_loop")
def test_float32_matches_nn_gru_with_saturated_gates():
    ref = nn.GRU(3, 64, batch_first=True)
    ours = GRU.from_torch(ref)
    x = torch.randn(4, 50, 3) * 4
    torch.testing.assert_close(ours(x)[0], ref(x)[0], atol=1e-5, rtol=0)
