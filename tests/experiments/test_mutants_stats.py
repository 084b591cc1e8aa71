"""What a reader of a sweep's tables relies on in sgtk.experiments.stats, pinned down exactly:
t quantiles to the published table, the interval and its cut, the cells, the ★ marks and the
budget table. Written to kill the mutants that test_stats.py let live (CONTRIBUTING.md,
"Mutation testing").

kills (mutmut 3.8 names, sgtk.experiments.stats.*; 282 of test_stats.py's 289 survivors):
  x__t_two_sided__mutmut_3..67 (atan(t/√df) → t·√df, df%2 → df/2 or %3, the series' terms
    and bounds, 2/π → 3/π, θ + → θ −), x_t_quantile__mutmut_2 (bracket starts at 1, not 0),
    x_t_quantile__mutmut_9/10 (hi = 2, hi /= 2: hang, caught as timeouts),
    x_t_interval__mutmut_* (std, √n, mean ± half), x_metric_range__mutmut_* (suffixes),
    x_interval__mutmut_10/11 (a bound on the range's edge marked ‡ by <=, >=),
    xǁStatǁcell__mutmut_*, xǁStatǁerror_bar__mutmut_3/4, x_summarise__mutmut_* (layers,
    skipped None), x_best_marks__mutmut_4..44 (per-length column, n < 2, continue → break,
    strict gaps, min/max), x_result_table__mutmut_* (header, ★, k=auto, title),
    x_budget_table__mutmut_1..67, x__counts__mutmut_1..18 (most frequent first),
    x__span__mutmut_1..11 (v[-1] → v[+1]), x__ordered__mutmut_3..15, x_markdown__mutmut_*.
"""

import math

import pytest

from sgtk.experiments import stats
from sgtk.experiments.stats import (
    Stat,
    best_marks,
    budget_table,
    interval,
    markdown,
    metric_range,
    result_table,
    summarise,
    t_interval,
    t_quantile,
)

# Student-t two-sided quantiles (scipy.stats.t.ppf(0.5 + level / 2, df), six decimals).
T_TABLE = {
    0.90: {1: 6.313752, 2: 2.919986, 3: 2.353363, 4: 2.131847, 5: 2.015048, 10: 1.812461},
    0.95: {1: 12.706205, 2: 4.302653, 3: 3.182446, 4: 2.776445, 5: 2.570582, 6: 2.446912,
           7: 2.364624, 8: 2.306004, 9: 2.262157, 10: 2.228139, 15: 2.13145, 30: 2.042272},
    0.99: {1: 63.656741, 2: 9.924843, 3: 5.840909, 4: 4.604095, 5: 4.032143, 10: 3.169273},
}  # fmt: skip
# P(|T| <= t) (scipy.stats.t.cdf(t, df) - scipy.stats.t.cdf(-t, df)), for t = 0.3, 1.0, 2.5.
T_CDF = {
    1: (0.185547158, 0.5, 0.757762117),
    2: (0.207514339, 0.577350269, 0.87038828),
    3: (0.216236708, 0.608997781, 0.912293353),
    4: (0.220878572, 0.626099034, 0.933233455),
    5: (0.223750958, 0.636782532, 0.945509901),
    6: (0.225700779, 0.644082316, 0.953471768),
    7: (0.22710995, 0.649383337, 0.959007781),
}


@pytest.mark.parametrize("level", sorted(T_TABLE))
def test_t_quantile_matches_the_published_t_table(level):
    for df, t in T_TABLE[level].items():
        assert t_quantile(level, df) == pytest.approx(t, abs=2e-6), (level, df)


def test_t_quantile_below_one_for_a_narrow_level():
    assert t_quantile(0.5, 10) == pytest.approx(0.699812, abs=2e-6)
    assert t_quantile(0.5, 2) == pytest.approx(0.816497, abs=2e-6)


@pytest.mark.parametrize("df", sorted(T_CDF))
def test_two_sided_t_probability_matches_the_t_distribution(df):
    for t, p in zip((0.3, 1.0, 2.5), T_CDF[df]):
        assert stats._t_two_sided(t, df) == pytest.approx(p, abs=1e-8), (df, t)
    assert stats._t_two_sided(0.0, df) == 0.0


