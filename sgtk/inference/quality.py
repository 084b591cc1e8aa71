"""Word validity: how much of what a char model writes is made of real words.

A sample's words (runs of letters, lower-cased) are looked up in the words of the training
corpus; the share found is a readable stand-in for "does it read like the play" at each
temperature, beside the held-out loss, which says nothing about tau.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from sgtk.data.text import Vocab
from sgtk.models.sampling import check_taus, sample

LETTERS = re.compile(r"[^\W\d_]+")  # letters only, in any script
SAMPLES, LENGTH = 4, 3000  # per temperature, as issue 18 measured the first shipped model


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
