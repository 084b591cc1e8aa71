"""`sgtk bench`: every row is a ratio against a named reference measured in the same run.

Tiny shapes (SGTK_BENCH_TINY): these tests check the rows and their targets, never speed.
"""

from dataclasses import replace

import pytest
import torch

from sgtk.bench import gcn as bench_gcn
from sgtk.bench import recurrent as bench_recurrent
from sgtk.bench import suite as bench
from sgtk.bench.core import Row, Sizes, check_row, make_row
from tests.helpers import invoke, last_json


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setenv("SGTK_BENCH_TINY", "1")
    return Sizes.for_mode(quick=True)


def test_bench_quick_json_rows_are_ratios_against_named_references(tiny, tmp_path):
    png = tmp_path / "bench.png"
    r = invoke("bench", "--quick", "--json", "--device", "cpu", "--plot", "--plot-file", png)
    data = last_json(r)
    assert data["device"] == "cpu"
    assert data["lstm_kernel"]["loop"] in ("C++ kernel", "Python")
    rows = [Row(**row) for row in data["rows"]]
    for row in rows:
        check_row(row)  # raises on a missing reference or a target that is not a ratio
    curve = [row for row in rows if row.shape is not None and "cell" in row.shape]
    cells = len(tiny.curve_steps) * len(tiny.curve_hidden)
    assert len(curve) == 3 * cells
    assert {row.ref_name for row in curve} == {"nn.LSTM", "nn.RNN", "nn.GRU"}
    gcn = [row for row in rows if row.name.startswith("2-layer GCN")]
    primary = [row for row in gcn if row.ref_name.startswith(bench_gcn.ADJ_T_NAME)]
    assert len(primary) == 2  # path and random graph
    assert sum("(secondary)" in row.ref_name for row in gcn) == 4  # edge_index forms, labelled
    (sampling,) = [row for row in rows if row.name.startswith("sampling")]
    assert "carried (h, c)" in sampling.ref_name and sampling.limit == 0.3
    (char_lm,) = [row for row in rows if row.name.startswith("char-LM")]
    precision = char_lm.name.rsplit("both ", 1)[1]
    assert precision in char_lm.ref_name  # one precision on both sides
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_size_curve_targets_follow_issue_17():
    assert bench_recurrent.curve_target("lstm", 128) == 1.25
    assert (
        bench_recurrent.curve_target("lstm", 256)
        == bench_recurrent.curve_target("lstm", 512)
        == 1.1
    )
    assert Sizes().curve_steps == (20, 100) and Sizes().curve_hidden == (128, 256, 512)
    assert Sizes().batch == 128


GOOD = make_row("x", 2.0, 4.0, "ms", "nn.LSTM", 1.25)


@pytest.mark.parametrize(
    "bad,word",
    [
        (replace(GOOD, ref_name=""), "no reference"),
        (replace(GOOD, reference=0.0), "non-positive"),
        (replace(GOOD, target="<= 0.3 s and faster"), "not a ratio"),
        (replace(GOOD, ratio=0.1), "ours / reference"),
        (replace(GOOD, ok=False), "ok does not follow"),
        (make_row("y", 2.0, 1.0, "chars/s", "loop", 0.95, higher_is_better=True), None),
    ],
)
def test_check_row_rejects_rows_that_are_not_honest_ratios(bad, word):
    if word is None:  # a well-formed higher-is-better row passes
        check_row(bad)
        return
    with pytest.raises(ValueError, match=word):
        check_row(bad)


def test_run_bench_refuses_a_row_without_a_reference(tiny, monkeypatch):
    def no_reference(s, device):
        return [replace(GOOD, ref_name="")]

    monkeypatch.setattr(bench_recurrent, "recurrent_rows", no_reference)
    with pytest.raises(ValueError, match="no reference"):
        bench.run_bench(torch.device("cpu"), quick=True)


