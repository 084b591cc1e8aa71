"""The char-LSTM's sampling stepper, the fast path the sampling bench row times, against the
model's own ``nn.LSTM`` forward: the same logits and state in float64, the same sample for a
fixed seed as the carried-state loop a user writes, and scratch buffers that never leak."""

import pytest
import torch

from sgtk.data.text import Vocab
from sgtk.models.charlm import CharLSTM
from sgtk.models.sampling import _next_token, sample

TEXT = "the quick brown fox jumps over the lazy dog; THE END.\n" * 3


def _model(embed=8, layers=2, hidden=16, dtype=torch.float64):
    torch.manual_seed(0)
    vocab = Vocab.from_text(TEXT)
    model = CharLSTM(len(vocab), hidden=hidden, layers=layers, embed=embed).to(dtype).eval()
    with torch.no_grad():
        for p in model.parameters():  # biases too: nn.LSTM's are not zero, nor its head's
            p.uniform_(-0.5, 0.5)
    return model, vocab


def _stepped(model, ids, start):
    """Logits [B, T - start + 1, V] from the stepper after a forward over ``ids[:, :start]``,
    and the final (h, c)."""
    logits, (h, c) = model.forward_tokens(ids[:, :start])
    state = (list(h), list(c))
    out = [logits[:, -1]]
    step = model.stepper()
    for t in range(start, ids.shape[1]):
        logits, state = step(ids[:, t], state)
        out.append(logits)
    return torch.stack(out, 1), state


# embed=0: one-hot input, which forward_tokens builds in float32 only.
@pytest.mark.parametrize(
    "embed,layers,dtype",
    [(8, 2, torch.float64), (8, 1, torch.float64), (8, 3, torch.float64), (0, 2, torch.float32)],
)
def test_stepper_equals_the_models_forward_in_float64(embed, layers, dtype):
    model, vocab = _model(embed, layers, dtype=dtype)
    ids = torch.stack([vocab.encode(TEXT[i : i + 30]) for i in (0, 7, 19)])
    with torch.no_grad():
        full, (h, c) = model.forward_tokens(ids)
        stepped, (hs, cs) = _stepped(model, ids, 4)
    torch.testing.assert_close(stepped, full[:, 3:], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(torch.stack(hs), h, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(torch.stack(cs), c, atol=1e-5, rtol=1e-5)


def test_stepper_outputs_are_fresh_whatever_the_batch_size():
    # Its scratch is kept per batch size (a beam search changes it): nothing returned may
    # live in it, or a later step would overwrite what an earlier one returned.
    model, vocab = _model()
    step = model.stepper()
    with torch.no_grad():
        _, (h, c) = model.forward_tokens(vocab.encode("the ")[None].expand(2, -1))
        state = (list(h), list(c))
        first, kept = step(vocab.encode("qu"), state)
        copies = first.clone(), [t.clone() for t in kept[0] + kept[1]]
        wide = (
            [t.repeat(3, 1)[:5] for t in kept[0]],
            [t.repeat(3, 1)[:5] for t in kept[1]],
        )
        step(vocab.encode("abcde"), wide)  # another batch size, another scratch
        step(vocab.encode("zz"), kept)  # the first scratch again
    assert torch.equal(first, copies[0])
    assert all(torch.equal(a, b) for a, b in zip(kept[0] + kept[1], copies[1]))


def test_stepper_runs_without_autograd_even_where_grad_is_on():
    model, vocab = _model()
    logits, (h, c) = model.forward_tokens(vocab.encode("the ")[None])  # grad mode on
    out, _ = model.stepper()(vocab.encode("q"), (list(h), list(c)))
    assert not out.requires_grad


def _carried_nn_lstm_loop(model, vocab, prefix, length, tau, top_k, seed):
    """The loop a user writes: nn.LSTM one character at a time, (h, c) carried, drawing with
    the same arithmetic and generator as ``sample``."""
    generator = torch.Generator().manual_seed(seed)
    logits, state = model.forward_tokens(vocab.encode(prefix)[None])
    logits, out = logits[:, -1], []
    for _ in range(length):
        token = _next_token(logits, tau, False, top_k, generator)
        out.append(int(token))
        logits, state = model.forward_tokens(token[:, None], state)
        logits = logits[:, -1]
    return vocab.decode(torch.tensor(out))  # as sample returns it: the continuation


@pytest.mark.parametrize("tau,top_k", [(1.0, None), (1.7, None), (0.6, 5)])
def test_a_fixed_seed_sample_equals_the_carried_nn_lstm_loop(tau, top_k):
    model, vocab = _model()
    with torch.no_grad():
        want = _carried_nn_lstm_loop(model, vocab, "the ", 80, tau, top_k, seed=11)
    got = sample(model, vocab, "the ", 80, tau=tau, top_k=top_k, seed=11)[0]
    assert got == want
    assert len(set(got)) > 3  # a real draw, not a greedy run of one character


@pytest.mark.parametrize("tau", [1.0, 0.7, 2.5])
def test_the_draw_is_softmax_of_logits_less_their_max_over_tau(tau):
    # The arithmetic a fixed seed's samples depend on: skipping "/ 1" must not change a bit.
    logits = torch.randn(4, 65, generator=torch.Generator().manual_seed(3)) * 4
    got = _next_token(logits, tau, False, None, torch.Generator().manual_seed(9))
    probs = torch.softmax((logits - logits.max(-1, keepdim=True).values) / tau, dim=-1)
    want = torch.multinomial(probs, 1, generator=torch.Generator().manual_seed(9))[:, 0]
    assert torch.equal(got, want)
