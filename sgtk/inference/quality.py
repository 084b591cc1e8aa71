"""How good a char model is: word validity of its samples, and its loss read as nanoGPT reads it.

A sample's words (runs of letters, lower-cased) are looked up in the words of the training
corpus; the share found is a readable stand-in for "does it read like the play" at each
temperature, beside the held-out loss, which says nothing about tau.

:func:`zero_state_window_loss` is nanoGPT's ``estimate_loss`` protocol on a text: windows of
256 characters, each read from a zero state, the loss averaged over every position.
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sgtk.data.text import Vocab, text_batch
from sgtk.errors import SgtkError
from sgtk.models.sampling import check_taus, sample

LETTERS = re.compile(r"[^\W\d_]+")  # letters only, in any script
SAMPLES, LENGTH = 4, 3000  # per temperature, as issue 18 measured the first shipped model
NANOGPT_WINDOW = 256  # block_size of nanoGPT's shakespeare_char, the window estimate_loss reads
WINDOWS_PER_BATCH = 64  # windows read in one forward pass


def words(text: str) -> list[str]:
    """The letter runs of ``text``, lower-cased: "Hark, what's" -> [hark, what, s]."""
    return LETTERS.findall(text.lower())


def found_share(found: int, total: int) -> float:
    return found / total if total else 0.0


def count_found(text: str, vocabulary: set[str], drop_last: bool = False) -> tuple[int, int]:
    """(words of ``text`` in ``vocabulary``, words of ``text``); ``drop_last`` leaves out the
    last word, which a sample of fixed length may cut short."""
    ws = words(text)[:-1] if drop_last else words(text)
    return sum(w in vocabulary for w in ws), len(ws)


@torch.no_grad()  # not inference_mode: GCNLayer caches keyed on _version
def word_validity(
    model: nn.Module,
    vocab: Vocab,
    corpus: str,
    taus: list[float],
    samples: int = SAMPLES,
    length: int = LENGTH,
    seed: int = 0,
    top_k: int | None = None,
    prefix: str | None = None,
    device: torch.device | str = "cpu",
    context: int | None = None,
) -> list[dict[str, float]]:
    """Per temperature: ``samples`` texts of ``length`` characters (drawn in parallel from
    ``seed``, after ``prefix`` or none, among the ``top_k`` likeliest characters or all), and
    the share of their words found anywhere in ``corpus``. A sample's last word may be cut
    short by ``length``, so it is left out; so is the prefix, which the model did not write.
    ``context``: the window of a graph or attention model (its run's ``seq_length``)."""
    check_taus(taus)
    vocabulary = set(words(corpus))
    rows = []
    for tau in taus:
        texts = sample(
            model, vocab, prefix, length, tau, False, top_k, seed, samples, device, None, context
        )
        counts = [count_found(t, vocabulary, drop_last=True) for t in texts]
        found, total = sum(c[0] for c in counts), sum(c[1] for c in counts)
        rows.append({"tau": tau, "words": total, "found": found_share(found, total)})
    return rows


@torch.no_grad()
def zero_state_window_loss(
    model: nn.Module,
    ids: Tensor,
    window: int = NANOGPT_WINDOW,
    device: torch.device | str = "cpu",
    windows_per_batch: int = WINDOWS_PER_BATCH,
) -> tuple[float, int]:
    """(nats per character, characters scored) of ``model`` on the token ids ``ids``, read
    as nanoGPT's ``estimate_loss`` reads val: windows of ``window`` characters, each from a
    zero state (no carried state, no context before the window), averaged over every position.

    nanoGPT averages random windows; here the windows are consecutive and do not overlap, so
    every character after the first is predicted exactly once: the same estimator over the
    whole text, with no sampling variance. Where ``window`` does not divide the text, the last
    window is shorter (read on its own, so no model sees padding)."""
    if window < 1:
        raise SgtkError(f"window {window} must be at least 1, e.g. {NANOGPT_WINDOW}")
    scored = len(ids) - 1
    if scored < 1:
        raise SgtkError(f"the text has {len(ids)} characters: pass at least 2")
    full = scored // window
    inputs = ids[: full * window].view(full, window)
    targets = ids[1 : full * window + 1].view(full, window)
    total = 0.0
    for i in range(0, full, windows_per_batch):
        total += _summed_loss(model, inputs[i : i + windows_per_batch],
                              targets[i : i + windows_per_batch], device)  # fmt: skip
    if scored > full * window:
        total += _summed_loss(model, ids[full * window : -1][None], ids[full * window + 1 :][None],
                              device)  # fmt: skip
    return total / scored, scored


def _summed_loss(
    model: nn.Module, inputs: Tensor, targets: Tensor, device: torch.device | str
) -> float:
    """Summed cross-entropy of windows [B, T], each a graph of its own (a recurrent model
    starts each from a zero state), as ``heldout_loss`` reads its cold windows."""
    batch = text_batch(inputs, targets, device)
    return F.cross_entropy(model(batch).float(), batch.y, reduction="sum").item()