def test_t_interval_is_mean_plus_minus_t_times_standard_error():
    mean, std, lo, hi = t_interval([1.0, 2.0, 3.0])
    assert (mean, std) == (2.0, 1.0)
    half = 4.302653 / math.sqrt(3)
    assert (lo, hi) == (pytest.approx(2 - half, abs=1e-5), pytest.approx(2 + half, abs=1e-5))
    mean, std, lo, hi = t_interval([1.0, 2.0, 3.0, 6.0], level=0.99)
    half = 5.840909 * math.sqrt(14 / 3) / 2
    assert (mean, std) == (3.0, pytest.approx(math.sqrt(14 / 3)))
    assert (lo, hi) == (pytest.approx(3 - half, abs=1e-5), pytest.approx(3 + half, abs=1e-5))


def test_one_seed_has_its_value_as_mean_and_no_interval():
    mean, std, lo, hi = t_interval([0.7])
    assert (mean, std) == (0.7, 0.0) and math.isnan(lo) and math.isnan(hi)
    s = interval([0.7], "test_accuracy")
    assert s.clipped == (False, False) and s.n == 1 and s.values == (0.7,)
    assert s.cell() == "0.700 (1 seed)"
    assert s.error_bar() == (0.0, 0.0)


@pytest.mark.parametrize(
    "key,expected",
    [
        ("test_accuracy", (0.0, 1.0)),
        ("val_accuracy", (0.0, 1.0)),
        ("val_loss", (0.0, math.inf)),
        ("test_bpc", (0.0, math.inf)),
        ("heldout_bpc", (0.0, math.inf)),
        ("test_rmse", (0.0, math.inf)),
        ("test_mae", (0.0, math.inf)),
        ("val_delta", (-math.inf, math.inf)),
        ("accuracy_gap", (-math.inf, math.inf)),
    ],
)
def test_metric_range_follows_the_metric_name(key, expected):
    assert metric_range(key) == expected


def test_an_interval_cut_at_both_ends_says_so_at_both_ends():
    s = interval([0.0, 1.0], "test_accuracy")
    assert (s.lo, s.hi, s.clipped) == (0.0, 1.0, (True, True))
    assert s.cell() == "0.500 ± 0.707 [0.000‡, 1.000‡] seeds 0.000, 1.000"
    assert s.error_bar() == (0.5, 0.5)


@pytest.mark.parametrize("bounds", [(0.0, 0.5), (0.5, 1.0), (0.0, 1.0)])
def test_a_bound_exactly_on_the_ranges_edge_is_not_marked_as_cut(monkeypatch, bounds):
    monkeypatch.setattr(stats, "t_interval", lambda values, level: (0.5, 0.1, *bounds))
    s = interval([0.4, 0.6], "test_accuracy")
    assert (s.lo, s.hi, s.clipped) == (*bounds, (False, False))
    assert "‡" not in s.cell()


def test_an_interval_takes_the_level_it_is_asked_for():
    wide, narrow = interval([1.0, 2.0, 3.0], "val_delta", 0.99), interval([1.0, 2.0, 3.0], "x")
    assert wide.hi - wide.lo == pytest.approx(2 * 9.924843 / math.sqrt(3), abs=1e-5)
    assert narrow.hi - narrow.lo == pytest.approx(2 * 4.302653 / math.sqrt(3), abs=1e-5)


def test_cell_shows_mean_std_interval_and_seeds_up_to_three():
    three = Stat(0.5, 0.25, 3, 0.125, 0.875, values=(0.25, 0.5, 0.75))
    assert three.cell() == "0.500 ± 0.250 [0.125, 0.875] seeds 0.250, 0.500, 0.750"
    four = Stat(0.5, 0.25, 4, 0.125, 0.875, values=(0.25, 0.5, 0.5, 0.75))
    assert four.cell() == "0.500 ± 0.250 [0.125, 0.875]"
    low_cut = Stat(0.5, 0.25, 2, 0.0, 0.875, values=(0.25, 0.75), clipped=(True, False))
    assert low_cut.cell() == "0.500 ± 0.250 [0.000‡, 0.875] seeds 0.250, 0.750"
    assert low_cut.error_bar() == (0.5, 0.375)


