"""Each hot path beside its obvious reference, timed in the same process.

Ours and the reference alternate after a warm-up and the medians are compared, so that
machine noise hits both alike. ``ratio`` is ours / reference: for times and memory lower is
better, for throughput (chars/s) higher is better. Every target is a limit on that ratio;
no row passes or fails on an absolute time, which would change with the machine.
The recurrent, char-LM and sampling rows live in :mod:`sgtk.bench_recurrent`, the GCN rows
in :mod:`sgtk.bench_gcn`.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F


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


# ---- rows -------------------------------------------------------------------------------
def _batch_build(s: Sizes, device: torch.device) -> Row:
    """A batch of path graphs against ``Batch.from_data_list``, PyG's documented way to batch
    graphs (what its ``DataLoader`` calls), given every graph's ``edge_index`` for free: the
    reference does no graph building of its own, only the batching."""
    from torch_geometric.data import Batch, Data

    from sgtk.views import path_graph_batch

    steps = s.curve_steps[0]
    tokens = torch.randint(0, 10, (s.batch, steps), device=device)
    x = F.one_hot(tokens, 10).float()
    ei = torch.stack([torch.arange(steps - 1), torch.arange(1, steps)]).to(device)

    def ref():
        return Batch.from_data_list([Data(x=x[i], edge_index=ei) for i in range(s.batch)])

    a, b = time_pair(lambda: path_graph_batch(x, directed=True), ref, device, s.repeats * 5)
    return make_row(
        f"path-graph Batch {s.batch}x T={steps}", a * 1e3, b * 1e3, "ms",
        "Batch.from_data_list", 1 / 20,
    )  # fmt: skip


def _proc_status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _molecule_cache(quick: bool) -> Row:
    """A molecule set's second load (the processed file) against its first (RDKit).

    Not a rival implementation: the reference is the same loader's cold path, so the row says
    what the cache saves, and a cache that stopped working would show as a ratio near 1."""
    from sgtk.data.molecule_datasets import time_cached_load

    n = 50 if os.environ.get("SGTK_BENCH_TINY") else 1000 if quick else 4999
    first, again = time_cached_load(n)
    return make_row(
        f"molecules: load {n} again", again, first, "s", "first load (RDKit parsing)", 0.1
    )


def _cli_start(quick: bool) -> Row:
    """``sgtk --help`` in a fresh interpreter against ``python -c "import torch"``: the CLI
    loads torch only once a command runs, so its help must cost a fraction of that. The
    reference is the floor of any CLI that imports torch at start-up, however it is written."""
    import subprocess
    import sys

    def seconds(*args: str) -> float:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, *args], check=True, capture_output=True)
        return time.perf_counter() - t0

    times: dict[str, list[float]] = {"ours": [], "ref": []}
    for _ in range(2 if quick else 5):  # alternate, so both see the same machine
        times["ours"].append(seconds("-m", "sgtk", "--help"))
        times["ref"].append(seconds("-c", "import torch"))
    ours, ref = statistics.median(times["ours"]), statistics.median(times["ref"])
    return make_row("sgtk --help, fresh process", ours, ref, "s", 'python -c "import torch"', 0.5)


def run_bench(
    device: torch.device, quick: bool = False, on_row: Callable[[Row], None] | None = None
) -> list[Row]:
    from sgtk.bench_recurrent import char_lm_row, recurrent_rows, sampling_row
    from sgtk.nn._lstm_kernel import lstm_kernel

    s = Sizes.for_mode(quick)
    torch.manual_seed(0)
    lstm_kernel()  # a first build (about a minute, once per machine) stays out of every timing
    # These import this module, so not at the top.
    from sgtk.bench_gcn import gcn_memory_row, gcn_rows
    from sgtk.bench_limits import limit_rows
    from sgtk.bench_zoo import zoo_rows

    jobs: list[Callable[[], Row | list[Row]]] = [
        lambda: recurrent_rows(s, device),
        lambda: _batch_build(s, device),
        lambda: gcn_rows(s, device),
        lambda: char_lm_row(s, device),
        lambda: sampling_row(s),
        # Two fresh interpreters (torch and PyG imported in each): left to the full run.
        *([] if quick else [lambda: gcn_memory_row(s, device)]),
        lambda: _molecule_cache(quick),
        lambda: _cli_start(quick),
        lambda: zoo_rows(s, device),  # sequence graphs, attention, GRU
        lambda: limit_rows(s, device),  # GCN bytes/s vs a copy, LSTM FLOP/s vs its GEMMs
    ]
    if not quick:  # two 75 s trainings
        from sgtk.bench_text import text_budget_row

        jobs.append(text_budget_row)
    rows = []
    for job in jobs:
        made = job()
        for row in made if isinstance(made, list) else [made]:
            check_row(row)
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows


def lstm_kernel_info() -> dict:
    """Which LSTM loop the bench ran, and what its first build cost in this process."""
    from sgtk.nn._lstm_kernel import build_seconds, disabled, lstm_kernel

    active = lstm_kernel() is not None
    return {
        "loop": "C++ kernel" if active else "Python",
        "disabled_by_env": disabled(),
        "build_or_load_s": build_seconds(),
    }


def rows_as_dicts(rows: list[Row]) -> list[dict]:
    return [asdict(r) for r in rows]
