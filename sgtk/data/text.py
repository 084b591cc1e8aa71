"""Character corpora with both views: token windows, and the same windows as causal paths.

A corpus is split contiguously: train is the first 90 %, val the next 5 % (it chooses the
checkpoint), test the last 5 % (it reports, once). ``heldout`` is val and test together, the
last 10 %: the split nanoGPT calls "val", so that figure is the one to compare with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor
from torch_geometric.data import Batch

from sgtk.data.download import data_root, fetch
from sgtk.data.memory import check_memory
from sgtk.errors import ConfigError, SgtkError
from sgtk.graphs.views import path_graph_batch
from sgtk.io.files import read_bytes
from sgtk.progress import report


@dataclass(frozen=True)
class Corpus:
    url: str
    sha256: str  # pinned: another file under the same URL is refused, never trained on


CORPORA = {
    "tinyshakespeare": Corpus(
        "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    ),
}
SPLIT_ENDS = {"train": (0.0, 0.9), "val": (0.9, 0.95), "test": (0.95, 1.0), "heldout": (0.9, 1.0)}
# Evaluation windows come in multiples of this, so that a carried-state reader can lay them
# out as this many contiguous streams and still score exactly the same windows.
STREAMS = 16
ENCODE_CHUNK = 1 << 22  # characters encoded at a time (and between progress reports)


def corpus_path(name: str, root: Path | str | None = None) -> Path:
    """The built-in corpus ``name`` under ``<root>/<name>/raw/``, downloaded on first use;
    ``root`` defaults to :func:`~sgtk.data.download.data_root` (``$SGTK_DATA`` or ``data/``)."""
    if name not in CORPORA:
        raise SgtkError(
            f"unknown corpus {name!r}: choose one of {', '.join(CORPORA)} or set `data` to a file"
        )
    corpus = CORPORA[name]
    dest = data_root(root) / name / "raw" / "input.txt"
    fix = f"download it to {dest}, or set `data` to a text file"
    return fetch(corpus.url, dest, fix, sha256=corpus.sha256)


def read_text(path: Path | str, field: str = "data") -> str:
    """A UTF-8 text file, or a gzip-compressed one (decompressed as a stream), read once and
    at most ``sgtk.io.files.max_input_bytes()`` of it; ``field`` names the config field the
    path came from, for the error line."""
    raw = read_bytes(path, field)
    if not raw:
        raise SgtkError(f"text file {path} is empty: pass a UTF-8 text file with some text")
    if b"\x00" in raw:
        raise SgtkError(f"{path} looks binary (it has NUL bytes): pass a UTF-8 text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SgtkError(
            f"{path} is not UTF-8 (bad byte at offset {e.start}): convert it, "
            f"e.g. iconv -t utf-8 {Path(path).name}"
        ) from None


def _code_points(text: str) -> Tensor:
    return torch.frombuffer(bytearray(text.encode("utf-32-le")), dtype=torch.int32).long()


@dataclass(frozen=True)
class Vocab:
    """Characters in sorted order, so ids are stable across runs and machines; ``counts``,
    where known, says how often each occurs in the training text."""

    chars: str
    counts: list[int] | None = field(default=None, compare=False)

    @classmethod
    def from_text(cls, text: str) -> Vocab:
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> Tensor:
        """Ids [len(text)], by binary search over the sorted code points (no Python loop),
        a slice at a time so that a long corpus says how far it has got."""
        table = _code_points(self.chars)
        parts: list[Tensor] = []
        missing: set[str] = set()
        for start in range(0, len(text), ENCODE_CHUNK):
            codes = _code_points(text[start : start + ENCODE_CHUNK])
            ids = torch.searchsorted(table, codes).clamp_(max=max(len(table) - 1, 0))
            bad = table[ids] != codes if len(table) else torch.ones_like(codes, dtype=torch.bool)
            if bad.any():
                missing |= {chr(c) for c in codes[bad].unique().tolist()}
            parts.append(ids)
            report(f"encoding {len(text):,} characters", start + len(codes), len(text))
        if missing:
            shown = " ".join(repr(c) for c in sorted(missing))
            raise SgtkError(
                f"characters not in the model's vocabulary: {shown}; use only "
                "characters the model was trained on"
            )
        return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long)

    def decode(self, ids: Tensor | list[int]) -> str:
        return "".join(self.chars[i] for i in (ids.tolist() if isinstance(ids, Tensor) else ids))


def split_bounds(n: int) -> dict[str, tuple[int, int]]:
    """[start, end) of each split of ``n`` characters."""
    return {name: (int(a * n), int(b * n)) for name, (a, b) in SPLIT_ENDS.items()}


def shortest_text(seq_length: int) -> int:
    """The fewest characters from which on every length has a window of ``seq_length`` + 1
    in each split (val and test are 5 % each, rounded down: from 20 x (seq_length + 1) on)."""

    def fits(n: int) -> bool:
        return min(b - a for a, b in split_bounds(n).values()) >= seq_length + 1

    top = 20 * (seq_length + 1) + 20
    return next((n + 1 for n in range(top, 20 * seq_length - 1, -1) if not fits(n)), top)


class TextData:
    """A corpus split contiguously into train/val/test (90/5/5), plus ``heldout`` (val+test)."""

    def __init__(self, text: str, seq_length: int):
        if seq_length < 1:
            raise ConfigError("seq_length", f"seq_length {seq_length} must be positive, e.g. 64")
        # Code points (int32 then int64) and the ids: about 24 bytes a character at the peak.
        check_memory(24 * len(text), f"a text of {len(text):,} characters", "pass a shorter text")
        self.vocab = Vocab.from_text(text)
        ids = self.vocab.encode(text)
        self.bounds = split_bounds(len(ids))
        self.splits = {name: ids[a:b] for name, (a, b) in self.bounds.items()}
        self.train, self.val, self.test = (self.splits[s] for s in ("train", "val", "test"))
        self.seq_length = seq_length
        shortest = min(len(self.train), len(self.val), len(self.test))
        if shortest < seq_length + 1:
            fix = f"pass a text of at least {shortest_text(seq_length):,} characters"
            if shortest >= 2:  # a window needs one character and its successor at the least
                fix += f", or lower `seq_length` to {shortest - 1} or less"
            raise SgtkError(
                f"the text has {len(ids)} characters, too few for a `seq_length` of "
                f"{seq_length} (each of train/val/test, 90/5/5 %, needs more than that): {fix}"
            )

    def char_counts(self) -> list[int]:
        """How often each character occurs in the train split (to draw a first character)."""
        return torch.bincount(self.train, minlength=len(self.vocab)).tolist()

    def windows(self, starts: Tensor, split: Tensor) -> tuple[Tensor, Tensor]:
        idx = starts[:, None] + torch.arange(self.seq_length + 1)
        chunk = split[idx]
        return chunk[:, :-1], chunk[:, 1:]

    def eval_windows(self, split: str, max_chars: int | None = None) -> tuple[Tensor, Tensor]:
        """Consecutive non-overlapping windows over ``split`` (or its first ``max_chars``).

        Their number is a multiple of ``STREAMS`` once there are that many, so that every
        model, recurrent or graph, carried state or not, is scored on the same windows.
        """
        ids = self.splits[split]
        usable = len(ids) - 1 if max_chars is None else min(len(ids) - 1, max_chars)
        count = max(usable // self.seq_length, 1)
        if count >= STREAMS:
            count -= count % STREAMS
        return self.windows(torch.arange(count) * self.seq_length, ids)


def text_batch(inputs: Tensor, targets: Tensor, device: torch.device | str = "cpu") -> Batch:
    """Windows as causal path graphs; ``x`` holds token ids, ``y`` each node's next token."""
    batch = path_graph_batch(inputs.to(device), directed=True)
    batch.y = targets.to(device).reshape(-1)
    return batch


