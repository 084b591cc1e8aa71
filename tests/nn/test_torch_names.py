"""The hand-written cells under torch's names: torch's cells' state dicts load into ours and
back, ``from_torch``/``to_torch`` round-trip and agree in float64, and checkpoints written
under the names of earlier versions (``weight_hx``, ``weight_x``, ``bias``, ...) still load."""

import pytest
import torch
from torch import nn

from sgtk.errors import SgtkError
from sgtk.models.recurrent import Recurrent
from sgtk.nn import GRU, LSTM, VanillaRNN

D, H = 3, 5
CELLS = {  # ours, torch's module, torch's cell
    "rnn": (VanillaRNN, nn.RNN, nn.RNNCell),
    "lstm": (LSTM, nn.LSTM, nn.LSTMCell),
    "gru": (GRU, nn.GRU, nn.GRUCell),
}
# The names of earlier versions, written out by hand: old key -> torch's key.
OLD_KEYS = {
    "rnn": {"weight_hx": "weight_ih", "weight_hh": "weight_hh", "bias_h": "bias_ih"},
    "lstm": {"weight_x": "weight_ih", "weight_h": "weight_hh", "bias": "bias_ih"},
    "gru": {
        "weight_x": "weight_ih",
        "weight_h": "weight_hh",
        "bias_x": "bias_ih",
        "bias_h": "bias_hh",
    },
}


def _random_(module: nn.Module) -> nn.Module:
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-0.8, 0.8)
    return module


def _run(module, x):
    out = module(x)[0]
    return out, torch.autograd.grad(out.square().sum(), [x, *module.parameters()])


@pytest.mark.parametrize("kind", CELLS)
def test_state_dict_has_torch_cells_names_shapes_and_loads_both_ways(kind):
    ours_type, _, cell_type = CELLS[kind]
    ours, theirs = ours_type(D, H), _random_(cell_type(D, H))
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()
    }
    ours.load_state_dict(theirs.state_dict())  # strict: same keys
    back = cell_type(D, H)
    back.load_state_dict(ours.state_dict())
    for name, value in theirs.state_dict().items():
        torch.testing.assert_close(back.state_dict()[name], value, atol=0, rtol=0)


@pytest.mark.parametrize("kind", CELLS)
def test_from_torch_then_to_torch_gives_back_the_same_weights(kind):
    ours_type, seq_type, _ = CELLS[kind]
    ref = _random_(seq_type(D, H, batch_first=True).double())
    back = ours_type.from_torch(ref).to_torch()
    assert type(back) is seq_type and back.batch_first
    assert back.state_dict().keys() == ref.state_dict().keys()
    for name, value in ref.state_dict().items():
        torch.testing.assert_close(back.state_dict()[name], value, atol=0, rtol=0)


@pytest.mark.parametrize("kind", CELLS)
def test_to_torch_matches_outputs_and_gradients_float64(kind):
    ours = _random_(CELLS[kind][0](D, H).double())
    if kind != "gru":
        ours.bias_hh.uniform_(-0.5, 0.5)  # a second bias copied from torch counts too
    ref = ours.to_torch()
    assert ref.weight_ih_l0.dtype == torch.float64
    x = torch.randn(4, 6, D, dtype=torch.float64, requires_grad=True)
    out, grads = _run(ours, x)
    ref_out, ref_grads = _run(ref, x)
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=0)
    # x, weight_ih, weight_hh, bias_ih (and, for the GRU, bias_hh) in torch's order
    for a, b in zip(grads, ref_grads[: len(grads)], strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", CELLS)
def test_from_torch_cell_steps_like_the_torch_cell_float64(kind):
    ours_type, _, cell_type = CELLS[kind]
    ref = _random_(cell_type(D, H).double())
    ours = ours_type.from_torch(ref)
    x = torch.randn(2, 4, D, dtype=torch.float64, requires_grad=True)
    state = None
    outs = []
    for t in range(x.shape[1]):
        state = ref(x[:, t], state)
        outs.append(state[0] if kind == "lstm" else state)
    ref_out = torch.stack(outs, 1)
    out = ours(x)[0]
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=0)
    g = torch.randn_like(out)
    got = torch.autograd.grad((out * g).sum(), [x, ours.weight_ih, ours.weight_hh])
    want = torch.autograd.grad((ref_out * g).sum(), [x, ref.weight_ih, ref.weight_hh])
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", CELLS)
def test_a_checkpoint_under_the_old_names_loads_and_gives_the_same_outputs(kind):
    ours_type, seq_type, _ = CELLS[kind]
    ref = _random_(seq_type(D, H, batch_first=True).double())
    with torch.no_grad():
        if kind != "gru":  # the old one-bias cells had no second bias: it is zero
            ref.bias_hh_l0.zero_()
    old = {key: ref.get_parameter(f"{new}_l0").detach() for key, new in OLD_KEYS[kind].items()}
    ours = ours_type(D, H).double()
    ours.load_state_dict(old)  # strict
    x = torch.randn(2, 6, D, dtype=torch.float64)
    torch.testing.assert_close(ours(x)[0], ref(x)[0], atol=1e-10, rtol=0)


