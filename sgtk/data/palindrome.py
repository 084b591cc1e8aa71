"""Digit palindromes: predict the last digit of a palindrome from the first T-1.

The last digit equals the first, so the task is pure memory over T-2 steps. Palindromes are
split into train, val and test (about 80/10/10) by a fixed hash of their free digits: the
trainer never sees a val or test palindrome, whatever T is, and batches are drawn with tensor
ops only. Val chooses (best checkpoint, early stop); test reports, once, at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import torch
from torch import Tensor
from torch_geometric.data import Batch

from sgtk.data.memory import check_memory, palindrome_data_bytes
from sgtk.errors import ConfigError
from sgtk.graphs.views import path_graph_batch

NUM_CLASSES = 10
SPLITS = ("train", "val", "test")
_ENUMERATE_UP_TO = 6  # free digits: enumerate all 10^m palindromes below this, sample above
_BUCKETS = 10  # hash buckets: one for test, one for val, the other eight for train
_SPLIT_OF_BUCKET = {0: "test", 1: "val"}


@cache
def _hash_weights(num_free: int) -> Tensor:
    g = torch.Generator().manual_seed(20191113)
    return torch.randint(1, 2**31 - 1, (num_free,), generator=g)


def split_of(free: Tensor) -> Tensor:
    """The split of each row of free digits [N, m]: 0 train, 1 val, 2 test."""
    bucket = (free.long() * _hash_weights(free.shape[1])).sum(1).remainder(1_000_003)
    bucket = bucket.remainder(_BUCKETS)
    out = torch.zeros_like(bucket)
    for b, name in _SPLIT_OF_BUCKET.items():
        out[bucket == b] = SPLITS.index(name)
    return out


def _mirror(free: Tensor, length: int) -> Tensor:
    """Palindromes of ``length`` digits from their first ceil(length/2) digits."""
    return torch.cat([free, free[:, : length // 2].flip(1)], dim=1)


@dataclass
class PalindromeData:
    """Palindromes of ``length`` digits. Inputs are the first T-1 digits, the target the last.

    Args:
        length: T, the palindrome length (>= 3).
        one_hot: one-hot digit features (default) or the scalar digit, as the course template.
        eval_size: at most this many palindromes in each of val and test.
        directed: graph view with causal edges only (t -> t+1) instead of both directions.
    """

    length: int
    one_hot: bool = True
    eval_size: int = 2000
    directed: bool = False

    def __post_init__(self) -> None:
        if self.length < 3:
            raise ConfigError(
                "length",
                f"length {self.length} is too short: a palindrome task needs length >= 3, e.g. 5",
            )
        check_memory(
            palindrome_data_bytes(self.length, self.eval_size, NUM_CLASSES if self.one_hot else 1),
            f"val and test sets of palindromes of length {self.length}",
            "lower `length`",
        )
        self.num_free = (self.length + 1) // 2
        self._eval = {name: self._make_eval_set(name) for name in ("val", "test")}

    @property
    def num_features(self) -> int:
        return NUM_CLASSES if self.one_hot else 1

    def _make_eval_set(self, split: str) -> Tensor:
        m, code = self.num_free, SPLITS.index(split)
        g = torch.Generator().manual_seed(self.length * 10 + code)
        if m <= _ENUMERATE_UP_TO:
            idx = torch.arange(10**m)
            free = torch.stack([idx // 10**k % 10 for k in range(m - 1, -1, -1)], dim=1)
            free = free[split_of(free) == code]
            if free.shape[0] > self.eval_size:
                free = free[torch.randperm(free.shape[0], generator=g)[: self.eval_size]]
        else:
            # 10^m palindromes: repeats among 2,000 draws are vanishingly rare above m = 6.
            free = torch.empty(0, m, dtype=torch.long)
            while free.shape[0] < self.eval_size:
                cand = torch.randint(0, 10, (4 * self.eval_size, m), generator=g)
                free = torch.cat([free, cand[split_of(cand) == code]])
            free = free[: self.eval_size]
        return _mirror(free, self.length)

    def sample_digits(self, batch_size: int, generator: torch.Generator) -> Tensor:
        """``batch_size`` training palindromes [B, T], none of them in val or test."""
        out = torch.empty(0, self.num_free, dtype=torch.long)
        while out.shape[0] < batch_size:
            cand = torch.randint(
                0, 10, (batch_size + batch_size // 3 + 8, self.num_free), generator=generator
            )
            out = torch.cat([out, cand[split_of(cand) == 0]])
        return _mirror(out[:batch_size], self.length)

    def to_batch(self, digits: Tensor, device: torch.device | str = "cpu") -> Batch:
        """Both views in one ``Batch``: path graphs over the first T-1 digits, target ``y``."""
        digits = digits.to(device)
        inputs, target = digits[:, :-1], digits[:, -1]
        if self.one_hot:
            x = torch.nn.functional.one_hot(inputs, NUM_CLASSES).float()
        else:
            x = inputs.unsqueeze(-1).float()
        batch = path_graph_batch(x, target, directed=self.directed)
        batch.tokens = inputs
        return batch

    def train_batch(
        self, batch_size: int, generator: torch.Generator, device: torch.device | str = "cpu"
    ) -> Batch:
        return self.to_batch(self.sample_digits(batch_size, generator), device)

    def eval_batch(self, split: str, device: torch.device | str = "cpu") -> Batch:
        """The whole ``val`` or ``test`` set as one batch."""
        return self.to_batch(self._eval[split], device)

    def eval_digits(self, split: str) -> Tensor:
        return self._eval[split]
