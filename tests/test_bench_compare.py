import json

import pytest

from tests.helpers import assert_one_line_error, invoke, last_json


def test_bench_quick_json_rows(monkeypatch):
    monkeypatch.setenv("SGTK_BENCH_TINY", "1")  # tiny shapes: this checks the rows, not speed
    r = invoke("bench", "--quick", "--json", "--device", "cpu")
    data = last_json(r)
    assert data["device"] == "cpu"
    assert len(data["rows"]) == 8
    for row in data["rows"]:
        assert {"name", "ours", "reference", "ratio", "target", "ok"} <= row.keys()
        assert row["ours"] > 0 and row["reference"] > 0
        assert row["ratio"] == pytest.approx(row["ours"] / row["reference"])
        assert isinstance(row["ok"], bool)


def test_tiny_sweep_writes_results_and_pngs(tmp_path):
    out = tmp_path / "cmp"
    r = invoke(
        "compare",
        "rnn-vs-gcn",
        "--lengths",
        "5,6",
        "--models",
        "rnn,lstm,gcn",
        "--layers",
        "2,4",
        "--seeds",
        1,
        "--steps",
        30,
        "--out",
        out,
    )
    assert r.exit_code == 0, r.output
    rows = json.loads((out / "results.json").read_text())
    assert len(rows) == 2 * (1 + 1 + 2)
    fields = {"model", "length", "layers", "seed", "test_accuracy", "loss", "steps", "seconds"}
    for row in rows:
        assert fields <= row.keys()
        assert 0 <= row["test_accuracy"] <= 1
    csv_lines = (out / "results.csv").read_text().strip().splitlines()
    assert len(csv_lines) == len(rows) + 1 and csv_lines[0].startswith("task,model,length")
    for png in ("accuracy_vs_length", "training_curves", "memory_horizon", "gcn_layers_heatmap"):
        assert (out / f"{png}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "args,word",
    [
        (["--models", "rnn,transformer"], "transformer"),
        (["--models", ""], "empty"),
        (["--lengths", ""], "empty"),
        (["--lengths", "5,x"], "--lengths"),
        (["--task", "chess"], "chess"),
    ],
)
def test_bad_compare_flags(args, word, tmp_path):
    r = invoke("compare", "rnn-vs-gcn", *args, "--out", tmp_path / "c")
    assert_one_line_error(r, word)
    assert not (tmp_path / "c").exists()


def test_plot_grads(tmp_path):
    out = tmp_path / "grads.png"
    r = invoke("plot", "grads", "--length", 12, "--out", out)
    assert r.exit_code == 0, r.output
    assert out.read_bytes()[:4] == b"\x89PNG"