def test_size_curve_plot_has_a_line_per_cell_and_length(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [
        make_row(
            "r",
            h / 100,
            1.0,
            "ms",
            "nn.LSTM",
            1.1,
            shape={"cell": c, "batch": 128, "steps": t, "hidden": h},
        )  # fmt: skip
        for c in ("lstm", "rnn")
        for t in (20, 100)
        for h in (128, 256, 512)
    ]
    saved = {}
    savefig = plt.Figure.savefig

    def keep(fig, path, **kwargs):
        saved["labels"] = [line.get_label() for line in fig.axes[0].get_lines()]
        saved["axes"] = (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel())
        savefig(fig, path, **kwargs)

    monkeypatch.setattr(plt.Figure, "savefig", keep)
    bench_recurrent.plot_size_curve(rows, tmp_path / "b.png")
    for label in ("LSTM T=20", "LSTM T=100", "RNN T=20", "RNN T=100"):
        assert label in saved["labels"]
    assert any(label.startswith("1.0") for label in saved["labels"])
    assert "H" in saved["axes"][0] and "ratio" in saved["axes"][1]
    assert (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"


# ---- the references are what their rows claim --------------------------------------------
def _record_calls(monkeypatch, cls, calls: list) -> None:
    """Append (module, x, graph, output, cache after the call) for every ``cls`` forward."""
    forward = cls.forward

    def spy(self, x, graph, *args, **kwargs):
        out = forward(self, x, graph, *args, **kwargs)
        cache = getattr(self, "_cached_adj_t", None)
        cache = cache if cache is not None else getattr(self, "_cached_edge_index", None)
        calls.append((self, x.detach(), graph, out.detach(), cache))
        return out

    monkeypatch.setattr(cls, "forward", spy)


def _is_adj_t(graph) -> bool:
    return type(graph).__name__ == "SparseTensor" or (
        isinstance(graph, torch.Tensor) and graph.layout == torch.sparse_csr
    )


@pytest.mark.parametrize("kind", ["path", "random"])
def test_gcn_primary_reference_is_cached_gcnconv_on_adj_t_reusing_its_cache(
    tiny, monkeypatch, kind
):
    from torch_geometric.nn import GCNConv

    from sgtk.nn import GCNLayer

    pyg, ours = [], []
    _record_calls(monkeypatch, GCNConv, pyg)
    _record_calls(monkeypatch, GCNLayer, ours)
    rows = bench_gcn._gcn(kind, tiny, torch.device("cpu"))
    assert rows[0].ref_name.startswith("GCNConv(cached=True), adj_t")
    on_adj_t = {id(c[0]): c[0] for c in pyg if _is_adj_t(c[2])}
    assert len(on_adj_t) == 2  # the primary reference's two layers
    for conv in on_adj_t.values():
        assert conv.cached and conv.normalize and conv.add_self_loops
        caches = [c[4] for c in pyg if c[0] is conv]
        assert caches[0] is not None  # primed by the first call
        assert all(cache is caches[0] for cache in caches)  # and reused, never rebuilt
    # Every model, ours and each reference, does one forward per layer per step.
    counts = {}
    for module, *_ in pyg + ours:
        counts[id(module)] = counts.get(id(module), 0) + 1
    assert len(counts) == 2 * 4 and len(set(counts.values())) == 1, counts
    # adj_t is PyG's transposed adjacency of the benchmarked graph: the first layer on it
    # gives what GCNConv gives on edge_index with the same weights.
    conv, x, adj_t, out, _ = next(c for c in pyg if _is_adj_t(c[2]) and c[1].shape[1] == 16)
    edge_index = next(c[2] for c in pyg if not _is_adj_t(c[2]))
    check = GCNConv(16, conv.out_channels)
    check.load_state_dict(conv.state_dict())
    torch.testing.assert_close(out, check(x, edge_index).detach(), atol=1e-5, rtol=1e-4)
    dense = torch.zeros(x.shape[0], x.shape[0])
    dense[edge_index[1], edge_index[0]] = 1.0  # row: target, column: source
    torch.testing.assert_close(adj_t.to_dense(), dense)


def _count_forwards(monkeypatch, cls) -> list[int]:
    count = [0]
    forward = cls.forward

    def counted(self, *args, **kwargs):
        count[0] += 1
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(cls, "forward", counted)
    return count


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_recurrent_reference_does_its_work_once_a_call(tiny, monkeypatch, cell):
    """Each timed call of the reference runs torch.nn's cell once, as each call of ours runs
    ours once: a reference that did its work twice would make every ratio look better."""
    from torch import nn

    from sgtk.nn import LSTM, VanillaRNN

    ref = _count_forwards(monkeypatch, nn.LSTM if cell == "lstm" else nn.RNN)
    mine = _count_forwards(monkeypatch, LSTM if cell == "lstm" else VanillaRNN)
    per_call: dict[str, list[tuple[int, int]]] = {"ours": [], "ref": []}
    time_pair = bench_recurrent.time_pair

    def watched(ours_fn, ref_fn, *args, **kwargs):
        def watch(side, fn):
            def run():
                before = (mine[0], ref[0])
                fn()
                per_call[side].append((mine[0] - before[0], ref[0] - before[1]))

            return run

        return time_pair(watch("ours", ours_fn), watch("ref", ref_fn), *args, **kwargs)

    monkeypatch.setattr(bench_recurrent, "time_pair", watched)
    row = bench_recurrent._recurrent(cell, 4, 5, 16, tiny, torch.device("cpu"))
    check_row(row)
    assert per_call["ours"] and len(per_call["ours"]) == len(per_call["ref"])
    assert set(per_call["ours"]) == {(1, 0)}  # ours: one forward of ours, none of torch's
    assert set(per_call["ref"]) == {(0, 1)}  # the reference: one of torch's, none of ours


def test_char_lm_sides_each_run_nn_lstm_once_a_step(tiny, monkeypatch):
    """The Trainer's step and the plain loop both run the model's nn.LSTM once a call."""
    from torch import nn

    count = _count_forwards(monkeypatch, nn.LSTM)
    per_call: dict[str, list[int]] = {"ours": [], "ref": []}
    time_pair = bench_recurrent.time_pair

    def watched(ours_fn, ref_fn, *args, **kwargs):
        def watch(side, fn):
            def run():
                before = count[0]
                fn()
                per_call[side].append(count[0] - before)

            return run

        return time_pair(watch("ours", ours_fn), watch("ref", ref_fn), *args, **kwargs)

    monkeypatch.setattr(bench_recurrent, "time_pair", watched)
    check_row(bench_recurrent.char_lm_row(tiny, torch.device("cpu")))
    assert per_call["ours"] and len(per_call["ours"]) == len(per_call["ref"])
    assert set(per_call["ours"]) == set(per_call["ref"]) == {1}


# ---- rows against the machine (sgtk.bench.limits) -----------------------------------------
def test_gcn_layer_bytes_count_every_tensor_the_layer_must_touch():
    """On a 5-node path graph, the floor is the sum of the real tensors' sizes."""
    from sgtk.bench.limits import gcn_layer_bytes
    from sgtk.graphs.views import path_edge_index
    from sgtk.nn import GCNLayer

    layer = GCNLayer(2, 3)
    x = torch.randn(5, 2)
    out = layer(x, path_edge_index(1, 5))
    out.backward(grad := torch.randn_like(out))
    bands = layer._cache.operator.bands  # Â's three bands, [3, N]

    def size(*tensors):
        return sum(t.numel() * t.element_size() for t in tensors)

    params = (layer.lin.weight, layer.bias)
    forward = size(x, bands, *params, out)  # read X, Â, W, b; write H'
    backward = size(grad, x, layer.lin.weight.grad, layer.bias.grad)  # read G, ÂX; write dW, db
    assert gcn_layer_bytes(5, 2, 3) == (forward, backward) == (4 * 49, 4 * 34)
    assert gcn_layer_bytes(5, 2, 3, bias=False) == (4 * 46, 4 * 31)


def test_limit_rows_report_a_fraction_of_a_same_run_machine_rate(tiny):
    from sgtk.bench import limits as bench_limits

    rows = bench_limits.limit_rows(tiny, torch.device("cpu"))
    assert [row.unit for row in rows] == ["GB/s", "GB/s", "GFLOP/s"]
    for row in rows:
        check_row(row)
        assert row.higher_is_better and row.limit == 0.5 and row.ratio > 0
    # No layer moves its bytes much faster than a plain warm copy moves as many (tiny shapes
    # are Python-bound, so the LSTM's fraction at them says nothing and is not bounded here).
    # The reference is a clone into fresh memory, whose page faults vary with the load.
    assert all(row.shape["ratio_to_warm_copy"] < 1.5 for row in rows[:2]), rows
    assert rows[0].reference == rows[1].reference  # one copy measurement for both passes
    assert "copy_" in rows[0].ref_name and "GEMM" in rows[2].ref_name


def test_lstm_forward_flops_are_its_two_gemms():
    from sgtk.bench.limits import lstm_forward_flops

    # B=2, T=3, d=4, H=5: per step [2, 4] x [4, 20] and [2, 5] x [5, 20], 2 FLOPs a MAC.
    assert lstm_forward_flops(2, 3, 4, 5) == 3 * 2 * (2 * 4 * 20 + 2 * 5 * 20)
