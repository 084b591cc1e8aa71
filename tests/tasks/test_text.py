import pytest
import torch

from sgtk.data.text import TextData, Vocab, read_text
from sgtk.errors import SgtkError
from sgtk.inference.generate import load_char_model
from sgtk.models.charlm import CharLSTM
from sgtk.models.sampling import beam_search, sample
from tests.helpers import assert_one_line_error, invoke, last_json

TEXT = "the quick brown fox jumps over the lazy dog. " * 40


def test_vocab_is_sorted_and_stable():
    a = Vocab.from_text("hello world")
    b = Vocab.from_text("world hello")
    assert a == b and a.chars == " dehlorw"
    assert a.decode(a.encode("hello")) == "hello"


def test_splits_are_contiguous_disjoint_90_5_5():
    text = "".join(chr(ord("a") + i % 26) for i in range(1000))
    data = TextData(text, seq_length=8)
    ids = data.vocab.encode(text)
    assert (len(data.train), len(data.val), len(data.test)) == (900, 50, 50)
    # Concatenated in order they are the text exactly: no character twice, none missing.
    assert torch.equal(torch.cat([data.train, data.val, data.test]), ids)
    assert torch.equal(data.splits["heldout"], torch.cat([data.val, data.test]))
    assert data.bounds["val"] == (900, 950) and data.bounds["test"] == (950, 1000)


def test_eval_windows_tile_their_split_in_multiples_of_16():
    data = TextData(TEXT, seq_length=4)
    inputs, targets = data.eval_windows("test")
    assert len(inputs) % 16 == 0 and len(inputs) * 4 <= len(data.test) - 1
    flat = data.test[: len(inputs) * 4 + 1]
    assert torch.equal(inputs.reshape(-1), flat[:-1]) and torch.equal(targets.reshape(-1), flat[1:])
    assert len(data.eval_windows("val", max_chars=16 * 4)[0]) == 16


def test_text_errors(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    binary = tmp_path / "bin.dat"
    binary.write_bytes(b"\x00\x01\x02abc")
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    for path, word in ((empty, "empty"), (binary, "binary"), (latin, "UTF-8")):
        with pytest.raises(SgtkError, match=word):
            read_text(path)
    with pytest.raises(SgtkError, match="too few"):
        TextData("abcdef", seq_length=64)


def _model():
    torch.manual_seed(0)
    vocab = Vocab.from_text(TEXT)
    return CharLSTM(len(vocab), hidden=32, layers=2, embed=8).eval(), vocab


def test_incremental_state_gives_the_same_logits_as_recomputing():
    model, vocab = _model()
    ids = vocab.encode("the lazy dog jumps")[None]
    full, _ = model.forward_tokens(ids)
    logits, state = model.forward_tokens(ids[:, :5])
    steps = [logits[:, -1]]
    step = model.stepper()
    for t in range(5, ids.shape[1]):
        logits, state = step(ids[:, t], state)
        steps.append(logits)
    assert torch.allclose(torch.stack(steps, 1), full[:, 4:], atol=1e-6)


def test_low_temperature_is_greedy_and_seeds_repeat():
    model, vocab = _model()
    greedy = sample(model, vocab, "the ", 40, greedy=True)[0]
    assert sample(model, vocab, "the ", 40, tau=1e-6, seed=1)[0] == greedy
    a = sample(model, vocab, "the ", 40, tau=1.5, seed=7, num_samples=3)
    assert a == sample(model, vocab, "the ", 40, tau=1.5, seed=7, num_samples=3)
    assert len(set(a)) > 1
    assert all(set(t) <= set(vocab.chars) for t in a)
    assert len(beam_search(model, vocab, "the ", 20, beam=4)) == 20


def test_pretrained_model_ships_and_generates():
    model, vocab, source = load_char_model()
    assert source.endswith("charlm-tinyshakespeare.pt")
    text = sample(model, vocab, "I am your", 50, tau=2.0, seed=0)[0]
    assert len(text) == 50


def test_generate_cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no runs/ here: the pretrained model answers
    r = invoke("generate", "--prefix", "I am your", "--tau", 2, "--length", 30, "--seed", 1)
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("I am your") and len(r.stdout.strip()) >= 30
    assert_one_line_error(invoke("generate", "--tau", 0), "tau")
    assert_one_line_error(
        invoke("generate", "--prefix", "I am \u2603\u00e6"), "vocabulary", "'\u2603'"
    )


def test_train_text_and_generate_from_the_run(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT)
    monkeypatch.chdir(tmp_path)
    r = invoke(
        "train",
        "text",
        "--data",
        corpus,
        "--steps",
        30,
        "--seq-length",
        16,
        "--hidden",
        32,
        "--batch-size",
        8,
        "--eval-every",
        10,
        "--out",
        "runs/t",
        "--json",
    )
    result = last_json(r)
    assert {"val_loss", "val_bpc", "steps", "seconds", "run_dir"} <= result.keys()
    assert result["val_loss"] < torch.log(torch.tensor(float(len(set(TEXT))))).item()
    assert "sample" in (tmp_path / "runs/t/metrics.jsonl").read_text()
    g = invoke("generate", "--prefix", "the", "--length", 10, "--seed", 0, "--checkpoint", "runs/t")
    assert g.exit_code == 0 and "runs/t" in g.output
    bad = invoke("generate", "--prefix", "THE", "--checkpoint", "runs/t")
    assert_one_line_error(bad, "'E'", "'H'", "'T'")


@pytest.mark.parametrize(
    "content,word",
    [
        (b"", "empty"),
        (b"\x00\xff", "binary"),
        ("\xe9t\xe9".encode("latin-1"), "UTF-8"),
        (b"too short for a window", "too few"),
    ],
)
def test_train_text_bad_files(tmp_path, content, word):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    r = invoke("train", "text", "--data", path, "--steps", 5, "--out", tmp_path / "r")
    assert_one_line_error(r, word)
    assert not (tmp_path / "r").exists()


def test_export_makes_a_small_loadable_model(tmp_path, monkeypatch):
    from sgtk.inference.generate import export_char_model

    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT)
    monkeypatch.chdir(tmp_path)
    assert (
        invoke(
            "train",
            "text",
            "--data",
            corpus,
            "--steps",
            5,
            "--hidden",
            16,
            "--seq-length",
            8,
            "--out",
            "runs/t",
        ).exit_code
        == 0
    )
    dest = export_char_model("runs/t", tmp_path / "small.pt")
    model, vocab, _ = load_char_model(dest)
    assert vocab.chars == Vocab.from_text(TEXT).chars
    assert len(sample(model, vocab, "the", 5, seed=0)[0]) == 5


