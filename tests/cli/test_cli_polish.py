"""The CLI's everyday habits: help once, -h, flags shown as flags, choices completed."""

import os
import subprocess
import sys

import pytest

from tests.helpers import invoke


def _sgtk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sgtk", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "120", **(env or {})},
        timeout=120,
    )


@pytest.mark.parametrize("group", [[], ["train"], ["compare"], ["predict"]])
def test_help_without_a_subcommand_is_printed_once(group):
    done = _sgtk(*group)
    assert done.returncode == 0, done.stderr
    assert (done.stdout + done.stderr).count("Usage:") == 1, done.stdout


def test_dash_h_is_help():
    result = invoke("train", "palindrome", "-h")
    assert result.exit_code == 0 and "Usage:" in result.output and "--resume" in result.output


def test_flags_show_no_value_type():
    lines = _sgtk("train", "palindrome", "--help").stdout.splitlines()
    resume = next(line for line in lines if "--resume" in line)
    steps = next(line for line in lines if "--steps" in line)
    assert "<bool>" not in resume and "<int>" in steps


def test_completion_offers_an_options_choices():
    words = "sgtk train palindrome --optimizer ad"
    done = _sgtk(env={"_SGTK_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": "4"})
    assert done.stdout.split() == ["adam", "adamw"], done.stdout + done.stderr


def test_models_in_a_pipe_keep_each_row_on_one_line():
    done = _sgtk("models", env={"COLUMNS": "80"})  # a pipe: rich would lay it out at 80
    row = next(line for line in done.stdout.splitlines() if "transformer" in line)
    assert "attention" in row and "palindrome, text, molecules" in row, row


@pytest.mark.parametrize("width", [30, 60, 90, 200])
def test_no_word_is_broken_inside_a_cell_on_a_terminal(width):
    import io

    from rich.console import Console
    from rich.table import Table

    from sgtk_cli.tables import show_table

    table = Table(title="models")
    for header in ("model", "family", "what it is"):
        table.add_column(header)
    table.add_row("transformer", "attention", "TransformerConv blocks (Shi et al. 2021)")
    table.add_row("lstm-gcn", "hybrid", "an LSTM encoder, then GCN layers over the path")
    buf = io.StringIO()
    show_table(table, Console(file=buf, width=width, force_terminal=True, color_system=None))
    words = buf.getvalue().split()
    for cell in ("transformer", "attention", "TransformerConv", "encoder,", "hybrid"):
        assert cell in words, buf.getvalue()
