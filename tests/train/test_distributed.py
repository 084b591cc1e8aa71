"""Data-parallel training on PyTorch's own engine: two gloo processes on the CPU."""

import json
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
ARGS = [
    "train",
    "palindrome",
    "--model",
    "lstm",
    "--length",
    "5",
    "--hidden",
    "32",
    "--batch-size",
    "64",
    "--steps",
    "600",
    "--eval-every",
    "50",
    "--device",
    "cpu",
    "--json",
]


def _run(*extra):
    r = subprocess.run(
        [sys.executable, "-m", "sgtk", *ARGS, *map(str, extra)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def _ranks_in(run: Path) -> list:
    """Each rank's data stream position, as rank 0 gathered them into checkpoint.pt."""
    from sgtk.train.checkpoint import load_checkpoint

    return list(load_checkpoint(run / "checkpoint.pt")["data_rng"])


def _two_ranks_trained(run: Path) -> None:
    """Only two processes leave two data streams, and distinct ones (each rank draws its own
    batches): one process, however it was launched, leaves one."""
    streams = _ranks_in(run)
    assert len(streams) == 2, f"{len(streams)} rank(s) trained, not 2"
    assert not torch.equal(streams[0], streams[1])


def test_two_gloo_processes_match_one_process(tmp_path):
    single = _run("--out", tmp_path / "one")
    ddp = _run("--devices", 2, "--out", tmp_path / "two")
    assert single["test_accuracy"] >= 0.95
    assert abs(ddp["test_accuracy"] - single["test_accuracy"]) <= 0.05
    assert len(_ranks_in(tmp_path / "one")) == 1
    _two_ranks_trained(tmp_path / "two")
    # Only rank 0 writes the run.
    records = [json.loads(x) for x in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert records[-1].get("final") and not any(r.get("final") for r in records[:-1])
    steps = [r["step"] for r in records[:-1]]
    assert steps == sorted(set(steps))


def test_resume_under_ddp(tmp_path):
    run = tmp_path / "r"
    first = _run("--devices", 2, "--out", run, "--steps", 100, "--target", 2)
    assert first["steps"] == 100
    _two_ranks_trained(run)
    before = _ranks_in(run)
    again = _run("--devices", 2, "--out", run, "--steps", 150, "--target", 2, "--resume")
    assert again["steps"] == 150
    _two_ranks_trained(run)
    for rank, (a, b) in enumerate(zip(before, _ranks_in(run))):  # each stream moved on
        assert not torch.equal(a, b), f"rank {rank} did not train after the resume"


def test_a_stop_signal_to_the_launcher_stops_every_rank_at_one_step(tmp_path):
    import signal
    import time

    from sgtk.train.checkpoint import load_checkpoint

    run = tmp_path / "r"
    args = [a for a in ARGS if a != "--json"] + ["--steps", "100000", "--devices", "2"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sgtk", *args, "--out", str(run), "--checkpoint-every", "7"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 300
    while not (run / "checkpoint.pt").exists():
        assert time.time() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    proc.send_signal(signal.SIGUSR1)  # Slurm's warning, to the launcher only
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 138, stderr[-3000:]
    state = load_checkpoint(run / "checkpoint.pt")
    assert len(state["data_rng"]) == 2  # written by rank 0 with both ranks at one step
    r = subprocess.run(["pgrep", "-f", str(run)], capture_output=True, text=True)
    assert r.stdout.strip() == ""  # no rank left training
