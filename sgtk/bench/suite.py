"""The whole bench: every row of :mod:`sgtk.bench`, in one process, in a fixed order."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict

import torch
import torch.nn.functional as F

from sgtk.bench.core import Row, Sizes, check_row, make_row, time_pair


def _batch_build(s: Sizes, device: torch.device) -> Row:
    """A batch of path graphs against ``Batch.from_data_list``, PyG's documented way to batch
    graphs (what its ``DataLoader`` calls), given every graph's ``edge_index`` for free: the
    reference does no graph building of its own, only the batching."""
    from torch_geometric.data import Batch, Data

    from sgtk.graphs.views import path_graph_batch

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
    from sgtk.bench.recurrent import char_lm_row, recurrent_rows, sampling_row
    from sgtk.nn._cells import cells_kernel
    from sgtk.nn._lstm_kernel import lstm_kernel
    from sgtk.nn.gcn_path import gcn_path_kernel

    s = Sizes.for_mode(quick)
    torch.manual_seed(0)
    # Every kernel's first build (about a minute each, once per machine) stays out of timing.
    for kernel in (lstm_kernel, cells_kernel, gcn_path_kernel):
        kernel()
    from sgtk.bench.gcn import gcn_memory_row, gcn_rows
    from sgtk.bench.limits import limit_rows
    from sgtk.bench.zoo import zoo_rows

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
        lambda: zoo_rows(s, device),  # sequence graphs, attention
        lambda: limit_rows(s, device),  # GCN bytes/s vs a copy, LSTM FLOP/s vs its GEMMs
    ]
    if not quick:  # two 75 s trainings
        from sgtk.bench.text import text_budget_row

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
