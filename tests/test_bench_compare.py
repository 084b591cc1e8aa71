import pytest

from tests.helpers import invoke, last_json


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
