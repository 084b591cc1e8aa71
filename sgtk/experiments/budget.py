"""Matched budgets: the hidden size that meets a parameter count, and an LR chosen on val."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from sgtk.errors import SgtkError

TOLERANCE = 0.10  # every model of a sweep within 10 % of the parameter budget


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def solve_hidden(build: Callable[[int], nn.Module], budget: int, name: str = "model") -> int:
    """The hidden size whose model comes closest to ``budget`` parameters.

    ``build(h)`` makes the model at ``h`` units. Parameter counts grow with ``h``, so the
    upper end is found by doubling and the rest by bisection: about 2 log2(h) builds.
    """
    counts: dict[int, int] = {}

    def count(h: int) -> int:
        if h not in counts:
            counts[h] = count_params(build(h))
        return counts[h]

    hi = 8
    while count(hi) < budget and hi < 1 << 16:
        hi *= 2
    lo = 1
    while lo < hi:  # the smallest h with count(h) >= budget (or the largest tried)
        mid = (lo + hi) // 2
        if count(mid) >= budget:
            hi = mid
        else:
            lo = mid + 1
    best = min((h for h in (lo - 1, lo) if h >= 1), key=lambda h: abs(count(h) - budget))
    off = count(best) / budget - 1
    if abs(off) > TOLERANCE:
        raise SgtkError(
            f"{name} cannot be built within 10 % of {budget:,} parameters (closest: "
            f"{count(best):,} at hidden {best}): choose another `params`"
        )
    return best


def pick_lr(
    grid: Sequence[float], val_of: Callable[[float], float], better: Callable[[float, float], bool]
) -> tuple[float, dict[float, float]]:
    """The LR of ``grid`` whose pilot run has the best val figure; ties go to the earlier LR."""
    scores = {lr: val_of(lr) for lr in grid}
    best = grid[0]
    for lr in grid[1:]:
        if better(scores[lr], scores[best]):
            best = lr
    return best, scores
