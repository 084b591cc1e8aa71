"""Graph names as written (``path``, ``window:K``, ``dilated``, ``complete``, ``auto``), parsed
without torch, so that a config is checked before torch and PyG load."""

from __future__ import annotations

from sgtk.errors import ConfigError

GRAPH_CHOICES = ("auto", "path", "window:K", "dilated", "complete")


def parse_graph(spec: str) -> tuple[str, int]:
    """``"window:8"`` -> ``("window", 8)``; the other kinds carry 0."""
    kind, _, arg = spec.partition(":")
    if kind in ("auto", "path", "dilated", "complete") and not arg:
        return kind, 0
    if kind == "window" and arg.isdigit() and int(arg) > 0:
        return kind, int(arg)
    raise ConfigError(
        "graph",
        f"unknown `graph` {spec!r}: choose one of {', '.join(GRAPH_CHOICES)} "
        "(K a positive integer, e.g. window:4)",
    )
