"""Train/val/test splits of a molecule set: random, or by Bemis–Murcko scaffold."""

from __future__ import annotations

from collections import defaultdict

import torch
from torch import Tensor

from sgtk.errors import SgtkError

SPLITS = ("random", "scaffold")


def random_split(n: int, seed: int, fractions=(0.8, 0.1)) -> tuple[Tensor, Tensor, Tensor]:
    """Random train/val/test indices (80/10/10), fixed by ``seed``."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_train, n_val = int(fractions[0] * n), int(fractions[1] * n)
    return perm[:n_train], perm[n_train : n_train + n_val], perm[n_train + n_val :]


def scaffold_split(
    scaffolds: list[str], fractions: tuple[float, float] = (0.8, 0.1)
) -> tuple[Tensor, Tensor, Tensor]:
    """MoleculeNet's scaffold split (Wu et al. 2018, as DeepChem and chemprop do it).

    Molecules are grouped by scaffold; the groups, largest first (ties: first seen), fill
    train up to 80 %, then val up to 90 %, and the rest goes to test. So test holds the rare
    scaffolds: molecules unlike anything seen in training. Deterministic (no seed).
    """
    groups: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(scaffolds):
        groups[s].append(i)
    ordered = sorted(groups.values(), key=lambda g: (-len(g), g[0]))
    n = len(scaffolds)
    train_cut, val_cut = fractions[0] * n, (fractions[0] + fractions[1]) * n
    train: list[int] = []
    val: list[int] = []
    test: list[int] = []
    for group in ordered:
        if len(train) + len(group) <= train_cut:
            train += group
        elif len(train) + len(val) + len(group) <= val_cut:
            val += group
        else:
            test += group
    train_t, val_t, test_t = (torch.tensor(part, dtype=torch.long) for part in (train, val, test))
    return train_t, val_t, test_t


def split_indices(
    kind: str, n: int, seed: int, scaffolds: list[str] | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    if kind == "random":
        parts = random_split(n, seed)
    elif kind == "scaffold":
        parts = scaffold_split(scaffolds or [""] * n)
    else:
        raise SgtkError(f"unknown split {kind!r}: choose one of {', '.join(SPLITS)}")
    empty = [name for name, p in zip(("train", "val", "test"), parts) if len(p) == 0]
    if empty:
        raise SgtkError(
            f"the {kind} split of {n} molecules leaves {' and '.join(empty)} empty: "
            "use more molecules" + (" or set `split` to random" if kind == "scaffold" else "")
        )
    return parts
