import pytest
import torch

from sgtk.data.text import Vocab
from sgtk.errors import SgtkError
from sgtk.models.charlm import CharLSTM
from sgtk.models.sampling import first_characters, parse_taus, sample
from sgtk.tasks.text_samples import SampleWriter
from tests.helpers import assert_one_line_error, invoke

TEXT = "the quick brown fox jumps over the lazy dog. " * 40


def _model(counts=None):
    torch.manual_seed(0)
    chars = Vocab.from_text(TEXT).chars
    return CharLSTM(len(chars), hidden=16, layers=1, embed=4).eval(), Vocab(chars, counts)


def test_tau_lists_parse_and_bad_items_are_named():
    assert parse_taus("0.5,1,2") == [0.5, 1.0, 2.0]
    for bad, word in (("0.5,x", "'x'"), ("1,-2", "-2"), ("nan", "nan"), ("1,", "''")):
        with pytest.raises(SgtkError, match=word):
            parse_taus(bad)


def test_first_character_follows_the_training_distribution():
    model, vocab = _model()
    counts = [0] * len(vocab)
    counts[vocab.chars.index("q")] = 5
    g = torch.Generator().manual_seed(0)
    assert set(first_characters(Vocab(vocab.chars, counts), 50, g)) == {"q"}
    uniform = first_characters(vocab, 400, g)  # no counts (the pretrained model): uniform
    assert len(set(uniform)) == len(vocab)


def test_sampling_without_a_prefix_starts_from_the_drawn_character():
    counts = [0] * len(Vocab.from_text(TEXT))
    model, vocab = _model()
    counts[vocab.chars.index("z")] = 1
    texts = sample(model, Vocab(vocab.chars, counts), None, 10, seed=3, num_samples=4)
    assert all(len(t) == 11 and t[0] == "z" for t in texts)


class _Cfg:
    sample_length, sample_count, sample_tau = 12, 2, [0.5, 2.0]


def test_samples_md_has_a_block_per_step_and_tau_and_resume_drops_later_ones(tmp_path):
    model, vocab = _model()
    path = tmp_path / "samples.md"
    writer = SampleWriter(path)
    for step in (10, 20, 30):
        writer.maybe_write(model, vocab, step, _Cfg, "cpu")
    heads = [line for line in path.read_text().splitlines() if line.startswith("## ")]
    assert heads == [f"## step {s} · τ = {t}" for s in (10, 20, 30) for t in ("0.5", "2")]
    # A run resumed from step 20 evaluates 30 again: the old block 30 must not stay twice.
    SampleWriter(path).maybe_write(model, vocab, 30, _Cfg, "cpu")
    again = [line for line in path.read_text().splitlines() if line.startswith("## ")]
    assert again == heads


def test_sample_every_skips_evaluations_between_multiples():
    model, vocab = _model()
    writer = SampleWriter(None, every=25)
    written = [
        s for s in (10, 20, 30, 40, 50, 60) if writer.maybe_write(model, vocab, s, _Cfg, "cpu")
    ]
    assert written == [30, 50]


def test_generate_prints_one_block_per_tau_with_one_seed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no runs/ here: the pretrained model answers
    args = ("generate", "--prefix", "KING", "--length", 40, "--seed", 5)
    r = invoke(*args, "--tau", "0.5,1,2")
    assert r.exit_code == 0, r.output
    blocks = [b for b in r.stdout.split("τ = ")[1:]]
    assert [b.split()[0] for b in blocks] == ["0.5", "1", "2"]
    one = invoke(*args, "--temperature", "2")  # the alias, one tau: streamed, no heading
    assert one.exit_code == 0 and one.stdout.strip() in blocks[2]
    free = invoke("generate", "--length", 30, "--seed", 1)  # no prefix: a random start
    assert free.exit_code == 0 and len(free.stdout.strip()) >= 20


@pytest.mark.parametrize("tau", ["0.5,x", "1,-2", "inf", ""])
def test_generate_bad_tau_list_is_one_line(tau):
    assert_one_line_error(invoke("generate", "--tau", tau), "--tau")


def test_generate_from_an_export_equals_generate_from_its_run(tmp_path, shared_data):
    run, export = tmp_path / "T", tmp_path / "E"
    text = ("--data", shared_data / "tinyshakespeare.txt", "--hidden", 16, "--embed", 8)
    r = invoke("train", "text", *text, "--steps", 3, "--eval-every", 3, "--out", run)
    assert r.exit_code == 0, r.output
    assert invoke("export", run, "--out", export).exit_code == 0
    args = ("--prefix", "I am", "--length", 40, "--seed", 3)
    from_run = invoke("generate", "--checkpoint", run, *args)
    for source in (export, export / "model.safetensors"):
        from_export = invoke("generate", "--checkpoint", source, *args)
        assert from_export.exit_code == 0, from_export.output
        assert from_export.stdout == from_run.stdout
