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
