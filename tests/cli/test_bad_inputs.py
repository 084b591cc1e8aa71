"""Issue #23's sweep of bad and unusual inputs, through the real CLI: each is one line,
exit code 2, no traceback, and nothing left on disk."""

import gzip
import os
from pathlib import Path

import pytest

from sgtk.train.trainer import TrainConfig
from tests.helpers import assert_one_line_error, invoke

CORPUS = "the quick brown fox jumps over the lazy dog. " * 60


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # runs/ or data/ written by mistake would land here
    (tmp_path / "corpus.txt").write_text(CORPUS)
    (tmp_path / "folder").mkdir()
    (tmp_path / "damaged.txt.gz").write_bytes(gzip.compress(CORPUS.encode())[:40])
    (tmp_path / "plain.txt.gz").write_text(CORPUS)
    return tmp_path


def unreadable(tmp_path: Path) -> Path:
    """A file that exists but cannot be read. Root reads any mode-000 file, so there it is
    /proc/self/mem, whose first page is unmapped (reading it fails with EIO)."""
    if os.geteuid() == 0:
        return Path("/proc/self/mem")
    path = tmp_path / "locked.txt"
    path.write_text(CORPUS)
    path.chmod(0)
    return path


def fails_cleanly(root: Path, args, *words: str) -> None:
    before = sorted(root.rglob("*"))
    result = invoke(*args)
    assert_one_line_error(result, *words)
    assert result.exit_code == 2, result.output
    assert sorted(root.rglob("*")) == before  # nothing half-written


TEXT = ("train", "text", "--data", "corpus.txt", "--steps", 2, "--seq-length", 8, "--out", "r")
PALINDROME = ("train", "palindrome", "--steps", 2, "--length", 5, "--out", "r")


@pytest.mark.parametrize(
    "args,words",
    [
        (("train", "text", "--data", "folder", "--out", "r"), ["folder", "is a directory"]),
        (("train", "text", "--data", "missing.txt", "--out", "r"), ["does not exist"]),
        (("train", "text", "--data", "damaged.txt.gz", "--out", "r"), ["gzip"]),
        (("train", "text", "--data", "plain.txt.gz", "--out", "r"), ["not gzip"]),
        (("generate", "--checkpoint", "folder"), ["folder", "best.pt"]),
        (("generate", "--checkpoint", "missing.pt"), ["missing.pt", "does not exist"]),
        ((*TEXT, "--config", "folder"), ["--config", "is a directory"]),
        ((*TEXT, "--config", "missing.toml"), ["--config", "does not exist"]),
    ],
)
def test_path_errors_say_exactly_what_is_wrong(here, args, words):
    fails_cleanly(here, args, *words)


@pytest.mark.parametrize("flag", ["--data", "--checkpoint", "--config"])
def test_an_unreadable_path_is_named_as_unreadable(here, flag):
    path = unreadable(here)
    args = {
        "--data": ("train", "text", "--data", path, "--out", "r"),
        "--checkpoint": ("generate", "--checkpoint", path),
        "--config": (*TEXT, "--config", path),
    }[flag]
    fails_cleanly(here, args, flag, "cannot be read")


@pytest.mark.parametrize(
    "args,words",
    [
        (("train", "palindrome", "--length", 100_000, "--steps", 1, "--out", "r"), ["--length"]),
        ((*TEXT, "--batch-size", 10**9), ["--batch-size", "available"]),
    ],
)
def test_impossible_sizes_are_refused_before_allocating(here, args, words):
    fails_cleanly(here, args, "needs about", *words)


def test_a_complete_graph_over_long_windows_is_refused(here):
    (here / "long.txt").write_text(CORPUS * 40)  # each split holds a 4,096-char window
    args = ("train", "text", "--data", "long.txt", "--model", "gcn", "--graph", "complete")
    fails_cleanly(here, (*args, "--seq-length", 4096, "--out", "r"), "complete", "--seq-length")


@pytest.mark.parametrize(
    "base,flag,value,word",
    [
        (PALINDROME, "--lr", "nan", "finite"),
        (PALINDROME, "--lr", "inf", "finite"),
        (PALINDROME, "--lr", "-1", "positive"),
        (PALINDROME, "--max-norm", "-1", "disables clipping"),
        (PALINDROME, "--max-norm", "nan", "finite"),
        (PALINDROME, "--max-time", "nan", "finite"),
        (PALINDROME, "--max-time", "-5", "positive"),
        (PALINDROME, "--lr-decay", "nan", "finite"),
        (PALINDROME, "--lr-decay", "0", "--lr-decay"),
        (PALINDROME, "--lr-step", "-1", "--lr-step"),
        (PALINDROME, "--target", "nan", "finite"),
        (PALINDROME, "--seed", str(2**70), "--seed"),
        (TEXT, "--dropout", "nan", "--dropout"),
        (TEXT, "--seq-length", "0", "--seq-length"),
        (TEXT, "--sample-every", "-1", "--sample-every"),
        (TEXT, "--sample-tau", "0.5,x", "'x'"),
        (TEXT, "--sample-tau", "1,-2", "--sample-tau"),
        (("generate",), "--tau", "0.5,x", "'x'"),
        (("generate",), "--tau", "1,-2", "--tau"),
        (("generate",), "--temperature", "nan", "--tau"),
        (("generate",), "--length", "-3", "--length"),
        (("generate",), "--prefix", "", "--prefix"),
        (("generate",), "--num-samples", "0", "--num-samples"),
    ],
)
def test_numeric_flags_are_checked_for_nan_infinity_and_sign(here, base, flag, value, word):
    fails_cleanly(here, (*base, flag, value), word)


def test_max_norm_zero_is_accepted():
    # the flag's help and the README say 0 disables clipping; that training then moves the
    # weights, unclipped, is test_trainer_weights.py's
    TrainConfig(max_norm=0.0).validate()
