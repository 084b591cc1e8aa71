"""Progress a person can read: plain lines in a log, a two-row bar on a terminal."""

import io
import re

from rich.console import Console

from sgtk.train.progress import PlainProgress, clock
from sgtk_cli.progress import RichProgress, progress_for

RECORD = {"step": 100, "val_loss": 0.41, "val_accuracy": 0.93, "val_bits": 1.2, "val_x": 7.0}


def test_plain_progress_prints_a_line_at_every_evaluation_with_step_eta_and_metrics():
    out = io.StringIO()
    progress = PlainProgress("palindrome lstm", stream=out, every=3600)
    progress.on_start(2000, 0)
    for step in range(1, 201):
        progress.on_step(step, {"loss": 0.5, "elapsed": step / 100})
        if step % 100 == 0:
            progress.on_eval(step, {**RECORD, "step": step})
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[1].startswith("palindrome lstm step 200/2000 (10 %)")
    assert "ETA " in lines[1] and "ETA ?" not in lines[1] and "val_accuracy 0.93" in lines[1]


def test_plain_progress_prints_between_evaluations_every_so_often(monkeypatch):
    import sgtk.train.progress as module

    now = [0.0]
    monkeypatch.setattr(module.time, "perf_counter", lambda: now[0])
    out = io.StringIO()
    progress = PlainProgress("text", stream=out, every=30)
    progress.on_start(10_000, 0)
    for step in range(1, 101):  # 100 steps, 1 s each, no evaluation
        now[0] = float(step)
        progress.on_step(step, {"loss": 1.0, "elapsed": float(step)})
    assert len(out.getvalue().splitlines()) == 3  # at 30, 60 and 90 s


def test_the_terminal_bar_keeps_its_count_and_eta_at_80_columns():
    console = Console(file=io.StringIO(), width=80, force_terminal=True, color_system="standard")
    progress = RichProgress("molecules gin-with-a-long-name", console, show=("loss", "accuracy"))
    progress.on_start(2000, 0)
    progress.on_step(10, {"loss": 0.5, "accuracy": 0.4, "elapsed": 1.0})
    progress.on_eval(10, RECORD)
    progress.stop()
    console.file = io.StringIO()
    console.print(progress.progress.get_renderable())
    plain = re.sub(r"\x1b\[[0-9;]*m", "", console.file.getvalue())
    bar_row, metrics_row = plain.splitlines()[:2]
    assert "━" in bar_row and "10/2000" in bar_row and "it/s" in bar_row, bar_row
    assert re.search(r"(-|\d):(--|\d\d):(--|\d\d)$", bar_row.rstrip()), bar_row  # the ETA
    assert "val_accuracy 0.93" in metrics_row


def test_without_a_terminal_the_display_is_plain_lines():
    console = Console(file=io.StringIO(), width=80)  # not a terminal: a pipe or a log
    assert isinstance(progress_for("t", console, ("loss",), None), PlainProgress)


def test_clock():
    assert (clock(75), clock(3725)) == ("1:15", "1:02:05")


def test_train_in_a_pipe_prints_a_plain_line_at_every_evaluation(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "sgtk", "train", "palindrome", "--model", "rnn", "--length", "5",
         "--steps", "6", "--eval-every", "2", "--out", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    steps = [line.split(" · ")[0] for line in done.stderr.splitlines() if " step " in line]
    assert steps == [f"palindrome rnn step {s}/6 ({100 * s / 6:.0f} %)" for s in (2, 4, 6)], steps
    assert (tmp_path / "run" / "curves.png").is_file()
