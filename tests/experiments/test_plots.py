import json

import numpy as np
import pytest

from sgtk.errors import SgtkError
from sgtk.experiments.plots import (
    accuracy_vs_length,
    boundary_segments,
    layers_heatmap,
    metric_bars,
    plot_sweep,
)
from sgtk.experiments.runplot import plot_runs
from sgtk.experiments.stats import result_table, summarise
from tests.helpers import invoke


def _rows(lengths, layers, seeds=2, auto=False):
    """Synthetic palindrome rows: the GCN is right when k >= T-2, the RNN always."""
    rows = []
    for t in lengths:
        for s in range(seeds):
            acc = 1.0 - 0.01 * s
            rows.append(_row("rnn", t, 0, s, acc, ["rnn"]))
            depths = dict.fromkeys(layers, None) | ({max(t - 2, 1): None} if auto else {})
            for k in depths:
                series = [f"gcn k={k}"] * (k in layers) + ["gcn k=auto"] * (auto and k == t - 2)
                rows.append(_row("gcn", t, k, s, acc if k >= t - 2 else 0.1 + 0.01 * s, series))
    return rows


def _row(model, t, k, s, acc, series):
    name = f"{model}-T{t}-k{k}-s{s}"
    return {"task": "palindrome", "model": model, "length": t, "layers": k, "seed": s,
            "series": series, "test_accuracy": acc, "name": name}  # fmt: skip


def test_boundary_is_absent_where_t_minus_2_lies_outside_the_swept_layers():
    # T-2 = 8 and 12 are above every swept k: no column gets a line (no clamping to k=4)
    assert boundary_segments([10, 14], [2, 4]) == []
    # T-2 = 2 is at or below the lowest k: every cell reaches, no line either
    assert boundary_segments([4], [2, 4]) == []


def test_boundary_sits_on_cell_edges_inside_the_swept_range():
    # layers 2,4,8: T=6 needs k>=4 (row 1), T=10 needs k>=8 (row 2), T=14 needs 12 (none)
    assert boundary_segments([6, 10, 14], [2, 4, 8]) == [(-0.5, 0.5, 0.5), (0.5, 1.5, 1.5)]


def test_heatmap_draws_the_table_means_and_the_unclamped_boundary(tmp_path):
    rows = _rows([6, 10, 14], [2, 4, 8])
    drawn = layers_heatmap(rows, tmp_path / "h.png")["grids"]["gcn"]
    assert drawn["boundary"] == boundary_segments([6, 10, 14], [2, 4, 8])
    stats = summarise(rows, "test_accuracy")
    for i, k in enumerate([2, 4, 8]):
        for j, t in enumerate([6, 10, 14]):
            assert drawn["grid"][i, j] == pytest.approx(stats[(f"gcn k={k}", t)].mean)


def test_heatmap_of_the_default_sweep_has_no_boundary(tmp_path):
    # k=4 next to auto, T=5..25: the fixed depth reaches only T <= 6, and 4 is the lowest k
    rows = _rows([5, 10, 15], [4, 8], auto=True)
    drawn = layers_heatmap(rows, tmp_path / "h.png")["grids"]["gcn"]
    assert drawn["layers"] == [4, 8]  # the auto runs (k = 3, 8, 13) are not heatmap rows
    assert drawn["boundary"] == [(0.5, 1.5, 0.5)]  # only T=10, between k=4 and k=8


@pytest.mark.parametrize("lengths,layers", [([5, 10], [4]), ([10], [2, 4])])
def test_heatmap_skipped_with_one_layer_count_or_one_length(lengths, layers, tmp_path):
    rows = _rows(lengths, layers)
    assert layers_heatmap(rows, tmp_path / "h.png") is None
    pngs, notes = plot_sweep("palindrome", rows, {}, tmp_path)
    assert not (tmp_path / "gcn_layers_heatmap.png").exists()
    assert len(notes) == 1 and "skipped" in notes[0]


