"""The non-finite guard: no file sgtk writes ever holds NaN or infinite weights."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from sgtk.errors import SgtkError


class NonFiniteWeights(SgtkError):
    """Weights that hold NaN or inf: refused before they reach a file or a result."""


def first_non_finite(state: Mapping[str, Any]) -> str | None:
    """The name of the first floating-point tensor in ``state`` with a NaN or inf, or None."""
    for name, value in state.items():
        if isinstance(value, Mapping):
            inner = first_non_finite(value)
            if inner is not None:
                return f"{name}.{inner}"
        elif (
            isinstance(value, torch.Tensor)
            and value.is_floating_point()
            and not bool(torch.isfinite(value).all())
        ):
            return str(name)
    return None


def require_finite(state: Mapping[str, Any] | torch.nn.Module, what: str | Path) -> None:
    """Raise :class:`NonFiniteWeights` naming ``what`` and the tensor if any weight is not finite.

    ``state`` is a module or a (nested) state dict.
    """
    if isinstance(state, torch.nn.Module):
        state = state.state_dict()
    bad = first_non_finite(state)
    if bad is not None:
        raise NonFiniteWeights(
            f"{what} has non-finite weights ({bad} holds NaN or inf): the model diverged; "
            "use an earlier checkpoint, or retrain with a lower learning rate"
        )


def all_finite(module: torch.nn.Module) -> bool:
    """Whether every parameter of ``module`` is finite (one device sync for all of them)."""
    params = [p.detach() for p in module.parameters()]
    return not params or bool(torch.stack([torch.isfinite(p).all() for p in params]).all())
