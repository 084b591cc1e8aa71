"""Checks every task config shares, torch-free: a bad size is refused before torch loads."""

from __future__ import annotations

from sgtk.errors import ConfigError


def check_sizes(hidden: int, layers: int) -> None:
    """``hidden`` units and ``layers``, each a positive count (one field per error)."""
    if hidden <= 0:
        raise ConfigError("hidden", f"hidden {hidden} must be positive, e.g. 128")
    if layers <= 0:
        raise ConfigError("layers", f"layers {layers} must be positive, e.g. 4")