def test_plotted_means_and_error_bars_are_the_tables(tmp_path):
    rows = _rows([5, 10, 15], [4], seeds=3, auto=True)
    series = accuracy_vs_length(rows, tmp_path / "a.png")["series"]
    _, header, cells = result_table("palindrome", rows)
    for line in cells:
        drawn = series[line[0]]
        table_means = [float(c.lstrip("★ ").split(" ± ")[0]) for c in line[1:] if c]
        assert list(drawn["y"]) == pytest.approx(table_means, abs=5e-4)
    stats = summarise(rows, "test_accuracy")
    below, above = series["gcn k=4"]["err"]
    for i, t in enumerate((5, 10, 15)):  # the bars are the table's interval, not the std
        s = stats[("gcn k=4", t)]
        assert (s.mean - below[i], s.mean + above[i]) == pytest.approx((s.lo, s.hi))
        assert 0 <= s.lo <= s.hi <= 1
    assert set(series) == {"rnn", "gcn k=4", "gcn k=auto"}


def test_text_bars_are_the_mean_test_bpc_over_seeds(tmp_path):
    rows = []
    for m, k, label, values in (("lstm", 0, "lstm", [2.0, 2.2]), ("gcn", 4, "gcn k=4", [3.0] * 2)):
        for s, v in enumerate(values):
            rows.append({"task": "text", "model": m, "length": 0, "layers": k, "seed": s,
                         "series": [label], "test_bpc": v, "name": f"{m}{k}{s}"})  # fmt: skip
    drawn = metric_bars(rows, "text", tmp_path / "t.png")
    assert drawn["labels"] == ["lstm", "gcn k=4"]
    assert list(drawn["y"]) == pytest.approx([2.1, 3.0])
    half = 12.706205 * np.std([2.0, 2.2], ddof=1) / np.sqrt(2)  # t(0.975, 1)
    assert list(drawn["err"][:, 0]) == pytest.approx([half, half])  # the t-interval, not std
    assert drawn["seeds"] == [(0, 2.0), (0, 2.2), (1, 3.0), (1, 3.0)]


def _run_folder(path, records):
    path.mkdir()
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_plot_run_draws_train_and_val_and_skips_the_final_record(tmp_path):
    a = _run_folder(tmp_path / "a", [
        {"step": 100, "elapsed": 1.0, "train_loss": 2.0, "val_loss": 2.1, "val_accuracy": 0.3},
        {"step": 200, "elapsed": 2.0, "train_loss": 1.0, "val_loss": 1.2, "val_accuracy": 0.9},
        {"final": True, "step": 200, "val_loss": 1.2, "test_accuracy": 0.88, "test_loss": 1.3},
    ])  # fmt: skip
    b = _run_folder(tmp_path / "b", [{"step": 50, "train_loss": 3.0, "val_loss": 3.5}])
    drawn = plot_runs([a, b], tmp_path / "curves.png")["curves"]
    assert drawn[("a", "val_loss")] == ([100, 200], [2.1, 1.2])
    assert drawn[("b", "train_loss")] == ([50], [3.0])
    assert not any(key.startswith("test_") for _, key in drawn)
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_plot_run_cli_and_a_folder_without_metrics(tmp_path):
    a = _run_folder(tmp_path / "a", [{"step": 1, "train_loss": 1.0, "val_loss": 1.0}])
    r = invoke("plot", "run", a, "--out", tmp_path / "c.png")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "c.png").exists()
    with pytest.raises(SgtkError, match="metrics.jsonl"):
        plot_runs([tmp_path], tmp_path / "x.png")


def test_plot_grads(tmp_path):
    out = tmp_path / "grads.png"
    r = invoke("plot", "grads", "--length", 12, "--out", out)
    assert r.exit_code == 0, r.output
    assert out.read_bytes()[:4] == b"\x89PNG"
