"""Intervals over seeds: inside the metric's range, each seed shown up to three, and one
function behind every table and plot."""

import re

import pytest

from sgtk.experiments import stats
from sgtk.experiments.plots import accuracy_vs_length, metric_bars
from sgtk.experiments.stats import result_table, summarise, t_interval
from sgtk.experiments.zoo_plot import horizon_table, plot_zoo_horizon


def _rows(task, key, values, model="rnn"):
    return [
        {"task": task, "model": model, "length": 5 if task == "palindrome" else 0, "layers": 0,
         "seed": s, "name": f"{model}-s{s}", "label": model, "graph": "path", key: v}
        for s, v in enumerate(values)
    ]  # fmt: skip


def _bounds(cell: str) -> tuple[float, float]:
    lo, hi = re.search(r"\[([^,]+), ([^\]]+)\]", cell).groups()
    return float(lo.rstrip("‡")), float(hi.rstrip("‡"))


@pytest.mark.parametrize(
    "task,key,values,low,high",
    [
        ("palindrome", "test_accuracy", [0.0, 0.5, 0.02], 0.0, 1.0),
        ("palindrome", "test_accuracy", [1.0, 0.9], 0.0, 1.0),
        ("molecules", "test_rmse", [0.1, 0.9], 0.0, float("inf")),
        ("text", "test_bpc", [0.2, 2.0, 0.3], 0.0, float("inf")),
    ],
)
def test_an_interval_never_leaves_the_metrics_range(task, key, values, low, high):
    _, _, lo, hi = t_interval(values)
    assert lo < low or hi > high  # the plain t-interval does leave it
    s = summarise(_rows(task, key, values), key)[("rnn", 5 if task == "palindrome" else 0)]
    assert low <= s.lo <= s.mean <= s.hi <= high
    _, _, cells = result_table(task, _rows(task, key, values))
    shown_lo, shown_hi = _bounds(cells[0][1])
    assert low <= shown_lo <= shown_hi <= high
    assert "‡" in cells[0][1]  # and the cut is marked


def test_the_cut_is_the_t_interval_intersected_with_the_range_and_says_so():
    from sgtk.experiments.stats import interval

    values = [0.0, 0.5, 0.02]
    _, _, lo, hi = t_interval(values)
    s = interval(values, "test_accuracy")
    assert (s.lo, s.hi, s.clipped) == (0.0, pytest.approx(hi), (True, False))
    inside = interval([0.5, 0.52, 0.51], "test_accuracy")  # not cut: the t-interval itself
    assert (inside.lo, inside.hi) == pytest.approx(t_interval([0.5, 0.52, 0.51])[2:])
    assert inside.clipped == (False, False) and "‡" not in inside.cell()
    assert interval([-3.0, 4.0], "val_delta").clipped == (False, False)  # unbounded figure


def test_the_table_lists_every_seed_up_to_three_seeds():
    for values in ([0.91, 0.5], [0.0, 0.5, 0.02]):
        _, _, cells = result_table("palindrome", _rows("palindrome", "test_accuracy", values))
        assert all(f"{v:.3f}" in cells[0][1].split("]")[1] for v in values), cells[0][1]
    _, _, cells = result_table("palindrome", _rows("palindrome", "test_accuracy", [0.4] * 4))
    assert "seeds" not in cells[0][1]  # four seeds: the interval says enough


def test_the_plots_show_every_seed_up_to_three_seeds(tmp_path):
    rows = _rows("palindrome", "test_accuracy", [0.0, 0.5, 0.02])
    drawn = accuracy_vs_length(rows, tmp_path / "a.png")["series"]["rnn"]
    assert sorted(v for _, v in drawn["seeds"]) == [0.0, 0.02, 0.5]
    bars = metric_bars(_rows("text", "test_bpc", [2.0, 2.4]), "text", tmp_path / "t.png")
    assert sorted(v for _, v in bars["seeds"]) == [2.0, 2.4]


def test_plots_and_tables_take_their_interval_from_one_function(tmp_path, monkeypatch):
    def fake(values, key, level=0.95):
        return stats.Stat(0.25, 0.125, len(values), 0.0625, 0.5, values=tuple(values))

    monkeypatch.setattr(stats, "interval", fake)
    rows = _rows("palindrome", "test_accuracy", [0.1, 0.2])
    _, _, cells = result_table("palindrome", rows)
    assert cells[0][1].startswith("0.250 ± 0.125 [0.062, 0.500]")
    drawn = accuracy_vs_length(rows, tmp_path / "a.png")["series"]["rnn"]
    assert (drawn["y"][0], *drawn["err"][:, 0]) == (0.25, 0.1875, 0.25)
    bars = metric_bars(_rows("text", "test_bpc", [2.0, 2.4]), "text", tmp_path / "t.png")
    assert (bars["y"][0], *bars["err"][:, 0]) == (0.25, 0.1875, 0.25)
    assert "0.250 ± 0.125 [0.062, 0.500]" in horizon_table(rows)
    zoo = plot_zoo_horizon(rows, tmp_path / "zoo.png")["intervals"]["rnn"][5]
    assert (zoo.lo, zoo.hi) == (0.0625, 0.5)
