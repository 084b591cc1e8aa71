"""compare --graph and --models name@graph: run names, rows, auto depth per graph, errors."""

import json
import math

import pytest

from sgtk.experiments.compare import prepare, run_sweep
from sgtk.experiments.sweep import Sweep, auto_depth
from sgtk.graphs.builders import uniform_edges
from tests.graphs.test_graphs import _reach
from tests.helpers import assert_one_line_error, invoke

TINY = dict(lengths=[6], layers=["auto"], seeds=1, steps=4, params=3000, eval_every=2)


def test_one_sweep_holds_several_graphs_named_and_recorded_in_each_row(tmp_path):
    models = ["rnn", "gcn", "gcn@dilated", "gcn@complete", "transformer", "gcn@window:2"]
    sweep = Sweep.from_config("palindrome", models=models, patience=0, **TINY)
    rows, _ = run_sweep(prepare(sweep, tmp_path))
    got = {r["name"]: (r["graph"], r["series"]) for r in rows}
    # auto depth at T=6 (5 input nodes): path 4, dilated min(ceil(log2 6)+1, 4), complete 2
    assert got == {
        "rnn-T6-k0-s0": ("path", ["rnn"]),
        "gcn-T6-k4-s0": ("path", ["gcn k=auto"]),
        "gcn-dilated-T6-k4-s0": ("dilated", ["gcn@dilated k=auto"]),
        "gcn-complete-T6-k2-s0": ("complete", ["gcn@complete k=auto"]),
        "transformer-T6-k2-s0": ("complete", ["transformer k=auto"]),  # its own graph
        "gcn-window2-T6-k2-s0": ("window:2", ["gcn@window:2 k=auto"]),
    }
    for r in rows:
        saved = json.loads((tmp_path / "runs" / r["name"] / "row.json").read_text())
        assert saved["graph"] == r["graph"]
    header = (tmp_path / "results.csv").read_text().splitlines()[0]
    assert header.startswith("task,model,length,layers,graph,")


def test_graph_flag_moves_every_graph_model_and_passes_recurrent_cells_by():
    sweep = Sweep.from_config("palindrome", models=["lstm", "gcn", "gat"], graph="dilated", **TINY)
    assert {r.name: r.graph for r in sweep.runs()} == {
        "lstm-T6-k0-s0": "path",
        "gcn-dilated-T6-k4-s0": "dilated",
        "gat-dilated-T6-k4-s0": "dilated",
    }


@pytest.mark.parametrize("length", [10, 25, 50, 64])
def test_auto_depth_is_the_reach_of_each_graph(length):
    nodes = length - 1  # the input digits; the last node predicts the last digit
    for graph in ("path", "dilated", "window:3"):
        k = auto_depth("gcn", graph, length)
        edges = uniform_edges(graph, 1, nodes)
        assert _reach(edges, nodes, k)[0, nodes - 1], graph  # the last node hears the first
        if graph == "path":
            assert not _reach(edges, nodes, k - 1)[0, nodes - 1]  # and not one round fewer
    assert auto_depth("gcn", "dilated", length) == math.ceil(math.log2(length)) + 1
    assert auto_depth("gcn", "path", length) == length - 2
    assert auto_depth("transformer", "complete", length) == 2
    assert auto_depth("lstm-gcn", "path", length) == 1  # the LSTM reaches every node already


@pytest.mark.parametrize(
    "args,word",
    [
        (["--models", "gcn@spiral"], "window:K, dilated, complete"),
        (["--graph", "spiral"], "window:K, dilated, complete"),
        (["--models", "lstm@dilated"], "choose one of auto, path"),
        (["--task", "molecules", "--graph", "complete"], "choose one of auto"),
        (["--task", "all", "--graph", "dilated"], "--graph"),
        (["--max-time", "0"], "--max-time"),
    ],
)
def test_bad_graph_flags_are_one_line_listing_the_choices(args, word, tmp_path):
    r = invoke("compare", "rnn-vs-gcn", *args, "--out", tmp_path / "c")
    assert_one_line_error(r, word)
    assert not (tmp_path / "c").exists()
