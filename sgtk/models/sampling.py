"""Sampling from any char model: temperature, top-k, greedy and beam search.

The prefix goes through the model once; after that each character costs one step of the
model's :class:`~sgtk.models.charlm.Decoder`: one step of the carried state for a recurrent
model, one pass over the last ``context`` characters for a graph or attention model.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from sgtk.data.text import Vocab
from sgtk.errors import ConfigError
from sgtk.models.charlm import decoder_for


def _next_token(
    logits: Tensor, tau: float, greedy: bool, top_k: int | None, generator: torch.Generator
) -> Tensor:
    if greedy:
        return logits.argmax(-1)
    # softmax(p / tau): tau < 1 sharpens, tau > 1 flattens, tau -> 0 approaches greedy.
    # The max is taken off first, so a tiny tau (1e-40) gives 0 and -inf, never inf - inf:
    # sampling then draws the likeliest character, as greedy does.
    scaled = logits.detach().float().cpu()
    scaled = scaled - scaled.amax(-1, keepdim=True)
    if tau != 1.0:  # x / 1 is x: the same bits without a call
        scaled = scaled / tau
    if top_k is not None and top_k < scaled.shape[-1]:
        kth = scaled.topk(top_k, dim=-1).values[..., -1:]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    probs = torch.softmax(scaled, dim=-1)
    return torch.multinomial(probs, 1, generator=generator)[:, 0].to(logits.device)


def check_sampling(tau: float, top_k: int | None = None, length: int = 1) -> None:
    check_taus([tau])
    if top_k is not None and top_k < 1:
        raise ConfigError("top_k", f"top_k {top_k} must be at least 1")
    if length < 0:
        raise ConfigError("length", f"length {length} must not be negative")


def check_taus(taus: list[float], field: str = "tau") -> None:
    """Temperatures, each finite and > 0; ``field``: the config field they came from."""
    if not taus:
        raise ConfigError(field, f"{field} is empty: pass one or more temperatures, e.g. 0.5,1,2")
    for tau in taus:
        if not (tau > 0 and math.isfinite(tau)):  # also rejects NaN
            raise ConfigError(
                field,
                f"{field} {tau} must be a finite number > 0 (tau < 1 is sharper, tau > 1 "
                "flatter; greedy decoding is the limit tau -> 0)",
            )


def parse_taus(text: str, field: str = "tau") -> list[float]:
    """``"0.5,1,2"`` -> [0.5, 1.0, 2.0], or one line naming the bad item."""
    taus = []
    for item in text.split(","):
        try:
            taus.append(float(item))
        except ValueError:
            raise ConfigError(
                field,
                f"{field} {text}: {item.strip()!r} is not a number; pass temperatures > 0 "
                "separated by commas, e.g. 0.5,1,2",
            ) from None
    check_taus(taus, field)
    return taus


def first_characters(vocab: Vocab, count: int, generator: torch.Generator) -> list[str]:
    """``count`` characters drawn from the training text's character distribution (the
    assignment's Listing 3), or uniformly where the model carries no counts (the pretrained
    model)."""
    weights = torch.ones(len(vocab)) if vocab.counts is None else torch.tensor(vocab.counts)
    ids = torch.multinomial(weights.double(), count, replacement=True, generator=generator)
    return [vocab.chars[i] for i in ids.tolist()]


@torch.no_grad()  # not inference_mode: GCNLayer caches keyed on _version
def sample(
    model: nn.Module,
    vocab: Vocab,
    prefix: str | None,
    length: int,
    tau: float = 1.0,
    greedy: bool = False,
    top_k: int | None = None,
    seed: int | None = None,
    num_samples: int = 1,
    device: torch.device | str = "cpu",
    on_text: Callable[[str], None] | None = None,
    context: int | None = None,
) -> list[str]:
    """``num_samples`` continuations of ``prefix`` (in parallel), each ``length`` characters.

    Without a prefix (``None``) each sample starts from its own first character, drawn with
    :func:`first_characters`, and that character begins the returned text (none when
    ``length`` is 0: nothing is generated). ``on_text``
    receives each new character of the first sample as it is drawn (streaming). ``context``:
    the window a graph or attention model reads (its run's ``seq_length``).
    """
    check_sampling(tau, top_k, length)
    if prefix == "":
        raise ConfigError("prefix", "prefix is empty: pass at least one character, or None")
    if seed is not None and not 0 <= seed < 2**63:
        raise ConfigError(
            "seed", f"seed {seed} is out of range: pass a whole number from 0 to 2**63 - 1"
        )
    if length == 0 and prefix is None:
        return [""] * num_samples  # nothing asked for: no drawn first character either
    generator = torch.Generator()
    generator.manual_seed(seed if seed is not None else torch.seed())
    was_training = model.training
    model.eval()
    if prefix is None:
        starts = first_characters(vocab, num_samples, generator)
        ids = vocab.encode("".join(starts)).to(device)[:, None]
        if on_text is not None:
            on_text(starts[0])
    else:
        starts = [""] * num_samples
        ids = vocab.encode(prefix).to(device).expand(num_samples, -1)
    decoder = decoder_for(model, context)
    logits = decoder.start(ids)
    out = torch.empty(num_samples, length, dtype=torch.long)
    for t in range(length):
        token = _next_token(logits, tau, greedy, top_k, generator)
        out[:, t] = token.cpu()
        if on_text is not None:
            on_text(vocab.chars[int(out[0, t])])
        logits = decoder.step(token)
    model.train(was_training)
    return [start + vocab.decode(row) for start, row in zip(starts, out)]


def beam_search(
    model: nn.Module,
    vocab: Vocab,
    prefix: str,
    length: int,
    beam: int = 5,
    device: torch.device | str = "cpu",
    context: int | None = None,
) -> str:
    """The most likely continuation found by keeping the ``beam`` best partial texts."""
    return beam_texts(model, vocab, prefix, length, beam, 1, device, context)[0]


@torch.no_grad()
def beam_texts(
    model: nn.Module,
    vocab: Vocab,
    prefix: str,
    length: int,
    beam: int = 5,
    count: int = 1,
    device: torch.device | str = "cpu",
    context: int | None = None,
) -> list[str]:
    """The ``count`` likeliest continuations a search keeping ``beam`` texts ends with, best
    first (``count`` <= ``beam``)."""
    if beam < 1:
        raise ConfigError("beam", f"beam {beam} must be at least 1")
    if not 1 <= count <= beam:
        raise ConfigError("count", f"count {count} with a beam of {beam}: pass 1 to {beam}")
    if not prefix:
        raise ConfigError("prefix", "prefix is empty: pass at least one character")
    model.eval()
    decoder = decoder_for(model, context)
    logits = decoder.start(vocab.encode(prefix).to(device)[None])
    scores = torch.log_softmax(logits.double(), -1)  # [1, V]
    tokens = torch.empty(1, 0, dtype=torch.long, device=device)
    for _ in range(length):
        num, size = scores.shape
        top = scores.reshape(-1).topk(min(beam, scores.numel()))
        parent, token = top.indices // size, top.indices % size
        tokens = torch.cat([tokens[parent], token[:, None]], dim=1)
        decoder.select(parent)
        logits = decoder.step(token)
        scores = top.values[:, None] + torch.log_softmax(logits.double(), -1)
    # topk sorts, so the rows are best first; fewer than ``count`` when length is tiny.
    return [vocab.decode(tokens[i]) for i in range(min(count, len(tokens)))]
