"""nanoGPT's estimate_loss protocol: 256-character windows, each from a zero state, every
position of the text scored once (issue 32)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sgtk.data.text import text_batch
from sgtk.inference.quality import zero_state_window_loss
from sgtk.models.charlm import CharLSTM, CharNet
from sgtk.tasks.text import build_char_model

VOCAB = 11


def _hand_loop(model: nn.Module, ids: torch.Tensor, window: int) -> float:
    """One window at a time, each from a zero state: the protocol written out."""
    total, scored = 0.0, 0
    for start in range(0, len(ids) - 1, window):
        end = min(start + window, len(ids) - 1)
        inputs, targets = ids[start:end], ids[start + 1 : end + 1]
        if isinstance(model, CharLSTM):
            logits = model.forward_tokens(inputs[None])[0][0]  # no state: zeros
        else:
            logits = model(text_batch(inputs[None], targets[None]))
        total += F.cross_entropy(logits, targets, reduction="sum").item()
        scored += len(targets)
    return total / scored


def _model(kind: str) -> nn.Module:
    torch.manual_seed(0)
    if kind == "lstm":
        model: nn.Module = CharLSTM(VOCAB, hidden=16, layers=2, embed=8)
    else:
        cfg = {"model": "gcn", "hidden": 16, "layers": 3, "embed": 8, "dropout": 0.0}
        model = build_char_model(VOCAB, cfg)
        assert isinstance(model, CharNet)
    return model.eval()


@pytest.mark.parametrize("kind", ["lstm", "gcn"])
@pytest.mark.parametrize("length", [1000, 4 * 32 + 1, 20])
@torch.no_grad()
def test_window_loss_equals_a_hand_loop_over_windows_from_zero_state(kind, length):
    model = _model(kind)
    ids = torch.randint(0, VOCAB, (length,), generator=torch.Generator().manual_seed(1))
    # 3 windows a batch: the batches and the short last window are both exercised
    loss, scored = zero_state_window_loss(model, ids, window=32, windows_per_batch=3)
    torch.testing.assert_close(loss, _hand_loop(model, ids, 32), rtol=1e-5, atol=1e-6)
    assert scored == length - 1


class TargetCoded(nn.Module):
    """Logits from each node's target, so each position's loss depends on which one it is:
    a position left out, or read twice, moves the mean."""

    def forward(self, batch):
        return F.one_hot(batch.y, VOCAB).float() * batch.y.float()[:, None]


@pytest.mark.parametrize("length", [257, 256 * 3 + 1, 256 * 3 + 100, 50])
def test_every_position_after_the_first_is_scored_once(length):
    ids = torch.arange(length) % VOCAB
    loss, scored = zero_state_window_loss(TargetCoded(), ids, windows_per_batch=2)
    targets = ids[1:]
    per_position = F.cross_entropy(TargetCoded()(text_batch(targets[None], targets[None])), targets,
                                   reduction="none")  # fmt: skip
    torch.testing.assert_close(loss, per_position.mean().item())
    assert scored == length - 1


@torch.no_grad()
def test_a_window_starts_from_zero_state_not_from_the_last_one():
    """Read in windows of 8 from zero, the LSTM differs from one pass over the whole text
    (the state carried); in one window it is the same."""
    model, ids = (
        _model("lstm"),
        torch.randint(0, VOCAB, (65,), generator=torch.Generator().manual_seed(2)),
    )
    logits = model.forward_tokens(ids[:-1][None])[0][0]
    carried = F.cross_entropy(logits, ids[1:]).item()
    assert abs(zero_state_window_loss(model, ids, window=8)[0] - carried) > 1e-4
    torch.testing.assert_close(zero_state_window_loss(model, ids, window=64)[0], carried)
