"""The GRU's init recipe (chrono, Tallec & Ollivier 2018): the update gate's bias keeps the
state by default, the recurrent blocks are orthogonal, and the cell still computes nn.GRU's
equations. nn.GRU keeps h where z is 1 (h' = (1 - z) n + z h), so b_z must be positive."""

import math

import pytest
import torch
from torch import nn

from sgtk.errors import SgtkError
from sgtk.models.recurrent import Recurrent
from sgtk.nn import GRU
from sgtk.tasks.palindrome_config import PalindromeConfig
from tests.helpers import assert_one_line_error, invoke

N = 200  # hidden units: enough draws that the chrono range shows, small enough to be quick


def _cell(init: str, n: int = N, t_max: int = 100, d: int = 3) -> GRU:
    torch.manual_seed(0)
    return GRU(d, n, init=init, t_max=t_max).double()


def test_chrono_bias_is_in_the_update_gate_only_with_log_u_1_to_t_max_minus_1():
    cell = _cell("chrono")
    b_ih, b_hh = cell.bias_ih.detach(), cell.bias_hh.detach()
    r, z, n = (b_ih[i * N : (i + 1) * N] for i in range(3))
    assert not b_hh[N : 2 * N].any()  # the z bias is b_ih's draw alone
    assert 0 < z.min() < math.log(1 + 0.05 * 98)
    assert math.log(99 - 0.05 * 98) < z.max() <= math.log(99)
    bound = 1 / math.sqrt(N)  # reset and new gates keep nn.GRU's uniform init
    for b in (r, n, b_hh[:N], b_hh[2 * N :]):
        assert b.abs().max() <= bound
    short = _cell("chrono", n=64, t_max=2)  # the upper end is never below 2
    assert short.bias_ih.detach()[64:128].max() <= math.log(2)


@pytest.mark.parametrize("init", ["orthogonal", "chrono"])
def test_recurrent_blocks_are_orthogonal_and_input_weights_stay_uniform(init):
    cell = _cell(init, n=16)
    for block in cell.weight_hh.detach().split(16):
        eye = torch.eye(16, dtype=torch.float64)  # drawn in float32, so to float32's precision
        torch.testing.assert_close(block @ block.T, eye, atol=1e-6, rtol=0)
    assert cell.weight_ih.detach().abs().max() <= 1 / math.sqrt(16)
    if init == "orthogonal":
        assert cell.bias_ih.detach().abs().max() <= 1 / math.sqrt(16)


def test_xavier_keeps_nn_grus_uniform_recurrent_weights():
    w = _cell("xavier", n=16).weight_hh.detach()
    assert w.abs().max() <= 1 / math.sqrt(16)  # an orthogonal block has entries above 1/4


@pytest.mark.parametrize("init", ["xavier", "orthogonal", "chrono"])
def test_each_init_still_matches_nn_gru_cell_after_copying_its_weights(init):
    cell = _cell(init, n=5)
    ref = nn.GRUCell(3, 5).double()
    ref.load_state_dict(cell.state_dict())
    x, h = torch.randn(2, 6, 3, dtype=torch.float64), torch.randn(2, 5, dtype=torch.float64)
    hs, _ = cell(x, h)
    for t in range(6):
        h = ref(x[:, t], h)
        torch.testing.assert_close(hs[:, t], h, atol=1e-5, rtol=0)


def test_chrono_keeps_the_state_at_init_with_zero_input():
    # A bias in the reset or new gate instead would leave z near 1/2: h' moves halfway to n.
    h = torch.rand(256, N, dtype=torch.float64) * 2 - 1
    x = torch.zeros(256, 1, 3, dtype=torch.float64)
    moved = {init: (_cell(init)(x, h)[1] - h).abs().mean().item() for init in ("xavier", "chrono")}
    assert moved["chrono"] < 0.15 * h.abs().mean().item()
    assert moved["chrono"] < 0.3 * moved["xavier"]


def test_an_unknown_init_is_one_line_naming_the_choices():
    with pytest.raises(SgtkError) as e:
        GRU(3, 4, init="forget")
    assert str(e.value) == "unknown GRU init 'forget': use xavier, orthogonal or chrono"


def test_auto_gives_the_gru_chrono_through_the_model_builder():
    config = PalindromeConfig(model="gru", length=25)
    assert config.resolved_init() == "chrono"
    torch.manual_seed(0)
    model = Recurrent("gru", 3, 64, layers=2, init=config.resolved_init(), t_max=25)
    for cell in (model.cell, *model.more):
        b_z = cell.bias_ih.detach()[64:128]
        assert b_z.min() > 0 and b_z.max() <= math.log(24)


def test_train_refuses_an_lstm_only_init_for_the_gru_in_one_line(tmp_path):
    r = invoke("train", "palindrome", "--model", "gru", "--init", "forget", "--steps", "1",
               "--out", str(tmp_path / "run"))  # fmt: skip
    assert_one_line_error(r, "--init 'forget' does not apply to gru", "xavier, orthogonal, chrono")
    assert r.exit_code == 2 and not (tmp_path / "run").exists()
