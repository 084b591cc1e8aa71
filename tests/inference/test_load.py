"""`sgtk.load`: a run folder or an export of every task, opened for use from Python."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import sgtk
from sgtk.errors import SgtkError
from sgtk.inference.export import export_run
from sgtk.inference.generate import LoadedText
from sgtk.inference.loaded import LoadedPalindrome
from sgtk.inference.predict import MoleculePredictor
from sgtk.tasks.molecules import MoleculeConfig, MoleculeTask
from sgtk.tasks.palindrome import PalindromeConfig, PalindromeTask
from sgtk.tasks.text import TextConfig, TextTask
from sgtk.train.trainer import TrainConfig, Trainer

TEXT = "the quick brown fox jumps over the lazy dog. " * 40
ROOT = Path(__file__).resolve().parents[2]


def _train(task, cfg, out: Path, steps: int = 4) -> dict:
    # The model config in best.pt, as `sgtk train` records it.
    extra = {**(task.model_config() if hasattr(task, "model_config") else {"model": cfg.model}),
             "task_config": vars(cfg)}  # fmt: skip
    train = TrainConfig(steps=steps, batch_size=16, eval_every=steps, seed=0)
    return Trainer(task, train, out, extra_config=extra, progress=False).fit()


@pytest.fixture(scope="module")
def runs(tmp_path_factory, shared_data) -> dict[str, tuple[Path, dict]]:
    tmp = tmp_path_factory.mktemp("load")
    (tmp / "t.txt").write_text(TEXT)
    pal = PalindromeConfig(model="gcn", length=5, hidden=16, layers=3)
    text = TextConfig(model="gcn", data=str(tmp / "t.txt"), hidden=16, layers=2, embed=8,
                      seq_length=8, fit_budget=False, sample_count=0)  # fmt: skip
    mol = MoleculeConfig(model="gcn", data=str(shared_data / "freesolv.csv"), target_col="expt",
                         root=str(tmp / "data"), hidden=16, layers=2, embed=8)  # fmt: skip
    out = {}
    for name, cfg, cls in (("palindrome", pal, PalindromeTask), ("text", text, TextTask),
                           ("molecules", mol, MoleculeTask)):  # fmt: skip
        task = cls(cfg)
        out[name] = (tmp / name, _train(task, cfg, tmp / name), task)
        export_run(tmp / name, tmp / f"{name}-export")
    return out


def test_load_opens_a_run_and_its_export_of_every_task(runs):
    kinds = {"palindrome": LoadedPalindrome, "text": LoadedText, "molecules": MoleculePredictor}
    for name, (run, _, _) in runs.items():
        for path in (run, run.parent / f"{name}-export", run / "best.pt"):
            loaded = sgtk.load(path)
            assert type(loaded) is kinds[name] and loaded.task_name == name
            assert loaded.model_name == "gcn" and not loaded.model.training


def test_a_loaded_palindrome_model_reproduces_its_run_s_test_accuracy(runs):
    run, result, task = runs["palindrome"]
    loaded = sgtk.load(run.parent / "palindrome-export")
    assert loaded.evaluate("test")["test_accuracy"] == pytest.approx(result["test_accuracy"])
    digits = task.data.eval_digits("test")[:50]
    probs = loaded.probabilities(digits[:, :-1])
    assert probs.shape == (50, 10)
    assert loaded.predict(["".join(map(str, r)) for r in digits[:, :-1].tolist()]) == (
        probs.argmax(-1).tolist()
    )
    with pytest.raises(SgtkError, match="reads 4 digits"):
        loaded.predict(["12345"])


def test_a_loaded_text_model_samples_the_same_from_run_and_export(runs):
    run, result, _ = runs["text"]
    a, b = sgtk.load(run), sgtk.load(run.parent / "text-export")
    assert a.context == 8  # the run's seq_length: the window a GCN reads
    assert a.sample("the ", 20, seed=3, num_samples=2) == b.sample(
        "the ", 20, seed=3, num_samples=2
    )
    assert a.sample("the ", 20, seed=3)[0].startswith("the ")
    assert a.beam("the ", 5, beam=3, count=2)[0].startswith("the ")
    assert a.evaluate(TEXT)["bpc"] > 0


def test_a_loaded_molecule_model_predicts_the_same_from_run_and_export(runs):
    run, _, task = runs["molecules"]
    smiles = task.mols.smiles[:10]
    from_run = [p.value for p in sgtk.load(run).predict(smiles)]
    assert from_run == [p.value for p in sgtk.load(run.parent / "molecules-export").predict(smiles)]


def test_an_export_is_weights_config_and_a_model_card(runs):
    run, result, _ = runs["text"]
    export = run.parent / "text-export"
    assert sorted(p.name for p in export.iterdir()) == ["README.md", "config.json",
                                                       "model.safetensors"]  # fmt: skip
    meta = json.loads((export / "config.json").read_text())
    assert meta["task"] == "text" and meta["format"] == 2 and meta["sgtk"] == sgtk.__version__
    assert meta["config"]["vocab"] and meta["config"]["task_config"]["seq_length"] == 8
    card = (export / "README.md").read_text()
    sha = json.loads((run / "manifest.json").read_text())["fingerprint"]["sha256"]
    for words in ("text", "gcn", "hidden 16", sha[:12], "test_bpc", f"{result['test_bpc']:.4g}"):
        assert words in card, card


def test_an_export_of_the_first_format_still_loads(runs, tmp_path):
    """Format 1 (sgtk 0.2 before the model card): config.json with task and config only."""
    run, _, task = runs["molecules"]
    export = run.parent / "molecules-export"
    old = tmp_path / "old"
    old.mkdir()
    (old / "model.safetensors").write_bytes((export / "model.safetensors").read_bytes())
    meta = json.loads((export / "config.json").read_text())
    (old / "config.json").write_text(json.dumps({"format": 1, "task": meta["task"],
                                                 "config": meta["config"]}))  # fmt: skip
    smiles = task.mols.smiles[:5]
    assert [p.value for p in sgtk.load(old).predict(smiles)] == [
        p.value for p in sgtk.load(export).predict(smiles)
    ]
    (old / "config.json").write_text(json.dumps({**meta, "format": 99}))
    with pytest.raises(SgtkError, match="newer than this sgtk"):
        sgtk.load(old)


def test_a_best_pt_without_a_model_config_loads_from_its_run_s_manifest(tmp_path):
    """best.pt of a run trained from Python before the Trainer recorded the model config."""
    from sgtk.train.checkpoint import load_checkpoint, save_checkpoint

    cfg = PalindromeConfig(model="gru", length=5, hidden=8)
    train = TrainConfig(steps=2, batch_size=8, eval_every=2)
    Trainer(PalindromeTask(cfg), train, tmp_path / "r", progress=False).fit()
    best = load_checkpoint(tmp_path / "r" / "best.pt")
    save_checkpoint({**best, "config": {}}, tmp_path / "r" / "best.pt")
    loaded = sgtk.load(tmp_path / "r")
    assert loaded.model_name == "gru" and len(loaded.predict(["1234"])) == 1


def test_main_classes_come_from_the_top_level_and_import_sgtk_imports_no_torch():
    code = (
        "import sys, sgtk; assert 'torch' not in sys.modules, 'torch at import'; "
        "names = ('load', 'Trainer', 'TrainConfig', 'TextTask', 'TextConfig', 'PalindromeTask', "
        "'PalindromeConfig', 'MoleculeTask', 'MoleculeConfig', 'SgtkError', 'Loaded'); "
        "assert all(getattr(sgtk, n) for n in names); print(sgtk.load.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "sgtk.inference.load", out.stderr
    with pytest.raises(AttributeError, match="no attribute 'nonesuch'"):
        sgtk.nonesuch  # noqa: B018


def test_inference_reads_checkpoints_only_through_the_run_folder_module():
    """generate, predict and export read best.pt with run_dir.read_best (weights_only, checked),
    never with torch.load or load_checkpoint of their own."""
    for path in (ROOT / "sgtk" / "inference").glob("*.py"):
        source = path.read_text()
        for call in ("torch.load(", "load_checkpoint("):
            assert call not in source, f"{path.name} calls {call}"
    assert "read_best(" in (ROOT / "sgtk" / "inference" / "model_files.py").read_text()
