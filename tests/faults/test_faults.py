"""Faults a shared machine throws (#22): SIGTERM/SIGUSR1, two runs in one folder, a full disk,
a checkpoint that does not fit."""

import errno
import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from sgtk.errors import SgtkError
from sgtk.io.lock import LOCK_NAME, folder_lock
from sgtk.train.checkpoint import load_checkpoint, load_model_state
from sgtk.train.metrics import MetricsLog
from tests.helpers import assert_one_line_error, invoke, last_json
from tests.train.test_reliability import PALINDROME, ROOT, _records, _sgtk, _wait_for_checkpoint


def _stop_with(sig, run, steps):
    proc = _sgtk(*PALINDROME, "--steps", steps, "--out", run)
    _wait_for_checkpoint(run, proc, min_step=10)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    return proc.returncode, stderr


def test_sigterm_mid_run_then_resume_matches_an_uninterrupted_run(tmp_path):
    steps = 400
    whole = invoke(*PALINDROME, "--steps", steps, "--out", tmp_path / "whole", "--json")
    assert whole.exit_code == 0, whole.output
    run = tmp_path / "stopped"
    code, stderr = _stop_with(signal.SIGTERM, run, steps)
    assert code == 143, stderr
    assert "Traceback" not in stderr and "--resume" in stderr
    stopped_at = load_checkpoint(run / "checkpoint.pt")["step"]
    assert stopped_at < steps  # it stopped mid-run, and wrote the step it stopped at
    assert MetricsLog(run / "metrics.jsonl").read()[-1]["step"] <= stopped_at
    resumed = invoke(*PALINDROME, "--steps", steps, "--out", run, "--resume", "--json")
    assert last_json(resumed)["steps"] == steps
    assert _records(run / "metrics.jsonl") == _records(tmp_path / "whole" / "metrics.jsonl")


def test_sigusr1_writes_a_checkpoint_and_exits_138(tmp_path):
    code, stderr = _stop_with(signal.SIGUSR1, tmp_path, 100000)
    assert code == 138, stderr
    assert "Traceback" not in stderr
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] >= 10


def test_a_second_run_on_the_same_out_refuses_in_one_line_naming_the_pid(tmp_path):
    first = _sgtk(*PALINDROME, "--steps", 300, "--out", tmp_path)
    _wait_for_checkpoint(tmp_path, first, min_step=10)
    config_before = (tmp_path / "config.toml").read_bytes()
    for extra in ([], ["--resume"]):
        second = invoke(*PALINDROME, "--steps", 300, "--out", tmp_path, *extra)
        assert_one_line_error(second, f"PID {first.pid}", "in use")
    assert (tmp_path / "config.toml").read_bytes() == config_before
    _, stderr = first.communicate(timeout=600)
    assert first.returncode == 0, stderr
    steps = [r["step"] for r in MetricsLog(tmp_path / "metrics.jsonl").read()[:-1]]
    assert steps == sorted(set(steps)) and steps[-1] == 300


_HOLD = textwrap.dedent(
    """
    import sys, time
    from sgtk.io.lock import folder_lock
    with folder_lock(sys.argv[1]):
        print("held", flush=True)
        time.sleep(600)
    """
)


def test_a_lock_dies_with_its_process(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(SgtkError, match=f"PID {holder.pid}"):
            with folder_lock(tmp_path):
                pass
    finally:
        holder.kill()  # SIGKILL: no cleanup runs, the lock file stays behind
        holder.wait()
    assert (tmp_path / LOCK_NAME).exists()
    with folder_lock(tmp_path):
        with folder_lock(tmp_path):  # the same process may nest it (compare around a run)
            pass


def test_a_full_disk_at_the_second_checkpoint_is_one_line_and_keeps_the_first(
    tmp_path, monkeypatch
):
    real_fsync, checkpoints = os.fsync, []

    def fsync(fd):
        if ".checkpoint.pt." in os.readlink(f"/proc/self/fd/{fd}"):
            checkpoints.append(fd)
            if len(checkpoints) == 2:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    r = invoke(*PALINDROME, "--steps", 50, "--out", tmp_path)
    assert r.exit_code == 2 and "Traceback" not in r.output
    errors = [line for line in r.output.splitlines() if "error" in line]  # below the bar
    assert len(errors) == 1, r.output
    for words in ("checkpoint.pt", "No space left on device", "disk space"):
        assert words in errors[0]
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 5
    assert load_checkpoint(tmp_path / "best.pt")["step"] >= 5
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_resume_with_another_model_size_is_one_line_and_writes_nothing(tmp_path):
    assert invoke(*PALINDROME, "--steps", 10, "--out", tmp_path).exit_code == 0
    r = invoke(*PALINDROME, "--hidden", 48, "--steps", 20, "--out", tmp_path, "--resume")
    assert_one_line_error(r, "--resume would change", "hidden")  # the CLI reads config.toml
    # Without config.toml or manifest.json (a hand-edited folder) the checkpoint's own copy
    # of the task config is checked before anything is written.
    (tmp_path / "config.toml").unlink()
    (tmp_path / "manifest.json").unlink()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    r = invoke(*PALINDROME, "--hidden", 48, "--steps", 20, "--out", tmp_path, "--resume")
    assert_one_line_error(r, "--resume would change", "hidden 32 -> 48")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


def test_load_model_state_names_the_file_for_every_misfit(tmp_path):
    path = tmp_path / "best.pt"
    torch.save({"task": "palindrome", "model": torch.nn.Linear(3, 2).state_dict()}, path)
    load_model_state(torch.nn.Linear(3, 2), path, task="palindrome")
    for model, task, words in (
        (torch.nn.Linear(4, 2), "palindrome", "[2, 3] there, [2, 4] here"),
        (torch.nn.Linear(3, 2, bias=False), "palindrome", "unknown weight(s) such as bias"),
        (torch.nn.Sequential(torch.nn.Linear(3, 2)), "palindrome", "lacks 2 weight(s)"),
        (torch.nn.Linear(3, 2), "text", "'palindrome' checkpoint, not 'text'"),
    ):
        with pytest.raises(SgtkError) as e:
            load_model_state(model, path, task=task)
        assert str(path) in str(e.value) and words in str(e.value)
