"""Refuse, in one line, a run whose tensors cannot fit, before anything large is allocated.

The estimates are rough upper bounds of the dominant tensors, not exact accounting: they exist
to turn an allocator traceback ("tried to allocate 26214137856 bytes") into a sentence that
names the flag to change.
"""

from __future__ import annotations

from pathlib import Path

from sgtk.errors import SgtkError

MEMINFO = Path("/proc/meminfo")


def available_bytes(meminfo: Path = MEMINFO) -> int | None:
    """``MemAvailable`` from ``/proc/meminfo``, or ``None`` where it cannot be read (no check)."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def human(nbytes: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if nbytes < 1024 or unit == "GiB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    raise AssertionError  # unreachable


def check_memory(nbytes: float, what: str, fix: str, available: int | None = None) -> None:
    """Raise one line when ``what`` needs more than the memory available.

    ``fix`` names the config fields to change, in backticks: ``"lower `length`"``.
    """
    available = available_bytes() if available is None else available
    if available is not None and nbytes > available:
        raise SgtkError(
            f"{what} needs about {human(nbytes)}, but only {human(available)} of memory is "
            f"available: {fix}"
        )


def sequence_batch_bytes(
    batch: int, length: int, hidden: int, layers: int, features: int, edges_per_node: float = 2
) -> int:
    """One training step over ``batch`` sequences of ``length`` as path graphs: float32
    activations kept for backward (about 8 per hidden unit per layer: LSTM gates, cell, output
    and their gradients), the input features, and int64 ``edge_index`` plus float weights."""
    nodes = batch * length
    activations = nodes * hidden * max(layers, 1) * 8 * 4
    inputs = nodes * features * 4 * 2
    graph = nodes * edges_per_node * (2 * 8 + 4)
    return int(activations + inputs + graph)


def palindrome_bytes(length: int, batch: int, eval_size: int, hidden: int, layers: int) -> int:
    """A palindrome model's side of a run: one val or test set through the model (the
    [N, 4H] gate block, no backward) and one training step."""
    evaluation = eval_size * length * hidden * 4 * 4
    return evaluation + sequence_batch_bytes(batch, length, hidden, layers, 10)


def palindrome_data_bytes(length: int, eval_size: int, features: int = 10) -> int:
    """Building the val and test sets: int64 candidate draws of the free digits (and their
    hash products), the digit sets, and the two float feature batches kept for evaluation."""
    free = (length + 1) // 2
    draws = 2 * 4 * eval_size * free * 8
    return int(draws + 2 * eval_size * length * (8 + 4 * features))