def _row(model, length, seed, value, key="test_accuracy", layers=0, **extra):
    return {"model": model, "length": length, "seed": seed, "layers": layers, key: value,
            **extra}  # fmt: skip


def test_summarise_groups_by_series_and_length_and_skips_missing_values():
    rows = [
        _row("gcn", 5, 0, 0.5, layers=3, series=["gcn k=auto", "gcn k=3"]),
        _row("gcn", 5, 1, 0.7, layers=4, series=["gcn k=auto"]),
        _row("gcn", 5, 2, 0.6, layers=3, series=["gcn k=auto"]),
        _row("rnn", 5, 0, None),
        _row("rnn", 7, 0, 0.9),
    ]
    out = summarise(rows, "test_accuracy")
    assert set(out) == {("gcn k=auto", 5), ("gcn k=3", 5), ("rnn", 7)}
    auto = out[("gcn k=auto", 5)]
    assert auto.values == (0.5, 0.7, 0.6) and auto.layers == (3, 4)
    assert auto.mean == pytest.approx(0.6)
    assert out[("gcn k=3", 5)].values == (0.5,) and out[("rnn", 7)].n == 1


def test_the_star_goes_to_the_best_series_only_when_its_interval_clears_every_other():
    clear = {("a", 5): interval([0.9, 0.91], "x"), ("b", 5): interval([0.1, 0.11], "x")}
    assert best_marks(clear, "max") == {("a", 5)}
    assert best_marks(clear, "min") == {("b", 5)}
    overlap = {("a", 5): interval([0.9, 0.1], "x"), ("b", 5): interval([0.4, 0.41], "x")}
    assert best_marks(overlap, "max") == set() and best_marks(overlap, "min") == set()
    one_seed = {("a", 5): interval([0.9], "x"), ("b", 5): interval([0.1, 0.11], "x")}
    assert best_marks(one_seed, "max") == set()
    alone = {("a", 5): interval([0.9, 0.91], "x")}
    assert best_marks(alone, "max") == set()


def test_the_star_is_decided_per_length():
    s = {
        ("a", 5): interval([0.9, 0.91], "x"),
        ("b", 5): interval([0.1, 0.11], "x"),
        ("a", 7): interval([0.1, 0.11], "x"),
        ("b", 7): interval([0.9, 0.91], "x"),
        ("c", 1): interval([0.5, 0.6], "x"),  # a lone series first: skipped, not the end
    }
    assert best_marks(s, "max") == {("a", 5), ("b", 7)}
    assert best_marks(s, "min") == {("b", 5), ("a", 7)}


def test_the_star_needs_a_strict_gap_between_intervals():
    top, other = Stat(1.0, 0, 2, 0.5, 1.5), Stat(0.0, 0, 2, -0.5, 0.5)
    assert best_marks({("a", 0): top, ("b", 0): other}, "max") == set()
    assert best_marks({("a", 0): other, ("b", 0): top}, "min") == set()


def test_result_table_marks_the_best_names_lengths_and_auto_depths():
    rows = [
        _row("rnn", 5, 0, 0.5), _row("rnn", 5, 1, 0.52),
        _row("gcn", 5, 0, 0.95, layers=3, series=["gcn k=auto"]),
        _row("gcn", 5, 1, 0.96, layers=4, series=["gcn k=auto"]),
        _row("rnn", 9, 0, 0.4),
    ]  # fmt: skip
    title, header, cells = result_table("palindrome", rows)
    assert header == ["model", "T=5", "T=9"]
    assert [c[0] for c in cells] == ["rnn", "gcn k=auto"]
    assert cells[0][1] == interval([0.5, 0.52], "test_accuracy").cell()
    assert cells[0][2] == "0.400 (1 seed)"
    assert cells[1][1] == "★ " + interval([0.95, 0.96], "test_accuracy").cell() + " (k=3,4)"
    assert cells[1][2] == ""
    assert title == (
        "test_accuracy: mean ± std [95 % t-interval, ‡ = cut to the metric's range] over seeds"
        " (each seed's value up to 3); ★ = interval clear of every other model's"
    )


