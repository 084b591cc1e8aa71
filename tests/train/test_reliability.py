"""Crash safety, safe checkpoint loading, determinism, numerical faults and bad input."""

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from sgtk.errors import SgtkError
from sgtk.train.checkpoint import load_checkpoint
from sgtk.train.metrics import MetricsLog
from sgtk.train.trainer import TrainConfig, Trainer, TrainingDiverged
from tests.helpers import assert_one_line_error, invoke, last_json

TIMES = ("elapsed", "cpu_seconds")  # differ from run to run

ROOT = Path(__file__).resolve().parents[2]
PALINDROME = [
    "train",
    "palindrome",
    "--model",
    "lstm",
    "--length",
    "12",
    "--hidden",
    "32",
    "--batch-size",
    "32",
    "--eval-every",
    "5",
    "--checkpoint-every",
    "5",
    "--target",
    "2",
]  # an unreachable target: the run goes to its last step


def _sgtk(*args, **kw):
    return subprocess.Popen(
        [sys.executable, "-m", "sgtk", *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def _records(path: Path) -> list[dict]:
    """metrics.jsonl without wall time, the one thing two identical runs may differ in."""
    lines = path.read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k not in TIMES} for x in lines]


def _wait_for_checkpoint(run: Path, proc, min_step: int = 10, timeout: float = 120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if (run / "checkpoint.pt").exists():
            try:
                if load_checkpoint(run / "checkpoint.pt")["step"] >= min_step:
                    return
            except SgtkError:
                pass  # caught between write and rename is impossible; a read race is not
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("no checkpoint appeared")


def test_resume_after_kill_9_matches_an_uninterrupted_run(tmp_path):
    steps = 400
    whole = invoke(*PALINDROME, "--steps", steps, "--out", tmp_path / "whole", "--json")
    assert whole.exit_code == 0, whole.output
    crashed = tmp_path / "crashed"
    proc = _sgtk(*PALINDROME, "--steps", steps, "--out", crashed)
    _wait_for_checkpoint(crashed, proc)
    proc.kill()  # SIGKILL: no handler runs
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    resumed = invoke(*PALINDROME, "--steps", steps, "--out", crashed, "--resume", "--json")
    assert last_json(resumed)["steps"] == steps
    ours = _records(crashed / "metrics.jsonl")
    assert ours == _records(tmp_path / "whole" / "metrics.jsonl")
    *records, final = MetricsLog(crashed / "metrics.jsonl").read()
    steps_logged = [r["step"] for r in records]
    assert steps_logged == sorted(set(steps_logged))  # no duplicated and no torn lines
    assert final["final"] and final["step"] == steps


def test_ctrl_c_writes_a_checkpoint_and_exits_130(tmp_path):
    run = tmp_path / "run"
    proc = _sgtk(*PALINDROME, "--steps", 100000, "--out", run)
    _wait_for_checkpoint(run, proc, min_step=5)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    state = load_checkpoint(run / "checkpoint.pt")
    last = MetricsLog(run / "metrics.jsonl").read()[-1]["step"]
    assert state["step"] >= last


def test_metrics_log_drops_a_torn_line_on_resume(tmp_path):
    log = MetricsLog(tmp_path / "m.jsonl")
    for step in (5, 10, 15):
        log.append({"step": step})
    with open(log.path, "a") as f:
        f.write('{"step": 20, "acc')  # a crash mid-write
    log.truncate_after(10)
    assert [r["step"] for r in log.read()] == [5, 10]


def test_corrupt_checkpoint_is_one_line(tmp_path):
    run = tmp_path / "run"
    r = invoke(*PALINDROME, "--steps", 10, "--out", run)
    assert r.exit_code == 0
    data = (run / "checkpoint.pt").read_bytes()
    (run / "checkpoint.pt").write_bytes(data[: len(data) // 2])
    r = invoke(*PALINDROME, "--steps", 20, "--out", run, "--resume")
    assert_one_line_error(r, "truncated or corrupt")


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_malicious_checkpoint_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "checkpoint.pt"
    torch.save(
        {"task": "palindrome", "model": _Evil(str(marker))},
        evil,
        pickle_protocol=pickle.HIGHEST_PROTOCOL,
    )
    with pytest.raises(SgtkError, match="refusing"):
        load_checkpoint(evil)
    assert not marker.exists()
    r = invoke(*PALINDROME, "--steps", 10, "--out", tmp_path, "--resume")
    assert_one_line_error(r, "refusing")
    assert not marker.exists()


def test_checkpoint_from_another_task_and_missing_ones(tmp_path):
    run = tmp_path / "pal"
    assert invoke(*PALINDROME, "--steps", 10, "--out", run).exit_code == 0
    config_before = (run / "config.toml").read_text()
    corpus = tmp_path / "c.txt"
    corpus.write_text("to be or not to be " * 400)
    r = invoke("train", "text", "--data", corpus, "--out", run, "--resume", "--steps", 5)
    assert_one_line_error(r, "palindrome", "checkpoint")
    assert (run / "config.toml").read_text() == config_before  # nothing rewritten
    assert_one_line_error(invoke("generate", "--checkpoint", run), "not a text model")
    assert_one_line_error(invoke("generate", "--checkpoint", tmp_path / "nope"), "nope")
    r = invoke(*PALINDROME, "--steps", 5, "--out", tmp_path / "fresh", "--resume")
    assert_one_line_error(r, "no checkpoint")


def test_existing_run_is_not_overwritten_without_resume(tmp_path):
    assert invoke(*PALINDROME, "--steps", 5, "--out", tmp_path / "r").exit_code == 0
    assert_one_line_error(invoke(*PALINDROME, "--steps", 5, "--out", tmp_path / "r"), "--resume")


# ---- determinism --------------------------------------------------------------------------
def _twice(tmp_path, *args):
    for name in ("a", "b"):
        r = invoke(*args, "--out", tmp_path / name, "--seed", 3)
        assert r.exit_code == 0, r.output
    return [_records(tmp_path / n / "metrics.jsonl") for n in ("a", "b")]


def test_palindrome_runs_repeat_bit_for_bit(tmp_path):
    a, b = _twice(tmp_path, *PALINDROME, "--steps", 30)
    assert a == b and a


def test_text_runs_repeat_bit_for_bit(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog\n" * 60)
    a, b = _twice(
        tmp_path,
        "train",
        "text",
        "--data",
        corpus,
        "--steps",
        20,
        "--hidden",
        32,
        "--seq-length",
        16,
        "--batch-size",
        8,
        "--eval-every",
        10,
    )
    assert a == b and "sample" in a[0]


def test_molecule_runs_repeat_bit_for_bit(tmp_path, shared_data):
    a, b = _twice(
        tmp_path,
        "train",
        "molecules",
        "--data",
        shared_data / "freesolv.csv",
        "--target-col",
        "expt",
        "--steps",
        20,
        "--eval-every",
        10,
        "--hidden",
        32,
    )
    assert a == b and a


# ---- numerical faults -----------------------------------------------------------------------
def test_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    from sgtk.tasks.palindrome import PalindromeConfig, PalindromeTask

    class Exploding(PalindromeTask):
        calls = 0

        def loss(self, model, batch):
            loss, stats = super().loss(model, batch)
            Exploding.calls += 1
            return (loss * float("nan") if Exploding.calls == 7 else loss), stats

    task = Exploding(PalindromeConfig(model="rnn", length=5, hidden=8))
    trainer = Trainer(task, TrainConfig(steps=50, checkpoint_every=2, eval_every=2), tmp_path)
    with pytest.raises(TrainingDiverged, match="step 7"):
        trainer.fit()
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 6


# ---- bad input through the real CLI ----------------------------------------------------------
def _main(*args):
    return subprocess.run(
        [sys.executable, "-m", "sgtk", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args,word",
    [
        (["train", "sudoku"], "sudoku"),
        (["train", "palindrome", "--steps", "many"], "--steps"),
        (["compare", "lstm-vs-everything"], "lstm-vs-everything"),
    ],
)
def test_usage_errors_are_one_line(args, word):
    r = _main(*args)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = [line for line in (r.stdout + r.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and word in lines[0], r.stderr


def test_python_dash_m_sgtk_help():
    r = _main("--help")
    assert r.returncode == 0 and "train" in r.stdout


@pytest.mark.parametrize(
    "args,word",
    [
        (["--tau", "-1"], "tau"),
        (["--top-k", "0"], "top-k"),
    ],
)
def test_generate_bad_sampling_flags(args, word):
    assert_one_line_error(invoke("generate", *args), word)


def test_no_partial_files_on_bad_input(tmp_path):
    out = tmp_path / "run"
    for args in (
        ["--length", 2],
        ["--model", "x"],
        ["--steps", 0],
        ["--lr", "-1"],
        ["--optimizer", "x"],
    ):
        assert invoke("train", "palindrome", *args, "--out", out).exit_code == 2
        assert not out.exists()
    assert not list(Path(os.getcwd()).glob("runs/palindrome-x*"))
