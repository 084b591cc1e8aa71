"""`sgtk generate --checkpoint RUN` on every kind of text model, through the real CLI: a GRU
(carried state), a GCN (sliding window over the path graph), a transformer (sliding window,
complete causal graph); with no --checkpoint, the pretrained model, said on stderr."""

import shutil
from pathlib import Path

import pytest

from sgtk.inference.generate import PRETRAINED
from tests.helpers import invoke

TEXT = "the quick brown fox jumps over the lazy dog. " * 40
MODELS = ("gru", "gcn", "transformer")


@pytest.fixture(scope="module")
def text_runs(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("generate")
    (tmp / "c.txt").write_text(TEXT)
    for model in MODELS:
        r = invoke("train", "text", "--data", tmp / "c.txt", "--model", model, "--steps", 3,
                   "--hidden", 16, "--layers", 2, "--seq-length", 8, "--batch-size", 4,
                   "--eval-every", 3, "--out", tmp / model)  # fmt: skip
        assert r.exit_code == 0, r.output
    return tmp


@pytest.mark.parametrize("model", MODELS)
def test_generate_samples_from_a_gru_a_gcn_and_a_transformer_run(text_runs, model):
    run = text_runs / model
    args = ("generate", "--checkpoint", run, "--prefix", "the ", "--length", 30, "--seed", 2)
    r = invoke(*args)
    assert r.exit_code == 0, r.output
    text = r.stdout.strip()
    assert text.startswith("the ") and len(text) == 34 and set(text) <= set(TEXT)
    assert invoke(*args).stdout == r.stdout  # seeded: the same text again
    beam = invoke("generate", "--checkpoint", run, "--prefix", "the ", "--length", 12,
                  "--beam", 3, "--num-samples", 2)  # fmt: skip
    assert beam.exit_code == 0 and beam.stdout.count("the ") >= 2, beam.output


def test_generate_from_an_export_of_a_window_model_equals_its_run(text_runs, tmp_path):
    run = text_runs / "transformer"
    e = invoke("export", run, "--out", tmp_path / "e")
    assert e.exit_code == 0 and "README.md" in e.stdout, e.output
    args = ("--prefix", "fox ", "--length", 20, "--seed", 0, "--num-samples", 2)
    a = invoke("generate", "--checkpoint", run, *args)
    b = invoke("generate", "--checkpoint", tmp_path / "e", *args)
    assert a.exit_code == 0 and a.stdout == b.stdout, (a.output, b.output)


def test_generate_without_checkpoint_uses_the_pretrained_model_not_the_newest_run(
    text_runs, tmp_path, monkeypatch
):
    shutil.copytree(text_runs / "gru", tmp_path / "runs" / "newest")  # a fresh text run
    monkeypatch.chdir(tmp_path)
    args = ("--prefix", "KING", "--length", 20, "--seed", 4)
    r = invoke("generate", *args)
    assert r.exit_code == 0, r.output
    said = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(said) == 1 and "pretrained" in said[0] and str(PRETRAINED) in said[0], r.stderr
    assert r.stdout == invoke("generate", "--checkpoint", PRETRAINED, *args).stdout


def test_export_char_model_needs_a_destination():
    import inspect

    from sgtk.inference.generate import export_char_model

    dest = inspect.signature(export_char_model).parameters["dest"]
    assert dest.default is inspect.Parameter.empty  # no default path inside the package
