"""Issue 27, item 10: SIGTERM (or SIGINT) to the parent alone of ``compare --jobs 2`` (what ``docker
stop`` sends to PID 1) reaches every worker, which checkpoints its run; every finished row is
in results.json; no worker is left behind; ``--resume`` completes the sweep."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import invoke

ROOT = Path(__file__).resolve().parents[2]
# The assignment protocol has no early stop: every run takes its whole step budget, a few
# seconds here (150 steps took 0.3 s with the fused cells), so the signal finds runs in flight.
STEPS = 1500
SWEEP = ("--protocol", "assignment", "--lengths", "8", "--models", "rnn", "--seeds", "4",
         "--steps", str(STEPS), "--params", "3000", "--jobs", "2")  # fmt: skip
NAMES = [f"rnn-T8-k0-s{s}" for s in range(4)]


def _children(pid: int) -> set[int]:
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line
            )
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.add(int(status.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; only its exit status is left to collect


def _wait_until(condition, proc, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, f"compare ended before {what}: {proc.communicate()}"
        assert time.monotonic() < deadline, f"no {what} within {seconds} s"
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_to_the_parent_alone_stops_every_worker_and_keeps_finished_rows(
    tmp_path, sig
):
    out = tmp_path / "cmp"
    runs = out / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sgtk", "compare", "rnn-vs-gcn", *SWEEP, "--out", str(out)],
        cwd=ROOT,
        env={**os.environ, "SGTK_NO_EXT": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def finished() -> list[Path]:
            return sorted(runs.glob("*/row.json"))

        def training() -> list[Path]:  # a run folder with its config but no row yet
            return [d for d in runs.glob("*") if (d / "config.toml").exists()
                    and not (d / "row.json").exists()]  # fmt: skip

        _wait_until(finished, proc, 240, "a finished row")
        # A run that started after the first row has its whole fit ahead; one seen earlier may
        # finish before the signal lands and leave nothing in flight to checkpoint.
        earlier = set(runs.glob("*"))
        _wait_until(lambda: set(training()) - earlier, proc, 240, "a run started after it")
        time.sleep(0.3)  # well inside the run's fit
        workers = _children(proc.pid)
        assert len(workers) >= 2, workers
        proc.send_signal(sig)  # the parent alone, as docker stop does
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers), "a worker outlived the stopped compare"

    assert proc.returncode == 128 + sig, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr and len(lines) == 1 and "--resume" in lines[0], stderr

    done = {json.loads(p.read_text())["name"] for p in runs.glob("*/row.json")}
    assert 1 <= len(done) < len(NAMES), done  # it stopped; the workers did not run on
    saved = json.loads((out / "results.json").read_text())
    assert {r["name"] for r in saved} == done  # every finished row is in results.json
    with open(out / "results.csv", newline="") as f:
        assert {r["name"] for r in csv.DictReader(f)} == done
    stopped = [d for d in runs.glob("*") if not (d / "row.json").exists()]
    assert stopped and all((d / "checkpoint.pt").exists() for d in stopped), stopped

    resumed = invoke("compare", "rnn-vs-gcn", *SWEEP, "--resume", "--out", out)
    assert resumed.exit_code == 0, resumed.output
    saved = json.loads((out / "results.json").read_text())
    assert [r["name"] for r in saved] == NAMES
    assert all(r["steps"] == STEPS for r in saved)
