"""`--data-root` and `$SGTK_DATA` decide where `train` caches its data (issue 30)."""

from tests.helpers import invoke, last_json


def _train(csv, out, *more):
    args = ("train", "molecules", "--data", csv, "--target-col", "expt", "--steps", 2)
    return last_json(invoke(*args, "--eval-every", 2, "--out", out, "--json", *more))


def test_sgtk_data_and_then_data_root_choose_the_cache(tmp_path, shared_data, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = (shared_data / "freesolv.csv").read_text().splitlines()[:81]
    csv = tmp_path / "small.csv"
    csv.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("SGTK_DATA", str(tmp_path / "elsewhere"))
    _train(csv, tmp_path / "a")
    assert list((tmp_path / "elsewhere").rglob("processed")), "nothing cached under SGTK_DATA"
    assert not (tmp_path / "data").exists()
    _train(csv, tmp_path / "b", "--data-root", tmp_path / "flag")
    assert list((tmp_path / "flag").rglob("processed")), "--data-root did not win"
