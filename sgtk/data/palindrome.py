"""Digit palindromes (seed §1.1): predict the last digit of a palindrome from the first T-1.

The last digit equals the first, so the task is pure memory over T-2 steps. Palindromes are
split into train and held-out sets by a fixed hash of their free digits: the trainer never
sees a held-out palindrome, whatever T is, and batches are drawn with tensor ops only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import torch
from torch import Tensor
from torch_geometric.data import Batch

from sgtk.errors import SgtkError
from sgtk.views import path_graph_batch

NUM_CLASSES = 10
_ENUMERATE_UP_TO = 6  # free digits: enumerate all 10^m palindromes below this, sample above
_HELD_OUT_BUCKETS = 10  # one bucket in ten is held out


@cache
def _hash_weights(num_free: int) -> Tensor:
    g = torch.Generator().manual_seed(20191113)
    return torch.randint(1, 2**31 - 1, (num_free,), generator=g)


def _is_held_out(free: Tensor) -> Tensor:
    weights = _hash_weights(free.shape[1])
    return (free.long() * weights).sum(1).remainder(1_000_003).remainder(_HELD_OUT_BUCKETS) == 0


def _mirror(free: Tensor, length: int) -> Tensor:
    """Palindromes of ``length`` digits from their first ceil(length/2) digits."""
    return torch.cat([free, free[:, : length // 2].flip(1)], dim=1)


@dataclass
class PalindromeData:
    """Palindromes of ``length`` digits. Inputs are the first T-1 digits, the target the last.

    Args:
        length: T, the palindrome length (>= 3).
        one_hot: one-hot digit features (default) or the scalar digit, as the course template.
        test_size: at most this many held-out palindromes.
        directed: graph view with causal edges only (t -> t+1) instead of both directions.
    """

    length: int
    one_hot: bool = True
    test_size: int = 2000
    directed: bool = False

    def __post_init__(self) -> None:
        if self.length < 3:
            raise SgtkError(
                f"--length {self.length} is too short: a palindrome task needs "
                "length >= 3 (try --length 5)"
            )
        self.num_free = (self.length + 1) // 2
        self._test = self._make_test_set()

    @property
    def num_features(self) -> int:
        return NUM_CLASSES if self.one_hot else 1

    def _make_test_set(self) -> Tensor:
        m = self.num_free
        if m <= _ENUMERATE_UP_TO:
            idx = torch.arange(10**m)
            free = torch.stack([idx // 10**k % 10 for k in range(m - 1, -1, -1)], dim=1)
            free = free[_is_held_out(free)]
            if free.shape[0] > self.test_size:
                g = torch.Generator().manual_seed(self.length)
                free = free[torch.randperm(free.shape[0], generator=g)[: self.test_size]]
        else:
            g = torch.Generator().manual_seed(self.length)
            free = torch.empty(0, m, dtype=torch.long)
            while free.shape[0] < self.test_size:
                cand = torch.randint(0, 10, (4 * self.test_size, m), generator=g)
                free = torch.cat([free, cand[_is_held_out(cand)]])
            free = free[: self.test_size]
        return _mirror(free, self.length)

    def sample_digits(self, batch_size: int, generator: torch.Generator) -> Tensor:
        """``batch_size`` training palindromes [B, T], none of them held out."""
        out = torch.empty(0, self.num_free, dtype=torch.long)
        while out.shape[0] < batch_size:
            cand = torch.randint(
                0, 10, (batch_size + batch_size // 4 + 8, self.num_free), generator=generator
            )
            out = torch.cat([out, cand[~_is_held_out(cand)]])
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

    def test_batch(self, device: torch.device | str = "cpu") -> Batch:
        return self.to_batch(self._test, device)

    @property
    def test_digits(self) -> Tensor:
        return self._test
