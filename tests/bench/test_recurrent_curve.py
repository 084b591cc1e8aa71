"""The size curve (issue 31): the GRU is on it beside the LSTM and the RNN, each cell timed
against its own ``torch.nn`` module with the same weights, and the RNN and the GRU are held to
1.0x at H=128 while the LSTM keeps its issue-17 targets. Tiny shapes: no speed is judged."""

import pytest
import torch

from sgtk.bench import recurrent as bench_recurrent
from sgtk.bench.core import Sizes


@pytest.mark.parametrize(
    "cell,hidden,target",
    [
        ("rnn", 128, 1.0),
        ("gru", 128, 1.0),
        ("lstm", 128, 1.25),
        ("rnn", 256, 1.1),
        ("gru", 512, 1.1),
        ("lstm", 512, 1.1),
    ],
)
def test_curve_targets_follow_issue_31(cell, hidden, target):
    assert bench_recurrent.curve_target(cell, hidden) == target


def test_the_curve_has_every_cell_at_every_shape_against_its_own_module(monkeypatch):
    monkeypatch.setenv("SGTK_BENCH_TINY", "1")
    s = Sizes.for_mode(quick=True)
    pairs = []
    real = bench_recurrent.last_step_fwd_bwd

    def spy(models, x, y, hidden):
        pairs.append(models)
        return real(models, x, y, hidden)

    monkeypatch.setattr(bench_recurrent, "last_step_fwd_bwd", spy)
    rows = bench_recurrent.recurrent_rows(s, torch.device("cpu"))
    shapes = {(r.shape["cell"], r.shape["steps"], r.shape["hidden"]) for r in rows if r.shape}
    want = {
        (c, t, h) for c in ("lstm", "rnn", "gru") for t in s.curve_steps for h in s.curve_hidden
    }
    assert shapes == want and len(rows) == len(want)
    for row in rows:
        cell, hidden = row.shape["cell"], row.shape["hidden"]
        assert row.ref_name == f"nn.{cell.upper()}" and row.name.startswith(cell.upper())
        assert row.limit == bench_recurrent.curve_target(cell, hidden)
    for ours, ref in pairs:  # the same weights on both sides, so the same work
        assert type(ref).__name__ in ("LSTM", "RNN", "GRU") and type(ref).__module__.startswith(
            "torch.nn"
        )
        for name, value in ours.state_dict().items():
            torch.testing.assert_close(value, ref.state_dict()[name + "_l0"])


def test_plot_draws_the_gru_and_skips_rows_whose_shape_is_not_a_cell(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sgtk.bench.core import make_row

    def row(cell, t, h):
        shape = {"cell": cell, "batch": 128, "steps": t, "hidden": h}
        return make_row("r", 0.9, 1.0, "ms", "nn.X", 1.1, shape=shape)

    rows = [row(c, t, h) for c in ("lstm", "gru") for t in (20, 100) for h in (128, 256)]
    rows.append(make_row("limit", 1.0, 2.0, "GB/s", "copy", 0.5, True, shape={"nodes": 9}))
    saved = {}
    savefig = plt.Figure.savefig

    def keep(fig, path, **kwargs):
        saved["labels"] = [line.get_label() for line in fig.axes[0].get_lines()]
        savefig(fig, path, **kwargs)

    monkeypatch.setattr(plt.Figure, "savefig", keep)
    bench_recurrent.plot_size_curve(rows, tmp_path / "b.png")
    assert {"GRU T=20", "GRU T=100", "LSTM T=20"} <= set(saved["labels"])
    assert "target, RNN and GRU" in saved["labels"]
