"""``sgtk.train.curves`` with matplotlib replaced by a recorder (kills its mutants: each
unit, the curves read from ``metrics.jsonl`` records, and what ``plot_curves`` draws, in
which order, with which labels, and writes)."""

from __future__ import annotations

import sys
import types

import pytest

from sgtk.train.curves import UNITS, curves_of, plot_curves, unit_of


def test_units():
    assert UNITS == {
        "loss": "loss",
        "ce": "cross-entropy (nats)",
        "nll": "cross-entropy (nats)",
        "mse": "MSE (target units²)",
        "accuracy": "accuracy (fraction correct)",
        "bpc": "bits per character",
        "rmse": "RMSE (target units)",
        "mae": "MAE (target units)",
        "perplexity": "perplexity",
    }
    assert unit_of("mse") == "MSE (target units²)" and unit_of("odd") == "odd"
    assert unit_of("loss", {"loss": "MSE"}) == "MSE" and unit_of("ce", {"loss": "x"}) == UNITS["ce"]


RECORDS = [
    {"step": 1, "train_loss": 2, "lr": 0.1, "val_": 1.0},
    {
        "step": 2,
        "train_loss": 1.5,
        "val_loss": 1.0,
        "val_accuracy": 0.5,
        "val_ok": True,
        "val_s": "x",
    },
    {"step": 3, "test_loss": 9.0, "train_loss": 1.0},
    {"step": 4, "final": True, "val_loss": 7.0},
    {"step": 5, "val_s": "x", "val_top_k": 0.25},
]


def test_curves_of_reads_train_and_val_figures():
    curves = curves_of(RECORDS)
    assert curves == {
        "loss": {"train": ([1, 2, 3], [2.0, 1.5, 1.0]), "val": ([2], [1.0])},
        "accuracy": {"val": ([2], [0.5])},
        "top_k": {"val": ([5], [0.25])},
    }
    assert all(type(v) is float for v in curves["loss"]["train"][1])


class _Axis:
    def __init__(self, log):
        self.log = log

    def plot(self, steps, values, style, **kw):
        self.log.append(("plot", list(steps), list(values), style, kw))

    def set(self, **kw):
        self.log.append(("set", kw))

    def legend(self, **kw):
        self.log.append(("legend", kw))


@pytest.fixture
def drawn(monkeypatch):
    log: list = []

    class Figure:
        def __init__(self, **kw):
            log.append(("figure", kw))

        def subplots(self, rows, cols, squeeze=True):
            log.append(("subplots", rows, cols, squeeze))
            return [[_Axis(log) for _ in range(cols)]]

        def suptitle(self, text, **kw):
            log.append(("suptitle", text, kw))

        def savefig(self, buf, **kw):
            log.append(("savefig", kw))
            buf.write(b"PNG")

    matplotlib = types.ModuleType("matplotlib")
    matplotlib.use = lambda backend: log.append(("use", backend))
    figure = types.ModuleType("matplotlib.figure")
    figure.Figure = Figure
    monkeypatch.setitem(sys.modules, "matplotlib", matplotlib)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", figure)
    return log


def test_nothing_logged_draws_nothing(tmp_path, drawn):
    assert plot_curves([{"step": 1, "lr": 0.1}], tmp_path / "c.png") is None
    assert drawn == [] and not (tmp_path / "c.png").exists()


def test_plot_curves_draws_loss_first_with_units(tmp_path, drawn):
    path = tmp_path / "c.png"
    assert plot_curves(RECORDS[:4], str(path), title="run", units={"loss": "MSE"}) == path
    assert path.read_bytes() == b"PNG"
    assert drawn == [
        ("use", "Agg"),
        ("figure", {"figsize": (8.4, 3.4), "layout": "constrained"}),
        ("subplots", 1, 2, False),
        ("plot", [1, 2, 3], [2.0, 1.5, 1.0], "-", {"marker": ".", "label": "train"}),
        ("plot", [2], [1.0], "--", {"marker": ".", "label": "val"}),
        ("set", {"xlabel": "training step", "ylabel": "MSE", "title": "loss"}),
        ("legend", {"fontsize": 7}),
        ("plot", [2], [0.5], "--", {"marker": ".", "label": "val"}),
        ("set", {"xlabel": "training step", "ylabel": UNITS["accuracy"], "title": "accuracy"}),
        ("legend", {"fontsize": 7}),
        ("suptitle", "run", {"fontsize": 9}),
        ("savefig", {"format": "png", "dpi": 110}),
    ]


def test_no_title_no_suptitle_and_metrics_sorted(tmp_path, drawn):
    records = [{"step": 1, "val_zeta": 1.0, "val_alpha": 2.0}]
    plot_curves(records, tmp_path / "c.png")
    assert [e[1]["title"] for e in drawn if e[0] == "set"] == ["alpha", "zeta"]
    assert not any(e[0] == "suptitle" for e in drawn)
