"""The Trainer's policy hooks: a task's own callbacks get the run folder (no side channel), a
fresh run is fitted to its budget before the optimiser is built (text: the throughput probe,
from Python as from the CLI), and best.pt records what rebuilds the model."""

import json
import sys

import pytest

from sgtk.tasks import text_budget
from sgtk.tasks.text import TextConfig, TextTask
from sgtk.train.callbacks import Callback
from sgtk.train.config import read_toml
from sgtk.train.run_dir import read_best
from sgtk.train.trainer import TrainConfig, Trainer
from tests.train.test_trainer import ToyTask


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_eval(self, step, record):
        self.events.append(step)


class ToyWithHooks(ToyTask):
    def __init__(self, batch_after_fit=None):
        super().__init__()
        self.folders, self.recorder = [], Recorder()
        self.batch_after_fit, self.fits = batch_after_fit, []

    def callbacks(self, run_dir):
        self.folders.append(run_dir)
        return [self.recorder]

    def fit_to_budget(self, config, given=frozenset()):
        self.fits.append((config.batch_size, set(given)))
        if self.batch_after_fit is None or "batch_size" in given:
            return config, ""
        fitted = TrainConfig(**{**vars(config), "batch_size": self.batch_after_fit})
        return fitted, f"probe: batch {self.batch_after_fit}"


def test_a_tasks_callbacks_get_the_run_folder_and_every_evaluation(tmp_path):
    task = ToyWithHooks()
    Trainer(task, TrainConfig(steps=20, eval_every=10, lr=0.05), tmp_path, progress=False).fit()
    assert task.folders == [tmp_path] and task.recorder.events == [10, 20]
    assert not hasattr(task, "run_dir")  # the side channel is gone


def test_a_fresh_run_trains_with_the_budget_fit_and_says_so(tmp_path, capsys):
    task = ToyWithHooks(batch_after_fit=5)
    trainer = Trainer(task, TrainConfig(steps=4, eval_every=2, batch_size=32), tmp_path / "r")
    trainer.fit()
    assert task.fits == [(32, set())]
    assert trainer.batch_size == 5 and trainer.config.batch_size == 5
    assert read_toml(tmp_path / "r" / "config.toml")["train"]["batch_size"] == 5
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["train_config"]["batch_size"] == 5
    assert "probe: batch 5" in capsys.readouterr().err


def test_keys_the_user_gave_reach_the_fit_and_a_resume_is_never_refitted(tmp_path):
    task = ToyWithHooks(batch_after_fit=5)
    config = TrainConfig(steps=4, eval_every=2, batch_size=32)
    given = frozenset({"batch_size"})
    Trainer(task, config, tmp_path, progress=False, given=given).fit()
    assert task.fits == [(32, {"batch_size"})]
    resumed = ToyWithHooks(batch_after_fit=5)
    more = TrainConfig(steps=6, eval_every=2, batch_size=32)
    trainer = Trainer(resumed, more, tmp_path, progress=False)
    trainer.fit(resume=True)
    assert resumed.fits == [] and trainer.batch_size == 32


def test_best_pt_records_the_tasks_model_config_from_python(tmp_path):
    task = ToyTask()
    task.model_config = lambda: {"model": "linear", "width": 4}
    Trainer(task, TrainConfig(steps=10, eval_every=5), tmp_path, progress=False).fit()
    config = read_best(tmp_path)["config"]
    assert config["model"] == "linear" and config["width"] == 4


CORPUS = "".join(chr(97 + (i * 7) % 13) for i in range(20000))


def test_a_text_trainer_from_python_probes_its_budget_as_the_cli_does(tmp_path, monkeypatch):
    def step_seconds(vocab, hidden, layers, embed, batch, seq, config):  # a fake, fast CPU
        return 0.005 + batch * text_budget.multiply_adds(vocab, hidden, layers, embed) * 1e-8 / 32

    monkeypatch.setattr(text_budget, "step_seconds", step_seconds)
    cfg = TextConfig(seq_length=8, sample_length=0, embed=8, layers=1)
    task = TextTask(cfg, text=CORPUS)
    train = TrainConfig(max_time=60.0, steps=2, eval_every=1, device="cpu")
    trainer = Trainer(task, train, tmp_path / "r", progress=False)
    trainer.fit()
    record = read_toml(tmp_path / "r" / "config.toml")
    assert record["task"]["fit_budget"] is False and "probe:" in record["task"]["fitted"]
    assert record["task"]["hidden"] == cfg.hidden and cfg.hidden in text_budget.HIDDEN_SIZES
    assert record["train"]["max_time"] == trainer.config.max_time <= 60.0
    assert read_best(tmp_path / "r")["config"]["hidden"] == cfg.hidden  # the fitted size
    assert train.max_time == 60.0  # the caller's config is not changed under it


def test_a_text_run_writes_samples_md_through_its_callback(tmp_path):
    cfg = TextConfig(seq_length=8, hidden=16, embed=8, layers=1, sample_length=5, sample_count=1)
    task = TextTask(cfg, text=CORPUS)
    Trainer(task, TrainConfig(steps=4, eval_every=2), tmp_path, progress=False).fit()
    heads = [x for x in (tmp_path / "samples.md").read_text().splitlines() if x.startswith("## ")]
    assert [h.split(" · ")[0] for h in heads] == ["## step 2"] * 3 + ["## step 4"] * 3


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_a_text_task_outside_a_run_writes_no_samples_md(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = TextConfig(seq_length=8, hidden=16, embed=8, layers=1, sample_length=5, sample_count=1)
    task = TextTask(cfg, text=CORPUS)
    record = task.on_eval(task.build_model(), "cpu", 2)
    assert len(record["sample"]) == 6 and list(tmp_path.iterdir()) == []
