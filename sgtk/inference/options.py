"""What `sgtk generate` was asked for, resolved and checked before a model is loaded.

Every option either changes what is generated or is refused in one line: beam search draws
nothing, so a temperature, top-k or greedy beside it could only be ignored; greedy decoding
has no temperature; a deterministic decoding from a fixed prefix has nothing to seed and
gives identical samples. Sizes are checked against the memory available, with the number.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from sgtk.data.memory import check_memory
from sgtk.errors import ConfigError, SgtkError
from sgtk.inference.quality import LENGTH, SAMPLES
from sgtk.models.sampling import check_sampling, parse_taus

if TYPE_CHECKING:
    from sgtk.inference.generate import LoadedText

SEED_LIMIT = 2**63  # torch.Generator takes a signed or unsigned 64-bit seed; ours are >= 0
DEFAULT_LENGTH, DEFAULT_TAUS, QUALITY_TAUS = 300, "1", "0.5,1,2"


@dataclass
class GenerateOptions:
    prefix: str | None
    taus: list[float]
    length: int
    greedy: bool
    top_k: int | None
    beam: int | None
    seed: int | None
    num_samples: int
    quality: Path | None

    def run_seed(self) -> int:
        """The seed of this call, shared by every temperature so that their texts differ by
        tau alone: the one given, else a fresh one."""
        return self.seed if self.seed is not None else torch.seed() % 2**31

    @property
    def quality_seed(self) -> int:
        """Word validity is a measurement: repeatable, from seed 0 unless one is given."""
        return 0 if self.seed is None else self.seed


def check_seed(seed: int | None, field: str = "seed") -> None:
    if seed is not None and not 0 <= seed < SEED_LIMIT:
        raise ConfigError(
            field, f"{field} {seed} is out of range: pass a whole number from 0 to 2**63 - 1"
        )


def resolve_options(
    prefix: str | None = None,
    tau: str | None = None,
    length: int | None = None,
    greedy: bool = False,
    top_k: int | None = None,
    beam: int | None = None,
    seed: int | None = None,
    num_samples: int | None = None,
    quality: Path | None = None,
) -> GenerateOptions:
    """The options with their defaults filled in (``None``: not given), or one line naming
    the option that cannot be honoured beside another."""
    check_seed(seed)
    if prefix == "":
        raise ConfigError("prefix", "prefix is empty: pass at least one character, or leave it out")
    if num_samples is not None and num_samples < 1:
        raise ConfigError("num_samples", f"num_samples {num_samples} must be at least 1, e.g. 4")
    if beam is not None and beam < 1:
        raise ConfigError("beam", f"beam {beam} must be at least 1, e.g. 5")
    if beam is not None:
        given = {"tau": tau, "top_k": top_k, "greedy": greedy or None, "quality": quality}
        drawn = [name for name, value in given.items() if value is not None]
        if drawn:
            raise SgtkError(
                f"`beam` searches for the likeliest texts and draws nothing, so `{drawn[0]}` "
                "cannot apply: leave it out, or leave out `beam` to sample"
            )
        if num_samples is not None and num_samples > beam:
            raise SgtkError(
                f"`num_samples` {num_samples} with `beam` {beam}: the search ends with {beam} "
                f"texts; ask for {beam} or fewer `num_samples` (the best come first)"
            )
    if greedy:
        for name, value in (("tau", tau), ("top_k", top_k), ("quality", quality)):
            if value is not None:
                raise SgtkError(
                    f"`greedy` always takes the likeliest character, so `{name}` cannot apply: "
                    "leave one of them out"
                )
    if (greedy or beam is not None) and prefix is not None:
        if seed is not None:
            raise SgtkError(
                f"`seed` with `{'greedy' if greedy else 'beam'}` and `prefix`: that decoding "
                "draws nothing, so there is nothing to seed; leave `seed` out"
            )
        if greedy and num_samples is not None and num_samples > 1:
            raise SgtkError(
                f"`num_samples` {num_samples} with `greedy` and `prefix` gives {num_samples} "
                "identical texts: sample instead (leave out `greedy`), or set `num_samples` to 1"
            )
    taus = parse_taus(tau if tau is not None else QUALITY_TAUS if quality else DEFAULT_TAUS)
    length = length if length is not None else LENGTH if quality else DEFAULT_LENGTH
    for t in taus:
        check_sampling(t, top_k, length)
    count = num_samples if num_samples is not None else SAMPLES if quality else 1
    return GenerateOptions(prefix, taus, length, greedy, top_k, beam, seed, count, quality)


def check_against_model(opts: GenerateOptions, lm: LoadedText) -> None:
    """What depends on the model, before anything is generated: the prefix in its vocabulary,
    top-k below the vocabulary size, and memory enough for the texts, the carried states (or,
    for a window model, the ``context`` nodes' states of each layer) and the logits (beam
    search: ``beam`` of each)."""
    if opts.prefix is not None:
        lm.vocab.encode(opts.prefix)
    vocab_size, hidden, layers, context = len(lm.vocab), lm.hidden, lm.layers, lm.context
    if opts.top_k is not None and opts.top_k >= vocab_size:
        raise ConfigError(
            "top_k",
            f"top_k {opts.top_k} keeps all {vocab_size} characters of the model, so it "
            f"changes nothing: keep it below {vocab_size}, or leave it out",
        )
    prefix = len(opts.prefix or "x")
    if context is not None:  # every step reads a window: its node states, layer by layer
        prefix = max(prefix, context)
        hidden *= context
    if opts.beam is not None:
        rows, field = opts.beam, "beam"
        # tokens (copied each step), log-probs in float64 (scores, reshape, topk), states
        per_row = opts.length * 16 + vocab_size * 24 + hidden * layers * 16
    else:
        rows, field = opts.num_samples, "num_samples"
        # ids, the decoded characters (list and str), logits/probs, states, the prefix pass
        per_row = opts.length * 20 + vocab_size * 16 + hidden * layers * 16 + prefix * hidden * 24
    what = "texts" if opts.beam is None else "beams"
    check_memory(
        rows * per_row,
        f"generating {rows:,} {what} of {opts.length:,} characters",
        f"lower `length` or `{field}`",
    )
