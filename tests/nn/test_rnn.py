"""The hand-written cells against torch.nn.RNN / nn.LSTM with the same weights (float64).

The LSTM has two loops (the C++ kernel and the Python fallback); every LSTM test runs both.
"""

import os

import pytest
import torch
from torch import nn

from sgtk.errors import SgtkError
from sgtk.nn import LSTM, VanillaRNN
from sgtk.nn import _lstm_kernel as kernel
from sgtk.nn.rnn import num_lstm_parameters

B, T, D, H = 4, 7, 5, 6


def _close(a, b, tol=1e-5):
    torch.testing.assert_close(a, b, atol=tol, rtol=0)


@pytest.mark.parametrize("with_state", [False, True])
def test_vanilla_rnn_matches_nn_rnn(with_state):
    ref = nn.RNN(D, H, nonlinearity="tanh", batch_first=True).double()
    cell = VanillaRNN(D, H).double()
    with torch.no_grad():
        cell.weight_ih.copy_(ref.weight_ih_l0)
        cell.weight_hh.copy_(ref.weight_hh_l0)
        cell.bias_ih.copy_(ref.bias_ih_l0 + ref.bias_hh_l0)
    x = torch.randn(B, T, D, dtype=torch.double, requires_grad=True)
    h0 = torch.randn(B, H, dtype=torch.double, requires_grad=True) if with_state else None
    out, last = cell(x, h0)
    ref_out, ref_last = ref(x, None if h0 is None else h0[None])
    _close(out, ref_out)
    _close(last, ref_last[0])
    g = torch.randn_like(out)
    inputs = [x] + ([h0] if with_state else [])
    ours = torch.autograd.grad((out * g).sum(), inputs + list(cell.parameters()))
    theirs = torch.autograd.grad((ref_out * g).sum(), inputs + list(ref.parameters()))
    n = len(inputs)
    for a, b in zip(ours[:n], theirs[:n]):
        _close(a, b)
    _close(ours[n], theirs[n])  # W_hx
    _close(ours[n + 1], theirs[n + 1])  # W_hh
    _close(ours[n + 2], theirs[n + 2])  # b_h == d b_ih == d b_hh
    _close(ours[n + 2], theirs[n + 3])


@pytest.fixture(params=["cpp", "python"])
def lstm_loop(request, monkeypatch):
    """Which LSTM loop runs: the C++ kernel (built once per machine) or the Python one."""
    if request.param == "python":
        monkeypatch.setenv("SGTK_NO_EXT", "1")
        return "python"
    monkeypatch.delenv("SGTK_NO_EXT", raising=False)
    if kernel.lstm_kernel() is None:
        if os.environ.get("CI") == "true":  # CI has a compiler: a failed build is a bug there
            pytest.fail("the C++ LSTM kernel did not build (see the sgtk.nn log)")
        pytest.skip("no C++ LSTM kernel here (no compiler?): the Python loop is tested")
    return "cpp"


def _counting(monkeypatch, name: str) -> list:
    calls = []
    real = getattr(kernel, name)
    monkeypatch.setattr(kernel, name, lambda *a: calls.append(1) or real(*a))
    return calls


def test_lstm_loop_fixture_runs_the_loop_it_names(lstm_loop, monkeypatch):
    python_calls = _counting(monkeypatch, "_forward_python")
    cell = LSTM(D, H).double()
    cell(torch.randn(B, T, D, dtype=torch.double))
    assert bool(python_calls) == (lstm_loop == "python")


@pytest.mark.parametrize("with_state", [False, True])
def test_lstm_matches_nn_lstm(with_state, lstm_loop):
    ref = nn.LSTM(D, H, batch_first=True).double()
    cell = LSTM.from_torch(ref)
    x = torch.randn(B, T, D, dtype=torch.double, requires_grad=True)
    state = None
    if with_state:
        state = (
            torch.randn(B, H, dtype=torch.double, requires_grad=True),
            torch.randn(B, H, dtype=torch.double, requires_grad=True),
        )
    out, (h, c) = cell(x, state)
    ref_out, (rh, rc) = ref(x, None if state is None else (state[0][None], state[1][None]))
    _close(out, ref_out)
    _close(h, rh[0])
    _close(c, rc[0])
    g = torch.randn_like(out)
    inputs = [x] + (list(state) if with_state else [])
    loss = (out * g).sum() + 0.5 * c.sum()
    ref_loss = (ref_out * g).sum() + 0.5 * rc.sum()
    ours = torch.autograd.grad(loss, inputs + [cell.weight_ih, cell.weight_hh, cell.bias_ih])
    theirs = torch.autograd.grad(
        ref_loss, inputs + [ref.weight_ih_l0, ref.weight_hh_l0, ref.bias_ih_l0, ref.bias_hh_l0]
    )
    for a, b in zip(ours, theirs):
        _close(a, b)
    _close(ours[-1], theirs[-1])  # the summed bias gets the gradient of either nn.LSTM bias


def test_lstm_float32_matches_nn_lstm_with_saturated_gates(lstm_loop):
    # float32 is where the kernel uses its own exp; large weights push gates to 0 and 1 too.
    ref = nn.LSTM(D, 32, batch_first=True)
    with torch.no_grad():
        for p in ref.parameters():
            p.mul_(8)
    cell = LSTM.from_torch(ref)
    x = torch.randn(B, 30, D, requires_grad=True)
    out, (_, c) = cell(x)
    ref_out, (_, rc) = ref(x)
    _close(out, ref_out, 1e-4)
    g = torch.randn_like(out)
    ours = torch.autograd.grad((out * g).sum() + c.sum(), [x, cell.weight_hh])
    theirs = torch.autograd.grad((ref_out * g).sum() + rc.sum(), [x, ref.weight_hh_l0])
    for a, b in zip(ours, theirs):
        _close(a / b.abs().max(), b / b.abs().max(), 1e-4)