def test_result_table_of_a_chosen_key_and_lower_is_better():
    rows = [_row("lstm", 0, s, v, key="heldout_bpc") for s, v in enumerate([2.0, 2.01])]
    rows += [_row("gcn", 0, s, v, key="heldout_bpc") for s, v in enumerate([3.0, 3.01])]
    title, header, cells = result_table("text", rows, key="heldout_bpc")
    assert header == ["model", "heldout_bpc"] and title.startswith("heldout_bpc: ")
    assert cells[0][1].startswith("★ 2.005") and not cells[1][1].startswith("★")
    gcn_auto = [_row("gcn", 0, s, 3.0 + s, key="test_bpc", series=["x k=auto"]) for s in (0, 1)]
    assert "(k=" not in result_table("text", gcn_auto)[2][0][1]  # depths: palindrome only


def _budget_row(model, seed, **kw):
    row = {"model": model, "seed": seed, "params": 1200, "hidden": 64, "lr": 0.003,
           "lr_source": "default", "steps": 100, "max_steps": 200, "stopped_by": "target",
           "seconds": 2.0, "init": "pytorch"}  # fmt: skip
    return row | kw


def test_budget_table_reports_spans_means_and_reasons():
    rows = [
        _budget_row("rnn", 0, steps=100, seconds=2.0, stopped_by="patience"),
        _budget_row("rnn", 1, steps=150, seconds=3.0, params=1500, hidden=80, lr=0.01),
        _budget_row("rnn", 2, steps=200, seconds=4.0, stopped_by="patience", init="glorot"),
        _budget_row("gcn", 0, params=1_234_567, max_steps=200, lr_source="tuned", init="glorot"),
    ]
    rows[3].pop("max_steps")
    title, header, cells = budget_table(rows)
    assert title == "Budgets (matched parameters, steps, batch and float32 for every model)"
    assert header == [
        "model", "params", "hidden", "lr", "steps used / max", "stopped by", "seconds / run",
        "init",
    ]  # fmt: skip
    assert cells[0] == [
        "rnn", "1,200–1,500", "64–80", "0.003 (default), 0.01 (default)", "150 / 200",
        "patience 2, target 1", "3.0", "glorot, pytorch",
    ]  # fmt: skip
    assert cells[1] == [
        "gcn", "1,234,567", "64", "0.003 (tuned)", "100 / 100", "target 1", "2.0", "glorot",
    ]  # fmt: skip


def test_series_keep_the_order_they_first_appear_in_the_sweep():
    rows = [_budget_row(m, 0) for m in ("lstm", "rnn", "gcn", "rnn", "attention")]
    rows[2]["series"] = ["gcn k=4", "gcn k=auto"]
    assert [c[0] for c in budget_table(rows)[2]] == [
        "lstm",
        "rnn",
        "gcn k=4",
        "gcn k=auto",
        "attention",
    ]
    assert stats._ordered({"zzz", "rnn", "lstm"}, rows) == ["lstm", "rnn", "zzz"]


def test_markdown_renders_a_pipe_table():
    text = markdown("T", ["a", "b"], [["1", "2"], ["3", "4"]])
    assert text == "**T**\n\n| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n"


def test_stop_reasons_are_listed_most_frequent_first_and_spans_run_lowest_to_highest():
    rows = [
        _budget_row("rnn", s, stopped_by=why, params=p)
        for s, (why, p) in enumerate([("target", 900), ("budget", 2_000), ("target", 1_500)])
    ]
    cells = budget_table(rows)[2][0]
    assert cells[5] == "target 2, budget 1"  # not alphabetical
    assert cells[1] == "900–2,000"
