"""The Elman RNN's two loops (C++ kernel, Python fallback) against nn.RNN in float64, and the
kernel's build: one extension per CPU capability, the Python loop without a compiler."""

import pytest
import torch
from torch import nn

from sgtk.errors import SgtkError
from sgtk.nn import VanillaRNN
from sgtk.nn import _cells as cells

B, T, D, H = 4, 7, 5, 6


@pytest.fixture(params=["cpp", "python"])
def cells_loop(request, monkeypatch):
    """Which RNN/GRU loop runs: the C++ kernel (built once per machine) or the Python one
    (``SGTK_NO_EXT=1``). Where a compiler exists, a kernel that does not build fails."""
    if request.param == "python":
        monkeypatch.setenv("SGTK_NO_EXT", "1")
        return "python"
    monkeypatch.delenv("SGTK_NO_EXT", raising=False)
    if cells.cells_kernel() is None:
        missing = cells.lstm_ext._missing_tool()
        if missing is not None:
            pytest.skip(f"{missing}: only the Python loop can run here")
        pytest.fail("the C++ RNN/GRU kernel did not build (see the sgtk.nn log)")
    return "cpp"


def kernel_calls(monkeypatch) -> list[str]:
    """Names of the kernel ops called from now on."""
    calls: list[str] = []
    real = cells.cells_kernel

    class Spy:
        def __init__(self, ops):
            self.ops = ops

        def __getattr__(self, name):
            calls.append(name)
            return getattr(self.ops, name)

    monkeypatch.setattr(cells, "cells_kernel", lambda: (lambda k: k and Spy(k))(real()))
    return calls


def _pair(bias: bool = True):
    ref = nn.RNN(D, H, nonlinearity="tanh", batch_first=True, bias=bias).double()
    return ref, VanillaRNN.from_torch(ref)


def test_fixture_runs_the_loop_it_names(cells_loop, monkeypatch):
    calls = kernel_calls(monkeypatch)
    ours = _pair()[1]
    ours(torch.randn(B, T, D, dtype=torch.double))[0].sum().backward()
    assert calls == (["rnn_forward", "rnn_backward"] if cells_loop == "cpp" else [])


@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("last_only", [False, True])
def test_rnn_matches_nn_rnn_float64(cells_loop, with_state, last_only):
    ref, ours = _pair()
    x = torch.randn(B, T, D, dtype=torch.double, requires_grad=True)
    h0 = torch.randn(B, H, dtype=torch.double, requires_grad=True) if with_state else None
    out, last = ours(x, h0)
    ref_out, ref_last = ref(x, None if h0 is None else h0[None])
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=0)
    torch.testing.assert_close(last, ref_last[0], atol=1e-5, rtol=0)
    inputs = [x, *([h0] if with_state else [])]
    if last_only:  # a classifier: the other steps' output gradients are zero
        loss, ref_loss = (last * last).sum(), (ref_last[0] * ref_last[0]).sum()
    else:
        g = torch.randn_like(out)
        loss, ref_loss = (out * g).sum(), (ref_out * g).sum()
    got = torch.autograd.grad(loss, inputs + list(ours.parameters()))
    want = torch.autograd.grad(ref_loss, inputs + list(ref.parameters()))
    n = len(inputs) + 2
    for a, b in zip(got[:n], want[:n], strict=True):  # inputs, W_hx, W_hh
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    torch.testing.assert_close(got[n], want[n], atol=1e-5, rtol=0)  # b_h = d b_ih = d b_hh
    torch.testing.assert_close(got[n], want[n + 1], atol=1e-5, rtol=0)


def test_rnn_float32_kernel_matches_nn_rnn(cells_loop):
    ref = nn.RNN(D, 64, batch_first=True)
    ours = VanillaRNN.from_torch(ref)
    x = torch.randn(B, 50, D) * 3  # saturating pre-activations too
    torch.testing.assert_close(ours(x)[0], ref(x)[0], atol=1e-5, rtol=0)


def test_rnn_gradcheck(cells_loop):
    ours = _pair()[1]
    x = torch.randn(2, 4, D, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda inp: ours(inp)[0], (x,))


def test_from_torch_refuses_what_it_cannot_copy():
    with pytest.raises(SgtkError, match="nonlinearity"):
        VanillaRNN.from_torch(nn.RNN(2, 3, nonlinearity="relu"))
    with pytest.raises(SgtkError, match="one layer"):
        VanillaRNN.from_torch(nn.RNN(2, 3, num_layers=2))
    with pytest.raises(SgtkError, match="one layer"):
        VanillaRNN.from_torch(nn.RNN(2, 3, bidirectional=True))
    with pytest.raises(SgtkError, match="not LSTM"):
        VanillaRNN.from_torch(nn.LSTM(2, 3))


def test_extension_name_and_flags_follow_the_aten_capability(monkeypatch, tmp_path):
    seen = {}

    def fake_load(**kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop here")

    monkeypatch.delenv("SGTK_NO_EXT", raising=False)
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))  # the build lock's folder
    monkeypatch.setattr(cells, "_state", {})
    monkeypatch.setattr(cells.lstm_ext, "_missing_tool", lambda: None)
    monkeypatch.setattr("torch.utils.cpp_extension.load", fake_load)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    assert cells.cells_kernel() is None  # a failed build: the Python loops
    assert seen["name"] == "sgtk_cells_avx2"
    assert "-mavx2" in seen["extra_cflags"]
    assert not any("avx512" in f for f in seen["extra_cflags"])


def test_no_compiler_means_no_build_attempt_and_python_loops(monkeypatch):
    monkeypatch.delenv("SGTK_NO_EXT", raising=False)
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    monkeypatch.setattr(cells, "_state", {})
    monkeypatch.setattr("torch.utils.cpp_extension.load", lambda **k: pytest.fail("built"))
    ref, ours = _pair()
    x = torch.randn(B, T, D, dtype=torch.double)
    torch.testing.assert_close(ours(x)[0], ref(x)[0], atol=1e-5, rtol=0)
    assert cells._state["module"] is None


def test_building_a_kernel_says_so_through_sgtk_progress(monkeypatch, tmp_path):
    """The first build takes about a minute: a log, a notebook or a terminal hears of it."""
    import torch.utils.cpp_extension as cpp

    from sgtk import progress
    from sgtk.nn import _lstm_kernel

    monkeypatch.setattr(_lstm_kernel, "_missing_tool", lambda: None)
    monkeypatch.setattr(cpp, "_get_build_directory", lambda name, verbose: str(tmp_path))
    monkeypatch.setattr(cpp, "load", lambda **kwargs: None)  # a build that does nothing
    seen: list[tuple[str, float, float | None]] = []
    previous = progress.set_reporter(lambda what, done, total: seen.append((what, done, total)))
    try:
        _lstm_kernel.build_extension("sgtk_test_kernel", tmp_path / "k.cpp", "test")
    finally:
        progress.set_reporter(previous)
    assert seen and seen[0][0].startswith("building the C++ test kernel")
