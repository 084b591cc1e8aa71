"""`--resume` finds its run: an --out with any character, or none (the newest unfinished)."""

import json
import tomllib

from tests.helpers import assert_one_line_error, invoke, last_json

TINY = ("train", "palindrome", "--length", 5, "--hidden", 8, "--eval-every", 5)


def test_an_out_with_a_newline_writes_a_readable_config_and_resumes(tmp_path):
    run = tmp_path / 'odd\nname "quoted"'
    last_json(invoke(*TINY, "--steps", 5, "--out", run, "--json"))
    assert tomllib.loads((run / "config.toml").read_text())["task"]["length"] == 5
    resumed = last_json(invoke(*TINY, "--steps", 10, "--out", run, "--resume", "--json"))
    assert resumed["steps"] == 10


def _unfinish(run):
    """The run as a crash leaves it: its checkpoint, no final record."""
    metrics = run / "metrics.jsonl"
    lines = metrics.read_text().splitlines()
    kept = [line for line in lines if not json.loads(line).get("final")]
    metrics.write_text("\n".join(kept) + "\n")


def test_resume_without_out_takes_the_newest_unfinished_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("old", "new", "done"):
        last_json(invoke(*TINY, "--steps", 5, "--out", f"runs/{name}", "--json"))
    _unfinish(tmp_path / "runs/old")
    _unfinish(tmp_path / "runs/new")
    (tmp_path / "runs/new/checkpoint.pt").touch()  # the newest checkpoint; done is finished
    r = invoke("train", "palindrome", "--resume", "--steps", 10, "--json")
    assert last_json(r)["run_dir"] == "runs/new", r.output
    assert "resuming runs/new" in r.stderr
    assert not [p for p in (tmp_path / "runs").iterdir() if p.name not in ("old", "new", "done")]


def test_resume_without_out_and_no_unfinished_run_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = invoke("train", "palindrome", "--resume")
    assert_one_line_error(r, "--resume without --out", "no unfinished palindrome run")
    assert r.exit_code == 2 and not (tmp_path / "runs").exists()
