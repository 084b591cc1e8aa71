"""Each hot path beside its obvious reference, timed in the same process.

Ours and the reference alternate after a warm-up and the medians are compared, so that
machine noise hits both alike. ``ratio`` is ours / reference: for times and memory lower is
better, for throughput (chars/s) higher is better.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Row:
    name: str
    ours: float
    reference: float
    unit: str
    ratio: float
    target: str
    ok: bool


@dataclass
class Sizes:
    batch: int = 128
    hidden: int = 128
    steps: int = 20
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
                hidden=16,
                steps=5,
                path_nodes=2_000,
                rand_nodes=500,
                rand_edges=2_000,
                sample_chars=20,
                lm_batch=2,
                lm_seq=8,
                lm_hidden=16,
                repeats=2,
            )
        if quick:
            return cls(
                path_nodes=200_000,
                rand_nodes=20_000,
                rand_edges=200_000,
                sample_chars=300,
                repeats=3,
            )
        return cls()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_pair(
    ours: Callable[[], object],
    ref: Callable[[], object],
    device: torch.device,
    repeats: int,
    warmup: int = 2,
) -> tuple[float, float]:
    """Median seconds of ``ours`` and ``ref``, run alternately."""
    for _ in range(warmup):
        ours()
        ref()
    a, b = [], []
    for _ in range(repeats):
        for fn, acc in ((ours, a), (ref, b)):
            _sync(device)
            t = time.perf_counter()
            fn()
            _sync(device)
            acc.append(time.perf_counter() - t)
    return statistics.median(a), statistics.median(b)


def _row(
    name: str,
    ours: float,
    ref: float,
    unit: str,
    target: str,
    limit: float,
    higher_is_better: bool = False,
) -> Row:
    ratio = ours / ref
    ok = ratio >= limit if higher_is_better else ratio <= limit
    return Row(name, ours, ref, unit, ratio, target, ok)


# ---- rows -------------------------------------------------------------------------------
def _recurrent_step(kind: str, s: Sizes, device: torch.device) -> Row:
    from sgtk.nn import LSTM, VanillaRNN

    d = 10
    x = F.one_hot(torch.randint(0, d, (s.batch, s.steps)), d).float().to(device)
    y = torch.randint(0, d, (s.batch,), device=device)
    if kind == "lstm":
        ref = nn.LSTM(d, s.hidden, batch_first=True).to(device)
        ours = LSTM.from_torch(ref)
    else:
        ref = nn.RNN(d, s.hidden, batch_first=True).to(device)
        ours = VanillaRNN(d, s.hidden).to(device)
    heads = [nn.Linear(s.hidden, d).to(device) for _ in range(2)]
    opts = [
        torch.optim.Adam([*m.parameters(), *h.parameters()]) for m, h in zip((ours, ref), heads)
    ]

    def step(m, head, opt):
        def run():
            loss = F.cross_entropy(head(m(x)[0][:, -1]), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

        return run

    a, b = time_pair(
        step(ours, heads[0], opts[0]), step(ref, heads[1], opts[1]), device, s.repeats * 3
    )
    name = (
        f"{'LSTM' if kind == 'lstm' else 'RNN'} train step B={s.batch} H={s.hidden} "
        f"T={s.steps} (vs nn.{'LSTM' if kind == 'lstm' else 'RNN'})"
    )
    return _row(name, a * 1e3, b * 1e3, "ms", "<= 1.25x", 1.25)


def _batch_build(s: Sizes, device: torch.device) -> Row:
    from torch_geometric.data import Batch, Data

    from sgtk.views import path_graph_batch

    tokens = torch.randint(0, 10, (s.batch, s.steps), device=device)
    x = F.one_hot(tokens, 10).float()
    ei = torch.stack([torch.arange(s.steps - 1), torch.arange(1, s.steps)]).to(device)

    def ref():
        return Batch.from_data_list([Data(x=x[i], edge_index=ei) for i in range(s.batch)])

    a, b = time_pair(lambda: path_graph_batch(x, directed=True), ref, device, s.repeats * 5)
    return _row(
        f"path-graph Batch {s.batch}x T={s.steps} (vs Batch.from_data_list)",
        a * 1e3,
        b * 1e3,
        "ms",
        ">= 20x faster",
        1 / 20,
    )


def _gcn_model(conv: type, fin: int = 16, hidden: int = 64) -> nn.ModuleList:
    return nn.ModuleList([conv(fin, hidden), conv(hidden, 1)])


def _gcn_step(model: nn.ModuleList, x: torch.Tensor, edge_index: torch.Tensor) -> None:
    h = torch.relu(model[0](x, edge_index))
    model[1](h, edge_index).sum().backward()


def _gcn_inputs(kind: str, s: Sizes, device: torch.device):
    from sgtk.views import path_edge_index

    if kind == "path":
        return torch.randn(s.path_nodes, 16, device=device), path_edge_index(
            1, s.path_nodes, device=device
        )
    g = torch.Generator().manual_seed(0)
    ei = torch.randint(0, s.rand_nodes, (2, s.rand_edges), generator=g).to(device)
    return torch.randn(s.rand_nodes, 16, device=device), ei


def _gcn(kind: str, s: Sizes, device: torch.device) -> Row:
    from torch_geometric.nn import GCNConv

    from sgtk.nn import GCNLayer

    x, ei = _gcn_inputs(kind, s, device)
    ours, ref = _gcn_model(GCNLayer).to(device), _gcn_model(GCNConv).to(device)
    a, b = time_pair(
        lambda: _gcn_step(ours, x, ei), lambda: _gcn_step(ref, x, ei), device, s.repeats
    )
    if kind == "path":
        return _row(
            f"2-layer GCN fwd+bwd, {s.path_nodes:,}-node path graph (vs GCNConv)",
            a * 1e3,
            b * 1e3,
            "ms",
            "<= 0.5x",
            0.5,
        )
    return _row(
        f"2-layer GCN fwd+bwd, random graph {s.rand_nodes:,} nodes / "
        f"{s.rand_edges:,} edges (vs GCNConv)",
        a * 1e3,
        b * 1e3,
        "ms",
        "<= 1.0x",
        1.0,
    )


def _proc_status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _peak_child(which: str, nodes: int, queue) -> None:
    from torch_geometric.nn import GCNConv

    from sgtk.nn import GCNLayer

    x, ei = _gcn_inputs("path", Sizes(path_nodes=nodes), torch.device("cpu"))
    model = _gcn_model(GCNLayer if which == "ours" else GCNConv)
    # VmHWM is this process image's own high-water mark (ru_maxrss survives exec, so a
    # spawned child would report its parent's peak).
    before = _proc_status_kib("VmRSS")
    _gcn_step(model, x, ei)
    queue.put((_proc_status_kib("VmHWM") - before) / 1024)  # MiB above the inputs


def _gcn_memory(s: Sizes, device: torch.device) -> Row:
    name = f"peak memory, 2-layer GCN step on {s.path_nodes:,}-node path graph (vs GCNConv)"
    if device.type == "cuda":
        from torch_geometric.nn import GCNConv

        from sgtk.nn import GCNLayer

        x, ei = _gcn_inputs("path", s, device)
        peaks = []
        for conv in (GCNLayer, GCNConv):
            model = _gcn_model(conv).to(device)
            _gcn_step(model, x, ei)  # warm caches (normalisation) before measuring
            torch.cuda.synchronize()
            base = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
            _gcn_step(model, x, ei)
            peaks.append((torch.cuda.max_memory_allocated() - base) / 2**20)
        return _row(name, peaks[0], peaks[1], "MiB", "<= 1.0x", 1.0)
    ctx = mp.get_context("spawn")  # a fresh process each, so high-water marks are separate
    peaks = []
    for which in ("ours", "ref"):
        queue = ctx.Queue()
        p = ctx.Process(target=_peak_child, args=(which, s.path_nodes, queue))
        p.start()
        peaks.append(queue.get(timeout=600))
        p.join()
    return _row(name, peaks[0], peaks[1], "MiB", "<= 1.0x", 1.0)


def _char_lm(s: Sizes, device: torch.device) -> Row:
    from sgtk.data.text import text_batch
    from sgtk.models.charlm import CharLSTM
    from sgtk.tasks.text import TextConfig

    cfg = TextConfig()
    vocab = 65
    hidden = s.lm_hidden
    ours = CharLSTM(vocab, hidden, cfg.layers, cfg.embed).to(device)
    ours_opt = torch.optim.Adam(ours.parameters())
    # The reference: what one writes by hand, an embedding, nn.LSTM and a head in float32.
    emb, lstm = (
        nn.Embedding(vocab, cfg.embed),
        nn.LSTM(cfg.embed, hidden, cfg.layers, batch_first=True),
    )
    head = nn.Linear(hidden, vocab)
    ref_params = [*emb.parameters(), *lstm.parameters(), *head.parameters()]
    for m in (emb, lstm, head):
        m.to(device)
    ref_opt = torch.optim.Adam(ref_params)
    tokens = torch.randint(0, vocab, (s.lm_batch, s.lm_seq + 1))
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    bf16 = device.type == "cuda" or torch.ops.mkldnn._is_mkldnn_bf16_supported()
    amp_dtype = torch.bfloat16

    def ours_step():
        batch = text_batch(inputs, targets, device)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=bf16):
            loss = F.cross_entropy(ours(batch).float(), batch.y)
        ours_opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(ours.parameters(), 5.0)
        ours_opt.step()

    def ref_step():
        i, t = inputs.to(device), targets.to(device)
        out, _ = lstm(emb(i))
        loss = F.cross_entropy(head(out).flatten(0, 1), t.reshape(-1))
        ref_opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(ref_params, 5.0)
        ref_opt.step()

    a, b = time_pair(ours_step, ref_step, device, s.repeats)
    chars = s.lm_batch * s.lm_seq
    return _row(
        f"char-LM training throughput, default model{' (bf16)' if bf16 else ''} "
        f"(vs plain fp32 nn.LSTM loop)",
        chars / a,
        chars / b,
        "chars/s",
        ">= 1.0x",
        1.0,
        higher_is_better=True,
    )


def _sampling(s: Sizes, device: torch.device) -> Row:
    from sgtk.generate import load_char_model, sample, sample_recompute

    model, vocab, _ = load_char_model(None, runs=_nowhere(), device="cpu")
    n = s.sample_chars
    a, b = time_pair(
        lambda: sample(model, vocab, "I am your", n, seed=0),
        lambda: sample_recompute(model, vocab, "I am your", n, seed=0),
        torch.device("cpu"),
        max(s.repeats // 3, 1),
        warmup=1,
    )
    row = _row(
        f"sampling {n} chars, pretrained model (vs recompute-the-prefix)",
        a,
        b,
        "s",
        "<= 0.3 s and faster",
        1.0,
    )
    row.ok = row.ok and (a * 1000 / n <= 0.3)
    return row


def _molecule_cache(quick: bool) -> Row:
    """A molecule set's second load (the processed file) against its first (RDKit)."""
    from sgtk.data.molecule_datasets import time_cached_load

    n = 50 if os.environ.get("SGTK_BENCH_TINY") else 1000 if quick else 4999
    first, again = time_cached_load(n)
    return _row(f"molecules: load {n} again / first", again, first, "s", "<= 0.1x", 0.1)


def _nowhere():
    from pathlib import Path

    return Path("/nonexistent-sgtk-runs")


def run_bench(
    device: torch.device, quick: bool = False, on_row: Callable[[Row], None] | None = None
) -> list[Row]:
    s = Sizes.for_mode(quick)
    torch.manual_seed(0)
    jobs = [
        lambda: _recurrent_step("lstm", s, device),
        lambda: _recurrent_step("rnn", s, device),
        lambda: _batch_build(s, device),
        lambda: _gcn("path", s, device),
        lambda: _gcn("random", s, device),
        lambda: _char_lm(s, device),
        lambda: _sampling(s, device),
        lambda: _gcn_memory(s, device),
        lambda: _molecule_cache(quick),
    ]
    rows = []
    for job in jobs:
        row = job()
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def rows_as_dicts(rows: list[Row]) -> list[dict]:
    return [asdict(r) for r in rows]
