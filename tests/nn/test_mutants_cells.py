"""What a user of the hand-written cells relies on beyond parity with torch: the inits'
distributions, inputs of another dtype, torch modules without biases, the Python loops'
gradient on a loss that gives every step the same gradient, and the exact messages.
Written to kill the mutants the parity tests let live (CONTRIBUTING.md, "Mutation testing").

kills (sgtk.nn.*): rnn.xǁLSTMǁ__init____mutmut_3/4/48/49/54/55/63-66/72/74/80/81 (defaults, Xavier
  per gate, forget and chrono biases), gru.xǁGRUǁ__init____mutmut_29/30/36-38 (nn.GRU's
  bound), *.forward__mutmut_6 (x cast to the weights' dtype),
  _torch_names.x_torch_weights__mutmut_7/25-32 (a projection of 1, modules without biases),
  from_torch__mutmut_4 and check_input__mutmut_8/16 (the messages), _load_from_state_dict
  __mutmut_10 (a partial load), _cells.x_rnn_backward__mutmut_29 (the Python loop skipping
  steps whose gradient is all ones), x_cells_kernel__mutmut_4/5/13/14 and
  x_build_seconds__mutmut_1-3 (the source, the name in the log line, the build time).
"""

import math

import pytest
import torch
from torch import nn

from sgtk.errors import SgtkError
from sgtk.nn import GRU, LSTM, VanillaRNN
from sgtk.nn import _cells as cells

BIG = 2000  # hidden units: enough draws that each init's bounds and spread show


@pytest.fixture(scope="module")
def chrono():
    torch.manual_seed(0)
    return LSTM(1, BIG, init="chrono")  # t_max=100 by default: b_f ~ log U(1, 99)


def test_lstm_inits_are_xavier_per_gate(chrono):
    n, d = BIG, 1
    for w, fan_in in ((chrono.weight_ih, d), (chrono.weight_hh, n)):
        assert w.shape == (4 * n, fan_in)
        for gate in w.detach().split(n):
            want = math.sqrt(2 / (n + fan_in))  # Xavier-normal of one [n, fan_in] gate
            assert gate.std().item() == pytest.approx(want, rel=0.04)


def test_chrono_bias_spans_log_1_to_log_t_max_minus_1(chrono):
    n = BIG
    b_f = chrono.bias_ih.detach()[n : 2 * n]
    assert b_f.min() > 0 and b_f.min() < math.log(1.1)
    assert math.log(98) < b_f.max() <= math.log(99)
    torch.testing.assert_close(chrono.bias_ih.detach()[:n], -b_f, atol=0, rtol=0)
    assert not chrono.bias_ih.detach()[2 * n :].any()  # o and g untouched
    short = LSTM(1, 64, init="chrono", t_max=2)  # the upper end is never below 2
    assert short.bias_ih.detach()[64:128].max() <= math.log(2)


def test_forget_init_sets_only_f_to_one_by_default_and_xavier_no_bias():
    n = 8
    forget = LSTM(3, n, init="forget").bias_ih.detach()
    torch.testing.assert_close(forget[n : 2 * n], torch.ones(n), atol=0, rtol=0)
    assert not forget[:n].any() and not forget[2 * n :].any()
    assert not LSTM(3, n).bias_ih.any()


def test_gru_init_is_nn_grus_uniform():
    torch.manual_seed(0)
    gru = GRU(4, 400)
    bound = 1 / math.sqrt(400)
    for p in gru.parameters():
        assert p.abs().max() <= bound
        assert p.min() < -0.9 * bound and p.max() > 0.9 * bound


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_float32_input_and_state_run_in_the_cells_float64(kind):
    cell = {"rnn": VanillaRNN, "lstm": LSTM, "gru": GRU}[kind](3, 4).double()
    ref = cell.to_torch()
    x, h = torch.randn(2, 5, 3), torch.randn(2, 4, requires_grad=True)  # a learned h0
    state = (h, torch.randn(2, 4)) if kind == "lstm" else h
    ref_state = tuple(s.double()[None] for s in state) if kind == "lstm" else h.double()[None]
    out = cell(x, state)[0]
    assert out.dtype == torch.float64
    ref_out = ref(x.double(), ref_state)[0]
    torch.testing.assert_close(out, ref_out, atol=1e-12, rtol=0)
    (grad,) = torch.autograd.grad(out.sum(), h)
    torch.testing.assert_close(grad, torch.autograd.grad(ref_out.sum(), h)[0])


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_from_torch_without_biases_gives_zero_biases(kind):
    ours_type, seq_type = {"rnn": (VanillaRNN, nn.RNN), "lstm": (LSTM, nn.LSTM)}.get(
        kind, (GRU, nn.GRU)
    )
    ref = seq_type(1, 4, bias=False, batch_first=True).double()  # one input feature
    ours = ours_type.from_torch(ref)
    assert not ours.bias_ih.any() and not ours.bias_hh.any()
    x = torch.randn(2, 5, 1, dtype=torch.float64)
    torch.testing.assert_close(ours(x)[0], ref(x)[0], atol=1e-12, rtol=0)


def test_messages_name_the_cell_and_what_to_pass():
    with pytest.raises(SgtkError) as e:
        LSTM.from_torch(nn.LSTM(3, 4, proj_size=1))
    assert str(e.value) == (
        "LSTM.from_torch copies one layer, one direction, no projection: "
        "split a stacked LSTM into one-layer modules first"
    )
    with pytest.raises(SgtkError) as e:
        GRU(3, 4)(torch.randn(2, 5, 2))
    assert str(e.value) == "GRU input has shape [2, 5, 2]: give [batch, steps, 3]"
    with pytest.raises(SgtkError) as e:
        VanillaRNN(3, 4)(torch.randn(2, 5, 3), torch.zeros(4))
    assert str(e.value) == "VanillaRNN state has shape [4]: give [2, 4] (batch, hidden)"


def test_a_partial_load_reports_the_missing_second_bias():
    cell = LSTM(3, 4)
    keys = {k: v for k, v in cell.state_dict().items() if k != "bias_hh"}
    assert cell.load_state_dict(keys, strict=False).missing_keys == ["bias_hh"]


def test_python_rnn_loop_takes_a_gradient_of_all_ones_at_every_step(monkeypatch):
    monkeypatch.setenv("SGTK_NO_EXT", "1")
    ref = nn.RNN(3, 4, batch_first=True).double()
    ours = VanillaRNN.from_torch(ref)
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    got = torch.autograd.grad(ours(x)[0].sum(), ours.weight_hh)[0]  # every step: all ones
    want = torch.autograd.grad(ref(x)[0].sum(), ref.weight_hh_l0)[0]
    torch.testing.assert_close(got, want, atol=1e-12, rtol=0)


def test_the_rnn_gru_kernel_builds_its_own_source_and_says_so(monkeypatch, tmp_path, caplog):
    seen = {}

    def fake_load(**kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop here")

    monkeypatch.delenv("SGTK_NO_EXT", raising=False)
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    monkeypatch.setattr(cells, "_state", {})
    monkeypatch.setattr(cells.lstm_ext, "_missing_tool", lambda: None)
    monkeypatch.setattr("torch.utils.cpp_extension.load", fake_load)
    assert cells.cells_kernel() is None
    assert seen["sources"] == [str(cells._SOURCE)]
    assert "no C++ RNN/GRU kernel (stop here)" in caplog.text
    assert isinstance(cells.build_seconds(), float) and cells.build_seconds() >= 0