@pytest.mark.parametrize("kind", CELLS)
def test_old_names_load_inside_a_stacked_backbone(kind):
    # The keys carry a prefix there (cell., more.0.); the renaming must follow it.
    model = Recurrent(kind, D, H, layers=2).double()
    _random_(model)
    old = {}
    for key, value in model.state_dict().items():
        prefix, name = key.rsplit(".", 1)
        if name == "bias_hh" and kind != "gru":
            continue  # a buffer the old cells did not have (zero here)
        renamed = {new: old_key for old_key, new in OLD_KEYS[kind].items()}[name]
        old[f"{prefix}.{renamed}"] = value
    fresh = Recurrent(kind, D, H, layers=2).double()
    fresh.load_state_dict(old)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(fresh.state_dict()[key], value, atol=0, rtol=0)


@pytest.mark.parametrize("kind", CELLS)
def test_bad_input_is_one_sgtk_error(kind):
    ours = CELLS[kind][0](D, H)
    with pytest.raises(SgtkError, match=rf"shape \[2, 4, 7\]: give \[batch, steps, {D}\]"):
        ours(torch.randn(2, 4, 7))
    with pytest.raises(SgtkError, match=r"shape \[2, 4\]"):
        ours(torch.randn(2, 4))
    bad = torch.zeros(3, H)
    with pytest.raises(SgtkError, match=rf"state has shape \[3, {H}\]: give \[2, {H}\]"):
        ours(torch.randn(2, 4, D), (bad, bad) if kind == "lstm" else bad)


def test_from_torch_refuses_a_projected_lstm():
    with pytest.raises(SgtkError, match="no projection"):
        LSTM.from_torch(nn.LSTM(D, H, proj_size=2))


def test_the_one_bias_cells_train_one_bias_as_their_papers_count():
    for cell in (LSTM(D, H), VanillaRNN(D, H)):
        assert [n for n, _ in cell.named_parameters()] == ["weight_ih", "weight_hh", "bias_ih"]
        assert [n for n, _ in cell.named_buffers()] == ["bias_hh"]


def test_a_run_checkpoint_under_the_old_names_fits_the_model(tmp_path):
    # The Trainer checks a checkpoint's keys before it loads one; that check must see the
    # keys as the cells rename them (GCNLayer's `weight` -> `lin.weight` too).
    from sgtk.nn import GCNLayer, upgrade_state_dict
    from sgtk.train.checkpoint import fit_model_state

    model = nn.ModuleDict({"rnn": LSTM(D, H), "gcn": GCNLayer(D, H)})
    old = {
        "rnn.weight_x": model["rnn"].weight_ih.detach() + 1,
        "rnn.weight_h": model["rnn"].weight_hh.detach() + 1,
        "rnn.bias": model["rnn"].bias_ih.detach() + 1,
        "gcn.weight": model["gcn"].lin.weight.detach() + 1,
        "gcn.bias": model["gcn"].bias.detach() + 1,
    }
    assert upgrade_state_dict(model, old).keys() == model.state_dict().keys()
    assert "rnn.weight_x" in old  # a copy: the caller's dict is left as it was
    fit_model_state(model, {"model": old}, tmp_path / "checkpoint.pt")
    torch.testing.assert_close(model["rnn"].weight_ih.detach(), old["rnn.weight_x"])
    torch.testing.assert_close(model["gcn"].lin.weight.detach(), old["gcn.weight"])
