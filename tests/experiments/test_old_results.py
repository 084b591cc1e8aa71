"""Results written by an earlier version still read: ``old_sweep/`` is a tiny palindrome
sweep (rnn and gcn k=2 at T=5, two seeds, 4 steps) written by sgtk at commit 55205bd, before
the experiments were split by concern; its sweep.json, row.json and curve.json files are kept
as that version wrote them."""

import shutil
from pathlib import Path

from sgtk.experiments.compare import prepare, run_sweep
from sgtk.experiments.report import merge
from sgtk.experiments.sweep import Sweep

OLD = Path(__file__).parent / "old_sweep"
FLAGS = dict(lengths=[5], models=["rnn", "gcn"], layers=[2], seeds=2, steps=4, params=3000)
FLAGS |= dict(eval_every=2, patience=0, jobs=1)


def test_an_old_sweep_merges_into_tables_and_plots(tmp_path):
    [outcome] = merge([OLD], tmp_path / "merged")
    assert {r["name"] for r in outcome.rows} == {
        "rnn-T5-k0-s0", "rnn-T5-k0-s1", "gcn-T5-k2-s0", "gcn-T5-k2-s1"}  # fmt: skip
    assert [t[0] for t in outcome.tables][1].startswith("Budgets")
    assert (tmp_path / "merged" / "accuracy_vs_length.png").is_file()


def test_an_old_sweep_resumes_with_the_same_flags_without_training_again(tmp_path):
    out = shutil.copytree(OLD, tmp_path / "old")
    skipped = []
    runner = prepare(Sweep.from_config("palindrome", **FLAGS), out, resume=True)
    rows, curves = run_sweep(runner, lambda i, n, row, s: skipped.append(s))
    assert skipped == [True] * 4 and len(rows) == 4 and all(curves.values())
    assert not any((out / "runs" / r["name"] / "config.toml").exists() for r in rows)


def test_a_setting_added_since_counts_as_its_default_and_only_that(tmp_path):
    """The old sweep.json has no max_cpu_time: resuming without one is the same sweep, with
    one it is not (the old runs had no CPU budget)."""
    import pytest

    from sgtk.errors import SgtkError

    out = shutil.copytree(OLD, tmp_path / "old")
    assert "max_cpu_time" not in (OLD / "sweep.json").read_text()
    with pytest.raises(SgtkError, match=r"max_cpu_time: absent in its sweep.json, 600.0 now"):
        prepare(Sweep.from_config("palindrome", **FLAGS, max_cpu_time=600.0), out, resume=True)
