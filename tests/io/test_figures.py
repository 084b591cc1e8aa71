"""A figure's file name decides its format; a name that is not a figure is refused first."""

from __future__ import annotations

import json

import pytest

from sgtk.errors import SgtkError
from sgtk.io.figures import figure_format, save_figure
from tests.helpers import assert_one_line_error, invoke

MAGIC = {"png": b"\x89PNG", "pdf": b"%PDF", "svg": b"<?xml"}


@pytest.mark.parametrize("name, fmt", [("a.png", "png"), ("a.PDF", "pdf"), ("d/a.svg", "svg")])
def test_the_suffix_names_the_format(name, fmt):
    assert figure_format(name) == fmt


@pytest.mark.parametrize("name, says", [("curves.txt", "suffix .txt"), ("curves", "no suffix")])
def test_a_suffix_that_is_no_figure_format_is_refused_naming_the_field(name, says):
    with pytest.raises(SgtkError, match=rf"`out` {name} has {says}: name the figure .png"):
        figure_format(name)


@pytest.mark.parametrize("fmt", ["png", "pdf", "svg"])
def test_save_figure_writes_the_format_its_name_asks_for(tmp_path, fmt):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = save_figure(fig, tmp_path / f"f.{fmt}")
    assert path.read_bytes()[: len(MAGIC[fmt])] == MAGIC[fmt]
    assert not plt.fignum_exists(fig.number)  # closed, so a loop of plots does not pile up


def _run_folder(path):
    path.mkdir()
    (path / "metrics.jsonl").write_text(json.dumps({"step": 1, "train_loss": 1.0}) + "\n")
    return path


def test_plot_run_refuses_a_text_name_in_one_line_and_writes_nothing(tmp_path):
    run = _run_folder(tmp_path / "a")
    result = invoke("plot", "run", run, "--out", tmp_path / "curves.txt")
    assert_one_line_error(result, "--out", "curves.txt", ".png, .pdf or .svg")
    assert "`out`" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]


def test_plot_run_writes_a_pdf_when_asked(tmp_path):
    run = _run_folder(tmp_path / "a")
    result = invoke("plot", "run", run, "--out", tmp_path / "curves.pdf")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "curves.pdf").read_bytes()[:4] == b"%PDF"


def test_plot_grads_refuses_the_name_before_it_trains(tmp_path, monkeypatch):
    import sgtk.experiments.grads as grads

    def no_training(*args, **kwargs):
        raise AssertionError("trained before the output name was checked")

    monkeypatch.setattr(grads, "grad_curves", no_training)
    result = invoke("plot", "grads", "--trained", "--out", tmp_path / "g.jpg")
    assert_one_line_error(result, "--out", "suffix .jpg")


@pytest.mark.parametrize("command", ["horizon", "zoo"])
def test_the_other_plots_refuse_a_text_name_before_reading_runs(tmp_path, command):
    result = invoke("plot", command, tmp_path / "missing", "--out", tmp_path / "h.txt")
    assert_one_line_error(result, "--out", "suffix .txt")
