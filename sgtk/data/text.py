"""Character corpora with both views: token windows, and the same windows as causal paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor
from torch_geometric.data import Batch

from sgtk.data.download import fetch
from sgtk.errors import SgtkError
from sgtk.views import path_graph_batch

CORPORA = {
    "tinyshakespeare": "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/"
    "tinyshakespeare/input.txt",
}


def corpus_path(name: str, root: Path | str = "data") -> Path:
    """The built-in corpus ``name`` under ``root/<name>/raw/``, downloaded on first use."""
    if name not in CORPORA:
        raise SgtkError(
            f"unknown corpus {name!r}: choose one of {', '.join(CORPORA)} or pass --data FILE"
        )
    dest = Path(root) / name / "raw" / "input.txt"
    return fetch(CORPORA[name], dest, f"pass --data FILE, or place the file at {dest}")


def read_text(path: Path | str) -> str:
    path = Path(path)
    if not path.is_file():
        raise SgtkError(f"text file {path} does not exist: check the --data path")
    raw = path.read_bytes()
    if not raw:
        raise SgtkError(f"text file {path} is empty: pass a UTF-8 text file with some text")
    if b"\x00" in raw:
        raise SgtkError(f"{path} looks binary (it has NUL bytes): pass a UTF-8 text file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SgtkError(
            f"{path} is not UTF-8 (bad byte at offset {e.start}): convert it, "
            f"e.g. iconv -t utf-8 {path.name}"
        ) from None


@dataclass(frozen=True)
class Vocab:
    """Characters in sorted order, so ids are stable across runs and machines."""

    chars: str

    @classmethod
    def from_text(cls, text: str) -> Vocab:
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> Tensor:
        index = {c: i for i, c in enumerate(self.chars)}
        missing = sorted({c for c in text if c not in index})
        if missing:
            shown = " ".join(repr(c) for c in missing)
            raise SgtkError(
                f"characters not in the model's vocabulary: {shown}; use only "
                "characters the model was trained on"
            )
        return torch.tensor([index[c] for c in text], dtype=torch.long)

    def decode(self, ids: Tensor | list[int]) -> str:
        return "".join(self.chars[i] for i in (ids.tolist() if isinstance(ids, Tensor) else ids))


class TextData:
    """A corpus split contiguously 90/10 into train and val (nanoGPT's convention)."""

    def __init__(self, text: str, seq_length: int, train_fraction: float = 0.9):
        if seq_length < 1:
            raise SgtkError(f"--seq-length {seq_length} must be positive")
        self.vocab = Vocab.from_text(text)
        ids = self.vocab.encode(text)
        n = int(train_fraction * len(ids))
        self.train, self.val = ids[:n], ids[n:]
        self.seq_length = seq_length
        if len(self.val) < seq_length + 1 or len(self.train) < seq_length + 1:
            raise SgtkError(
                f"the text has {len(ids)} characters, too few for --seq-length "
                f"{seq_length} (each split needs more than that): pass a longer "
                "text or a smaller --seq-length"
            )

    def windows(self, starts: Tensor, split: Tensor) -> tuple[Tensor, Tensor]:
        idx = starts[:, None] + torch.arange(self.seq_length + 1)
        chunk = split[idx]
        return chunk[:, :-1], chunk[:, 1:]

    def val_windows(self, max_chars: int | None = None) -> tuple[Tensor, Tensor]:
        """Non-overlapping windows covering the val split (or its first ``max_chars``)."""
        usable = len(self.val) - 1
        if max_chars is not None:
            usable = min(usable, max_chars)
        count = max(usable // self.seq_length, 1)
        return self.windows(torch.arange(count) * self.seq_length, self.val)


def text_batch(inputs: Tensor, targets: Tensor, device: torch.device | str = "cpu") -> Batch:
    """Windows as causal path graphs; ``x`` holds token ids, ``y`` each node's next token."""
    batch = path_graph_batch(inputs.to(device), directed=True)
    batch.y = targets.to(device).reshape(-1)
    return batch
