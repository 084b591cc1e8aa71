import json

import pytest

from sgtk.experiments.horizon import plot_horizon, read_run
from sgtk.train.config import write_toml
from tests.helpers import assert_one_line_error, invoke


def _run(folder, model, length, accuracy, seed, init="auto", curriculum=0, final=True):
    folder.mkdir(parents=True)
    task = {"model": model, "length": length, "init": init, "curriculum": curriculum}
    write_toml(
        folder / "config.toml",
        {"run": {"task": "palindrome"}, "task": task, "train": {"seed": seed}},
    )
    records = [{"step": 100, "val_accuracy": accuracy}]
    if final:
        records.append({"final": True, "step": 100, "test_accuracy": accuracy})
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def test_runs_of_one_setup_average_over_seeds_per_length(tmp_path):
    runs = [
        _run(tmp_path / "a", "rnn", 50, 1.0, 0, curriculum=20),
        _run(tmp_path / "b", "rnn", 50, 0.9, 1, curriculum=20),
        _run(tmp_path / "c", "rnn", 100, 0.8, 0, curriculum=20),
        _run(tmp_path / "d", "rnn", 50, 0.1, 0, init="xavier"),
        _run(tmp_path / "e", "lstm", 50, 0.5, 0),
    ]
    drawn = plot_horizon(runs, tmp_path / "h.png")
    points = drawn["points"]
    assert set(points) == {"RNN orthogonal + curriculum", "RNN xavier", "LSTM chrono"}
    mean, std, n = points["RNN orthogonal + curriculum"][50]
    assert (round(mean, 6), round(std, 4), n) == (0.95, 0.0707, 2)
    assert points["RNN orthogonal + curriculum"][100] == (0.8, 0.0, 1)
    assert points["RNN xavier"] == {50: (0.1, 0.0, 1)}
    assert drawn["steps"]["RNN xavier"] == 100  # the legend gives each setup's step budget
    assert (tmp_path / "h.png").stat().st_size > 1000


def test_an_unfinished_run_is_refused(tmp_path):
    with pytest.raises(Exception, match="not finished"):
        read_run(_run(tmp_path / "a", "rnn", 50, 1.0, 0, final=False))


def test_the_cli_prints_the_points_and_refuses_a_folder_without_a_run(tmp_path):
    run = _run(tmp_path / "a", "lstm", 30, 1.0, 0)
    r = invoke("plot", "horizon", run, "--out", tmp_path / "h.png")
    assert r.exit_code == 0, r.output
    assert "LSTM chrono: T=30: 1.000" in r.output
    r = invoke("plot", "horizon", tmp_path, "--out", tmp_path / "h.png")
    assert_one_line_error(r, "config.toml")
    assert r.exit_code == 2


def test_a_torn_last_line_of_metrics_jsonl_is_dropped_as_every_reader_drops_it(tmp_path):
    # A crash mid-write after the final record leaves half a line with no newline: the
    # tolerant reader (sgtk.train.metrics) drops it, so the run still reads as finished.
    run = _run(tmp_path / "a", "lstm", 30, 1.0, 0)
    with open(run / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write('{"step": 200, "val_accur')
    point = read_run(run)
    assert (point["test_accuracy"], point["steps"]) == (1.0, 100)
    r = invoke("plot", "horizon", run, "--out", tmp_path / "h.png")
    assert r.exit_code == 0, r.output
