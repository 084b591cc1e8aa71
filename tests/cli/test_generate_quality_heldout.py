"""`sgtk generate --quality` prints the held-out loss two ways: nanoGPT's 256-character
windows from a zero state, and the carried state `heldout_loss` reports (issue 32)."""

import random
import re

import pytest

from sgtk.inference.generate import load_text
from tests.helpers import invoke, last_json

WORDS = ["king", "queen", "lord", "sword", "crown", "night", "day", "love", "death", "fair"]
ROW = r"{}[^\n]*?│\s+(\d+\.\d+)\s+│"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny LSTM trained with truncated BPTT and scored with its state carried."""
    root = tmp_path_factory.mktemp("heldout")
    rng = random.Random(0)
    corpus = root / "words.txt"
    corpus.write_text(" ".join(rng.choice(WORDS) for _ in range(1500)) + "\n")
    result = invoke("train", "text", "--data", corpus, "--hidden", "16", "--layers", "1",
                    "--embed", "8", "--seq-length", "16", "--carry-state", "--steps", "40",
                    "--batch-size", "8", "--lr", "0.02", "--eval-every", "40",
                    "--sample-count", "0", "--out", root / "run", "--json")  # fmt: skip
    return corpus, root / "run", last_json(result)


def _quality(corpus, run_dir):
    result = invoke("generate", "--checkpoint", run_dir, "--quality", corpus, "--tau", "1",
                    "--length", "100", "--num-samples", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output


def test_quality_prints_the_window_and_the_carried_held_out_loss(run):
    corpus, run_dir, report = run
    output = _quality(corpus, run_dir).replace("\n", " ")
    window = float(re.search(ROW.format("zero state"), output).group(1))
    carried = float(re.search(ROW.format("carried"), output).group(1))
    lm, _ = load_text(run_dir)
    losses = lm.heldout_losses(corpus.read_text())
    assert window == pytest.approx(losses["window_loss"], abs=5e-5)
    # the carried figure is the run's own heldout_loss (carry_state), the same protocol
    assert carried == pytest.approx(report["heldout_loss"], abs=5e-5)
    # on a text of words, context before a window matters: the two readings differ
    assert abs(window - carried) > 1e-3


def test_quality_on_another_text_says_why_it_has_no_held_out_loss(run, tmp_path):
    _, run_dir, _ = run
    other = tmp_path / "other.txt"
    other.write_text("the king is dead; long live the king\n" * 3)
    output = _quality(other, run_dir)
    assert "found" in output  # word validity holds on any text
    assert "held-out loss not computed" in output and "not the text the model was trained" in output
    assert "zero state" not in output
