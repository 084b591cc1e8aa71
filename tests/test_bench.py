"""`sgtk bench`: every row is a ratio against a named reference measured in the same run.

Tiny shapes (SGTK_BENCH_TINY): these tests check the rows and their targets, never speed.
"""

from dataclasses import replace

import pytest
import torch

from sgtk import bench, bench_recurrent
from sgtk.bench import Row, Sizes, check_row, make_row
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
    curve = [row for row in rows if row.shape is not None]
    cells = len(tiny.curve_steps) * len(tiny.curve_hidden)
    assert len(curve) == 2 * cells
    assert {row.ref_name for row in curve} == {"nn.LSTM", "nn.RNN"}
    refs = [row.ref_name for row in rows]
    assert refs.count("GCNConv(cached=True)") == 2  # path and random graph, primary
    assert sum("uncached" in row.name for row in rows) == 2  # kept, and labelled
    (sampling,) = [row for row in rows if row.name.startswith("sampling")]
    assert "carried (h, c)" in sampling.ref_name and sampling.limit == 0.5
    (char_lm,) = [row for row in rows if row.name.startswith("char-LM")]
    precision = char_lm.name.rsplit("both ", 1)[1]
    assert precision in char_lm.ref_name  # one precision on both sides
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_size_curve_targets_follow_issue_17():
    assert bench_recurrent.curve_target(128) == 1.25
    assert bench_recurrent.curve_target(256) == bench_recurrent.curve_target(512) == 1.1
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
