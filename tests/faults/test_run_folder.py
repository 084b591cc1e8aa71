"""The run folder as the unit of trust (#27, items 1-4 and 11), through the real CLI: a few
steps of a tiny LSTM each."""

import json

import torch

from sgtk.train.checkpoint import load_checkpoint
from sgtk.train.config import read_toml
from sgtk.train.finite import first_non_finite
from tests.helpers import assert_one_line_error, invoke

TINY = ["train", "palindrome", "--model", "lstm", "--hidden", "8", "--layers", "1"]
FAST = ["--batch-size", "16", "--eval-every", "5"]


def _train(run, *extra, steps=10):
    r = invoke(*TINY, *FAST, "--steps", steps, "--out", run, *extra)
    assert r.exit_code == 0, r.output
    return r


def _files(run):
    return {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and p.name[0] != "."}


def test_item1_a_diverged_update_never_replaces_best_or_checkpoint(tmp_path):
    run = tmp_path / "run"
    _train(run)
    r = invoke(*TINY, "--resume", "--steps", 20, "--lr", "1e38", "--out", run,
               "--eval-every", 1, "--checkpoint-every", 1)  # fmt: skip
    assert r.exit_code == 2 and "Traceback" not in r.output
    errors = [line for line in r.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors == r.output.strip().splitlines()[-1:], r.output
    for words in ("diverged at step 11", "last finite checkpoint.pt of step 10"):
        assert words in errors[0]
    for name in ("best.pt", "checkpoint.pt"):
        state = load_checkpoint(run / name)
        assert first_non_finite(state["model"]) is None, name
        assert max(v.abs().max().item() for v in state["model"].values()) < 100, name
    assert load_checkpoint(run / "checkpoint.pt")["step"] == 10


def test_item2_a_fresh_run_never_overwrites_a_finished_compare_run(tmp_path):
    run = tmp_path / "run"
    _train(run)
    # What compare leaves once a run is finished: best.pt and row.json, no checkpoint.pt.
    (run / "checkpoint.pt").unlink()
    (run / "row.json").write_text(json.dumps({"name": "lstm-T10-s0", "test_accuracy": 0.1}))
    before = _files(run)
    r = invoke(*TINY, *FAST, "--steps", 10, "--out", run)
    assert r.exit_code == 2
    assert_one_line_error(r, "already holds a run", "best.pt", "row.json")
    assert _files(run) == before


def test_item3_resume_refuses_text_that_changed_by_one_character(tmp_path, shared_data):
    text = tmp_path / "tiny.txt"
    text.write_bytes((shared_data / "tinyshakespeare.txt").read_bytes()[:20000])
    run = tmp_path / "run"
    args = ["train", "text", "--data", text, "--hidden", 16, "--layers", 1, "--embed", 8,
            "--seq-length", 16, "--batch-size", 8, "--eval-every", 2]  # fmt: skip
    assert invoke(*args, "--steps", 2, "--out", run).exit_code == 0
    # "First" -> "Girst": the same characters, so the vocabulary and the model still fit
    text.write_bytes(b"G" + text.read_bytes()[1:])
    before = _files(run)
    r = invoke(*args, "--steps", 4, "--out", run, "--resume")
    assert_one_line_error(r, "the data changed since this run started", "tiny.txt", "sha256")
    assert _files(run) == before


def test_item3_resume_refuses_a_molecule_csv_with_reordered_rows(tmp_path, shared_data,
                                                                 monkeypatch):  # fmt: skip
    monkeypatch.chdir(tmp_path)  # the processed cache goes under ./data
    lines = (shared_data / "freesolv.csv").read_text().splitlines()[:61]
    csv = tmp_path / "mols.csv"
    csv.write_text("\n".join(lines) + "\n")
    args = ["train", "molecules", "--data", csv, "--smiles-col", "smiles", "--target-col",
            "expt", "--model", "gcn", "--hidden", 16, "--layers", 2, "--batch-size", 16,
            "--eval-every", 2, "--out", tmp_path / "run"]  # fmt: skip
    assert invoke(*args, "--steps", 2).exit_code == 0
    csv.write_text("\n".join(lines[:1] + lines[:0:-1]) + "\n")  # the split would move
    before = _files(tmp_path / "run")
    r = invoke(*args, "--steps", 4, "--resume")
    assert_one_line_error(r, "the data changed since this run started", "mols.csv", "sha256")
    assert _files(tmp_path / "run") == before


def test_item4_a_missing_config_toml_never_changes_the_task(tmp_path):
    run = tmp_path / "run"
    _train(run, "--length", 9)
    (run / "config.toml").unlink()
    r = invoke(*TINY, "--resume", "--steps", 15, "--out", run, "--json")
    assert r.exit_code == 0, r.output
    assert "length = 9" in (run / "config.toml").read_text()
    assert load_checkpoint(run / "checkpoint.pt")["task_config"]["length"] == 9


def test_item4_a_missing_manifest_is_written_anew_and_said(tmp_path):
    """Without the manifest every later resume would skip the data check: it comes back,
    marked as rebuilt, and the user is told what can no longer be checked."""
    run = tmp_path / "run"
    _train(run, "--length", 9)
    (run / "manifest.json").unlink()
    r = invoke(*TINY, "--resume", "--steps", 15, "--out", run)
    assert r.exit_code == 0, r.output
    assert "manifest.json was missing: written anew at step 10" in r.output
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["rebuilt_at_step"] == 10 and manifest["task_config"]["length"] == 9
    assert manifest["fingerprint"]  # the palindrome generator's settings, checked from now on


def test_an_edited_config_toml_is_said_not_silently_ignored_on_resume(tmp_path):
    """A resume takes the run's settings from its manifest: an edit to config.toml is not
    applied, and the user hears which keys were edited; an unedited folder hears nothing."""
    run = tmp_path / "run"
    _train(run, "--length", 9)
    plain = invoke(*TINY, "--resume", "--steps", 12, "--out", run)
    assert plain.exit_code == 0 and "was edited" not in plain.output, plain.output
    config = run / "config.toml"
    config.write_text(config.read_text().replace("max_norm = 10.0", "max_norm = 3.0"))
    r = invoke(*TINY, "--resume", "--steps", 15, "--out", run)
    assert r.exit_code == 0, r.output
    assert "config.toml was edited (train.max_norm)" in " ".join(r.output.split())


def test_item11_resume_with_another_optimizer_is_refused_before_any_write(tmp_path):
    run = tmp_path / "run"
    _train(run)
    before = _files(run)
    r = invoke(*TINY, "--resume", "--steps", 20, "--optimizer", "rmsprop", "--out", run)
    assert_one_line_error(r, "--optimizer adam", "rmsprop")
    assert _files(run) == before  # config.toml still says adam: later resumes work
    assert invoke(*TINY, "--resume", "--steps", 15, "--out", run).exit_code == 0


def test_item11_a_malformed_config_toml_on_resume_is_one_line_or_rebuilt(tmp_path):
    run = tmp_path / "run"
    _train(run)
    (run / "config.toml").write_text("[train\nsteps = ")
    # The manifest is the run's record: config.toml, a copy of it, is written again.
    r = invoke(*TINY, "--resume", "--steps", 20, "--out", run)
    assert r.exit_code == 0, r.output
    assert read_toml(run / "config.toml")["train"]["steps"] == 20
    # A run from before manifests has only config.toml: damaged, it is one line.
    (run / "config.toml").write_text("[train\nsteps = ")
    (run / "manifest.json").unlink()
    r = invoke(*TINY, "--resume", "--steps", 30, "--out", run)
    assert_one_line_error(r, "config.toml", "not valid TOML")


def test_item11_a_checkpoint_missing_a_key_names_the_file_and_the_key(tmp_path):
    run = tmp_path / "run"
    _train(run)
    for key in ("optimizer", "data_rng"):
        state = load_checkpoint(run / "checkpoint.pt")
        saved = dict(state)
        del state[key]
        torch.save(state, run / "checkpoint.pt")
        r = invoke(*TINY, "--resume", "--steps", 20, "--out", run)
        assert_one_line_error(r, "checkpoint.pt", repr(key))
        torch.save(saved, run / "checkpoint.pt")


def test_item11_bad_settings_are_one_line_and_write_nothing(tmp_path):
    for flags, words in (
        (["--seed", str(2 * 10**16)], ["--seed", "out of range"]),
        (["--device", "mps"], ["--device mps", "cpu"]),
        (["--devices", "100000"], ["--devices 100000", "more than"]),
        (["--config", "/dev/zero"], ["/dev/zero", "1,048,576 bytes"]),
    ):
        run = tmp_path / flags[0].strip("-")
        r = invoke(*TINY, *FAST, "--steps", 2, "--out", run, *flags)
        assert r.exit_code == 2, (flags, r.output)
        assert_one_line_error(r, *words)
        assert not run.exists() or not _files(run)