def test_lstm_nan_input_gives_nan_output(lstm_loop):
    # The Trainer's divergence check relies on NaN propagating through the clamped exp.
    x = torch.randn(2, 3, D)
    x[0, 1, 0] = float("nan")
    out, _ = LSTM(D, H)(x)
    assert out[0, 1:].isnan().all() and not out[1].isnan().any()


def test_torch_compile_traces_the_python_loop(lstm_loop, monkeypatch):
    # The C++ op has no fake-tensor rule, so under dynamo the LSTM must take the Python loop.
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    python_calls = _counting(monkeypatch, "_forward_python")
    LSTM(D, H)(torch.randn(B, T, D))
    assert python_calls


def test_failed_kernel_build_falls_back_to_python(monkeypatch):
    import torch.utils.cpp_extension as cpp

    def no_compiler(*args, **kwargs):
        raise RuntimeError("no compiler here")

    monkeypatch.delenv("SGTK_NO_EXT", raising=False)
    monkeypatch.setattr(kernel, "_state", {})
    monkeypatch.setattr(cpp, "load", no_compiler)
    assert kernel.lstm_kernel() is None
    python_calls = _counting(monkeypatch, "_forward_python")
    ref = nn.LSTM(D, H, batch_first=True).double()
    x = torch.randn(B, T, D, dtype=torch.double)
    _close(LSTM.from_torch(ref)(x)[0], ref(x)[0])
    assert python_calls


def test_no_compiler_means_no_build_attempt(monkeypatch):
    import torch.utils.cpp_extension as cpp

    monkeypatch.delenv("SGTK_NO_EXT", raising=False)
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    monkeypatch.setattr(kernel, "_state", {})
    monkeypatch.setattr(cpp, "load", lambda *a, **k: pytest.fail("tried to build"))
    assert kernel.lstm_kernel() is None


def test_gradcheck_float64(lstm_loop):
    x = torch.randn(2, 4, 3, dtype=torch.double, requires_grad=True)
    lstm = LSTM(3, 4).double()
    rnn = VanillaRNN(3, 4).double()
    assert torch.autograd.gradcheck(lambda x: lstm(x)[0], (x,))
    assert torch.autograd.gradcheck(lambda x: rnn(x)[0], (x,))


def test_lstm_parameter_count_is_nn_lstms_less_its_second_bias():
    cell, ref = LSTM(10, 128), nn.LSTM(10, 128)
    ours = sum(p.numel() for p in cell.parameters())
    assert ours == sum(p.numel() for p in ref.parameters()) - ref.bias_hh_l0.numel()
    assert num_lstm_parameters(10, 128) == ours == 71_168  # the seed's Q1.5b figure


def test_no_torch_recurrent_or_linear_modules_inside():
    for cell in (LSTM(3, 4), VanillaRNN(3, 4)):
        assert list(cell.children()) == []


def test_inits():
    n = 16
    chrono = LSTM(3, n, init="chrono", t_max=50)
    b_f = chrono.bias_ih[n : 2 * n]
    assert (b_f >= 0).all() and (b_f <= torch.log(torch.tensor(49.0))).all()
    torch.testing.assert_close(chrono.bias_ih[:n], -b_f, atol=0, rtol=0)
    forget = LSTM(3, n, init="forget", forget_bias=1.0)
    torch.testing.assert_close(forget.bias_ih[n : 2 * n], torch.ones(n), atol=0, rtol=0)
    rnn = VanillaRNN(3, n, init="orthogonal")
    eye = rnn.weight_hh @ rnn.weight_hh.t()
    torch.testing.assert_close(eye, torch.eye(n), atol=1e-5, rtol=0)
    with pytest.raises(SgtkError, match="unknown LSTM init 'nope'"):
        LSTM(3, n, init="nope")
    with pytest.raises(SgtkError, match="unknown RNN init 'nope'"):
        VanillaRNN(3, n, init="nope")


@pytest.mark.parametrize("onednn", ["packed", "mm"])
def test_lstm_float32_at_h256_matches_nn_lstm_on_both_recurrent_gemms(
    lstm_loop, onednn, monkeypatch
):
    """From H = 256 the kernel's recurrent GEMMs (forward and dh) go through oneDNN with W_hh
    packed once; SGTK_NO_ONEDNN=1 keeps ATen's mm. Either way: nn.LSTM's outputs and every
    gradient, in float32, over enough steps for an error in dh to grow."""
    monkeypatch.setenv("SGTK_NO_ONEDNN", "1" if onednn == "mm" else "0")
    torch.manual_seed(3)
    ref = nn.LSTM(D, 256, batch_first=True)
    cell = LSTM.from_torch(ref)
    x = torch.randn(3, 12, D, requires_grad=True)
    h0 = torch.randn(3, 256, requires_grad=True)
    c0 = torch.randn(3, 256)
    out, (_, c) = cell(x, (h0, c0))
    ref_out, (_, rc) = ref(x, (h0[None], c0[None]))
    _close(out, ref_out, 1e-5)
    g = torch.randn_like(out)
    ours = torch.autograd.grad((out * g).sum() + c.sum(), [x, h0, cell.weight_hh])
    theirs = torch.autograd.grad((ref_out * g).sum() + rc.sum(), [x, h0, ref.weight_hh_l0])
    for a, b in zip(ours, theirs):
        _close(a / b.abs().max(), b / b.abs().max(), 1e-5)
