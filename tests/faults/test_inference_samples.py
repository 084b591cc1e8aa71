"""Issue 27 item 11: a ``samples.md`` heading of an unexpected form (edited by hand, or torn) is
kept as text on resume, never a traceback; the blocks of the resumed step and later are still
replaced, and the earlier ones kept."""

import torch

from sgtk.data.text import Vocab
from sgtk.models.charlm import CharLSTM
from sgtk.tasks.text_samples import SampleWriter


class _Cfg:
    sample_length, sample_count, sample_tau = 6, 1, [1.0]


def test_a_malformed_step_heading_in_samples_md_does_not_stop_a_resume(tmp_path):
    torch.manual_seed(0)
    vocab = Vocab.from_text("abc de")
    model = CharLSTM(len(vocab), hidden=8, layers=1, embed=4).eval()
    path = tmp_path / "samples.md"
    odd = ["## step", "## step ten · τ = 1", "## step ² · τ = 1", "## step 5x"]
    path.write_text(
        "# Samples\n\n## step 10 · τ = 1\n\n~~~~\nold ten\n~~~~\n\n"
        + "".join(f"{h}\n\n~~~~\nkept\n~~~~\n\n" for h in odd)
        + "## step 30 · τ = 1\n\n~~~~\nold thirty\n~~~~\n\n"
    )
    SampleWriter(path).maybe_write(model, vocab, 30, _Cfg, "cpu")  # resumed at step 30
    text = path.read_text()
    assert "old ten" in text and all(h in text for h in odd)  # nothing earlier is lost
    assert "old thirty" not in text and text.count("## step 30 ") == 1