class TrainStreams:
    """``batch_size`` read heads over the train split for truncated BPTT: each step reads the
    next ``seq_length`` characters of every stream, so a recurrent model can carry its state
    from one step to the next. Streams start at random points of evenly spaced sections; a
    stream that reaches the end starts again at 0 and says so (``reset``), so its state is
    dropped there rather than carried across the wrap."""

    def __init__(self, data: TextData, batch_size: int, generator: torch.Generator):
        self.data = data
        self.limit = len(data.train) - data.seq_length  # last usable start + 1
        section = max(self.limit // batch_size, 1)
        offsets = torch.randint(0, section, (batch_size,), generator=generator)
        self.starts = (torch.arange(batch_size) * section + offsets) % self.limit

    def next(self) -> tuple[Tensor, Tensor, Tensor]:
        """(inputs [B, T], targets [B, T], reset [B]: the streams that wrapped this step)."""
        reset = self.starts >= self.limit
        self.starts = torch.where(reset, torch.zeros_like(self.starts), self.starts)
        inputs, targets = self.data.windows(self.starts, self.data.train)
        self.starts = self.starts + self.data.seq_length
        return inputs, targets, reset

    def state_dict(self) -> dict[str, Tensor]:
        return {"starts": self.starts.clone()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        self.starts = state["starts"].clone()
