"""``sgtk.train.task.Task``'s defaults (kills its mutants: the generated-data fingerprint,
the model config, a fit that changes nothing, the neutral hooks, and ``better`` in each
mode, a first value always better)."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import torch

from sgtk.train.task import Task
from sgtk.train.train_config import TrainConfig


class _Bare(Task):
    name = "bare"
    metric = "val_acc"

    def build_model(self):
        return torch.nn.Linear(1, 1)

    def train_batch(self, batch_size, generator, device):
        raise NotImplementedError

    def loss(self, model, batch):
        raise NotImplementedError

    def evaluate(self, model, device):
        return {}


@dataclass
class _Config:
    length: int = 5
    model: str | None = "gru"


def test_the_default_fingerprint_is_the_generated_config():
    task = _Bare()
    assert task.fingerprint() == {"generated": "bare"}
    task.config = _Config()
    assert task.fingerprint() == {"generated": "bare", "length": 5, "model": "gru"}


def test_the_model_config_is_the_configs_model():
    task = _Bare()
    assert task.model_config() == {}
    task.config = _Config(model=None)
    assert task.model_config() == {}
    task.config = SimpleNamespace(model="lstm")
    assert task.model_config() == {"model": "lstm"}


def test_the_default_hooks_change_nothing():
    task, cpu = _Bare(), torch.device("cpu")
    config = TrainConfig()
    assert task.fit_to_budget(config, {"lr"}) == (config, "")
    assert task.fit_to_budget(config)[0] is config
    assert task.callbacks(None) == [] and task.report(None, cpu) == {}
    assert task.on_eval(None, cpu, 1) == {} and task.eligible({}) is True
    assert task.after_eval({}) is None and task.state_dict() == {}
    assert task.load_state_dict({"a": 1}) is None and task.check_memory(8) is None
    assert task.mode == "max"


def test_better_in_each_mode():
    task = _Bare()
    assert task.better(0.5, None) and task.better(0.6, 0.5)
    assert not task.better(0.5, 0.5) and not task.better(0.4, 0.5)
    task.mode = "min"
    assert task.better(0.4, 0.5) and task.better(9.0, None)
    assert not task.better(0.5, 0.5) and not task.better(0.6, 0.5)