def _task(**kw):
    from sgtk.tasks.text import TextConfig, TextTask

    text = "".join(chr(ord("a") + (i * 7) % 13) for i in range(20000))
    return TextTask(TextConfig(seq_length=8, hidden=16, embed=4, **kw), text=text)


def test_cold_evaluation_reads_each_window_alone_for_every_model():
    task = _task()
    model = task.build_model().eval()
    total, count = task.split_loss(model, torch.device("cpu"), "val")
    inputs, targets = task.data.eval_windows("val")
    logits, _ = model.forward_tokens(inputs)  # a fresh state per window
    expected = torch.nn.functional.cross_entropy(
        logits.flatten(0, 1), targets.reshape(-1), reduction="sum"
    )
    assert count == targets.numel() and abs(total - expected.item()) < 1e-3


def test_carried_state_reads_the_same_windows_as_16_streams():
    task = _task(carry_state=True)
    model = task.build_model().eval()
    total, count = task.split_loss(model, torch.device("cpu"), "val")
    inputs, targets = task.data.eval_windows("val")
    streams = inputs.reshape(16, -1)  # stream s: consecutive windows, read as one sequence
    logits, _ = model.forward_tokens(streams)
    expected = torch.nn.functional.cross_entropy(
        logits.flatten(0, 1), targets.reshape(16, -1).reshape(-1), reduction="sum"
    )
    assert count == targets.numel() and abs(total - expected.item()) < 1e-3
    cold, _ = _task().split_loss(model, torch.device("cpu"), "val")
    assert abs(cold - total) > 1e-3  # carrying really changes what the model sees


def test_report_gives_test_and_heldout_and_evaluate_only_val():
    task = _task()
    model = task.build_model().eval()
    assert set(task.evaluate(model, torch.device("cpu"))) == {"val_loss", "val_bpc"}
    report = task.report(model, torch.device("cpu"))
    assert set(report) == {"test_loss", "test_bpc", "heldout_loss", "heldout_bpc"}
    val, n_val = task.split_loss(model, torch.device("cpu"), "val")
    test, n_test = task.split_loss(model, torch.device("cpu"), "test")
    assert report["test_loss"] == round(test / n_test, 4)
    assert report["heldout_loss"] == round((val + test) / (n_val + n_test), 4)


def test_carry_state_needs_a_recurrent_model():
    with pytest.raises(SgtkError, match="carry_state needs a recurrent model"):
        _task(carry_state=True, model="gcn")


def test_a_gzipped_corpus_trains_and_generates(tmp_path, monkeypatch):
    import gzip

    (tmp_path / "corpus.txt.gz").write_bytes(gzip.compress(TEXT.encode()))
    monkeypatch.chdir(tmp_path)
    args = ("--steps", 3, "--seq-length", 8, "--hidden", 16, "--eval-every", 3, "--json")
    result = last_json(invoke("train", "text", "--data", "corpus.txt.gz", "--out", "g", *args))
    assert result["test_loss"] > 0
    g = invoke("generate", "--checkpoint", "g", "--prefix", "the", "--length", 5, "--seed", 0)
    assert g.exit_code == 0 and g.stdout.startswith("the") and len(g.stdout.strip()) == 8
