"""Each hot path beside its obvious reference, timed in the same process.

Ours and the reference alternate after a warm-up and the medians are compared, so that
machine noise hits both alike. ``ratio`` is ours / reference: for times and memory lower is
better, for throughput (chars/s) higher is better. Every target is a limit on that ratio;
no row passes or fails on an absolute time, which would change with the machine.
The rows themselves live beside this module (:mod:`sgtk.bench.recurrent`, :mod:`sgtk.bench.gcn`,
...); :mod:`sgtk.bench.suite` runs them all.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass
class Row:
    """One measurement: ``ratio`` = ours / reference, and the row passes when the ratio meets
    ``limit`` (``<=``, or ``>=`` where higher is better). No row judges an absolute time."""

    name: str
    ours: float
    reference: float
    unit: str
    ref_name: str  # what the reference is, measured in the same run
    ratio: float
    limit: float
    higher_is_better: bool
    target: str
    ok: bool
    shape: dict | None = None  # the size-curve rows: cell, batch, steps, hidden


def make_row(
    name: str,
    ours: float,
    ref: float,
    unit: str,
    ref_name: str,
    limit: float,
    higher_is_better: bool = False,
    shape: dict | None = None,
) -> Row:
    ratio = ours / ref
    ok = ratio >= limit if higher_is_better else ratio <= limit
    target = f"{'>=' if higher_is_better else '<='} {limit:g}x"
    return Row(name, ours, ref, unit, ref_name, ratio, limit, higher_is_better, target, ok, shape)


def check_row(row: Row) -> None:
    """Raise ValueError unless the row is a ratio against a named reference from this run."""
    if not row.ref_name.strip():
        raise ValueError(f"bench row {row.name!r} names no reference")
    if not (row.ours > 0 and row.reference > 0 and row.limit > 0):
        raise ValueError(f"bench row {row.name!r} has a non-positive time or limit")
    if abs(row.ratio - row.ours / row.reference) > 1e-9 * max(row.ratio, 1.0):
        raise ValueError(f"bench row {row.name!r}: ratio is not ours / reference")
    sign = ">=" if row.higher_is_better else "<="
    if row.target != f"{sign} {row.limit:g}x":
        raise ValueError(f"bench row {row.name!r}: target {row.target!r} is not a ratio")
    if row.ok != (row.ratio >= row.limit if row.higher_is_better else row.ratio <= row.limit):
        raise ValueError(f"bench row {row.name!r}: ok does not follow from ratio and target")


@dataclass
class Sizes:
    batch: int = 128
    curve_steps: tuple[int, ...] = (20, 100)  # #17: the shapes users train
    curve_hidden: tuple[int, ...] = (128, 256, 512)
    path_nodes: int = 1_000_000
    rand_nodes: int = 100_000
    rand_edges: int = 1_000_000
    sample_chars: int = 1000
    lm_batch: int = 32
    lm_seq: int = 64
    lm_hidden: int = 384  # the default text model's
    repeats: int = 7

    @classmethod
    def for_mode(cls, quick: bool) -> Sizes:
        if os.environ.get("SGTK_BENCH_TINY"):  # for the test suite: shapes, not speed
            return cls(
                batch=8,
                curve_steps=(5,),
                curve_hidden=(16, 32),
                path_nodes=2_000,
                rand_nodes=500,
                rand_edges=2_000,
                sample_chars=20,
                lm_batch=2,
                lm_seq=8,
                lm_hidden=16,
                repeats=2,
            )
        if quick:  # about 40 s of CPU on a 2-core EPYC: every row but peak memory
            return cls(
                curve_steps=(20,),
                curve_hidden=(128, 256),
                path_nodes=100_000,
                rand_nodes=20_000,
                rand_edges=200_000,
                sample_chars=200,
                lm_hidden=256,
                repeats=3,
            )
        return cls()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_many(
    fns: list[Callable[[], object]], device: torch.device, repeats: int, warmup: int = 2
) -> list[float]:
    """Median seconds of each function, run in turn so that machine noise hits all alike.
    The warm-up runs first, outside the timing: caches, lazy builds and allocator growth."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, acc in zip(fns, times):
            _sync(device)
            t = time.perf_counter()
            fn()
            _sync(device)
            acc.append(time.perf_counter() - t)
    return [statistics.median(acc) for acc in times]


def time_pair(ours, ref, device: torch.device, repeats: int, warmup: int = 2):
    """Median seconds of ``ours`` and ``ref``, run alternately."""
    a, b = time_many([ours, ref], device, repeats, warmup)
    return a, b


def _proc_status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def last_step_fwd_bwd(
    models: tuple[torch.nn.Module, ...], x: torch.Tensor, y: torch.Tensor, hidden: int
) -> list[Callable[[], None]]:
    """For each sequence model (``model(x)[0]`` is [B, T, hidden]), one fwd+bwd under its own
    linear head with a cross-entropy on the last step, as the palindrome task trains them."""
    import torch.nn.functional as F

    def fwd_bwd(model: torch.nn.Module) -> Callable[[], None]:
        head = torch.nn.Linear(hidden, x.shape[-1]).to(x.device)
        params = [*model.parameters(), *head.parameters()]

        def run() -> None:
            for p in params:
                p.grad = None
            F.cross_entropy(head(model(x)[0][:, -1]), y).backward()

        return run

    return [fwd_bwd(model) for model in models]


def repeats_for(s: Sizes, hidden: int, steps: int) -> int:
    """Fewer repeats where one step takes long (a recurrent step's work grows as H^2 T)."""
    return max(s.repeats, min(3 * s.repeats, 3 * s.repeats * 128 * 20 // (hidden * steps)))
