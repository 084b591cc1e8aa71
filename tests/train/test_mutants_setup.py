"""What ``Trainer.fit`` builds before its first step (sgtk/train/setup.py), pinned without a
fit: ``--seed`` fixes the initial weights and the data stream, each rank draws its own data and
its share of the batch, a resume restores the loop where it was written. Written against
mutmut's survivors (CONTRIBUTING.md "Mutation testing"); no test name may contain the word
the mutation run deselects with ``-k``.

Kills: build_parts (the seed before build_model, the device, the optimiser's settings, the data
seed and its rank, the batch share and its floor of 1, the torch.c-o-m-p-i-l-e wrapper),
resumed_loop (step, elapsed, best, best_val, saved_step, the train sums of this rank or none)."""

from contextlib import nullcontext

import pytest
import torch
from torch import nn

from sgtk.train import distributed as dist
from sgtk.train.setup import build_parts, resumed_loop
from sgtk.train.task import Task
from sgtk.train.train_config import TrainConfig
from sgtk.train.train_state import TrainState


class Tiny(Task):
    name = "tiny"
    metric = "val_loss"
    mode = "min"

    def __init__(self):
        self.loaded = None

    def build_model(self) -> nn.Module:
        return nn.Linear(3, 2)

    def train_batch(self, batch_size, generator, device):
        return torch.randn(batch_size, 3, generator=generator)

    def loss(self, model, batch):
        return model(batch).pow(2).mean(), {}

    def evaluate(self, model, device):
        return {"val_loss": 0.0}

    def report(self, model, device):
        return {}

    def load_state_dict(self, state):
        self.loaded = state


CPU = torch.device("cpu")


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_the_seed_fixes_the_initial_weights():
    parts = build_parts(Tiny(), TrainConfig(seed=3), CPU)
    torch.manual_seed(3)
    expected = nn.Linear(3, 2).state_dict()
    torch.testing.assert_close(_weights(parts.model), expected)
    other = build_parts(Tiny(), TrainConfig(seed=4), CPU)
    assert not torch.equal(other.model.weight, parts.model.weight)


def test_the_model_is_built_on_the_device_asked():
    parts = build_parts(Tiny(), TrainConfig(), torch.device("meta"))
    assert parts.model.weight.device.type == "meta"


def test_the_optimiser_gets_every_setting_of_the_config():
    cfg = TrainConfig(optimizer="momentum", lr=0.3, momentum=0.7, weight_decay=0.01)
    parts = build_parts(Tiny(), cfg, CPU)
    assert isinstance(parts.optimizer, torch.optim.SGD)
    group = parts.optimizer.param_groups[0]
    assert (group["lr"], group["momentum"], group["weight_decay"]) == (0.3, 0.7, 0.01)
    assert [p for p in group["params"]] == list(parts.model.parameters())


def test_the_data_stream_follows_the_seed_and_each_rank_draws_its_own(monkeypatch):
    # The seed of published runs: a run with --seed 5 draws the same batches in every version.
    assert build_parts(Tiny(), TrainConfig(seed=5), CPU).data_gen.initial_seed() == 5017
    assert build_parts(Tiny(), TrainConfig(seed=0), CPU).data_gen.initial_seed() == 17
    monkeypatch.setattr(dist, "rank", lambda: 1)
    assert build_parts(Tiny(), TrainConfig(seed=5), CPU).data_gen.initial_seed() == 5018


def test_each_rank_gets_its_share_of_the_batch_and_at_least_one(monkeypatch):
    assert build_parts(Tiny(), TrainConfig(batch_size=10), CPU).batch_size == 10
    monkeypatch.setattr(dist, "world_size", lambda: 4)
    assert build_parts(Tiny(), TrainConfig(batch_size=10), CPU).batch_size == 2
    assert build_parts(Tiny(), TrainConfig(batch_size=3), CPU).batch_size == 1


def test_one_process_trains_the_model_itself_in_full_precision_on_cpu():
    parts = build_parts(Tiny(), TrainConfig(), CPU)
    assert parts.train_model is parts.model
    assert isinstance(parts.autocast, nullcontext) and parts.scaler is None


def test_the_torch_dot_c_flag_wraps_only_the_model_the_steps_call(monkeypatch):
    wrapped = []

    def fake(module):
        wrapped.append(module)
        return nn.Sequential(module)

    monkeypatch.setattr(torch, "compile", fake)
    parts = build_parts(Tiny(), TrainConfig(compile=True), CPU)
    assert wrapped == [parts.model] and parts.train_model[0] is parts.model
    assert build_parts(Tiny(), TrainConfig(compile=False), CPU).train_model is not None
    assert len(wrapped) == 1


def _saved(parts, train_sums, world=1):
    gens = [torch.Generator().manual_seed(100 + r) for r in range(world)]
    source = nn.Linear(3, 2)
    return TrainState(
        task="tiny",
        model=source.state_dict(),
        optimizer=parts.optimizer.state_dict(),
        data_rng=[g.get_state() for g in gens],
        torch_rng=torch.get_rng_state(),
        task_state=[{"rank": r} for r in range(world)],
        step=12,
        elapsed=3.5,
        best=0.25,
        best_val={"val_loss": 0.25, "val_acc": 0.5},
        train_sums=train_sums,
    )


def test_a_resume_restores_the_weights_and_the_loop_where_it_was_written(tmp_path):
    task = Tiny()
    parts = build_parts(task, TrainConfig(), CPU)
    saved = _saved(parts, [[{"loss": 2.0}, 3]])
    run = resumed_loop(saved, tmp_path / "checkpoint.pt", parts, task)
    torch.testing.assert_close(_weights(parts.model), saved.model)
    assert (run.step, run.elapsed_before, run.best, run.saved_step) == (12, 3.5, 0.25, 12)
    assert run.best_val == {"val_loss": 0.25, "val_acc": 0.5}
    assert (run.sums, run.count) == ({"loss": 2.0}, 3)
    assert task.loaded == {"rank": 0}
    assert parts.data_gen.initial_seed() == 100


@pytest.mark.parametrize("sums", [None, []])
def test_a_checkpoint_without_train_sums_resumes_with_none(tmp_path, sums):
    parts = build_parts(Tiny(), TrainConfig(), CPU)
    run = resumed_loop(_saved(parts, sums), tmp_path / "checkpoint.pt", parts, Tiny())
    assert (run.sums, run.count) == ({}, 0)


def test_each_rank_resumes_its_own_sums_and_data(tmp_path, monkeypatch):
    monkeypatch.setattr(dist, "world_size", lambda: 2)
    monkeypatch.setattr(dist, "rank", lambda: 1)
    task = Tiny()
    parts = build_parts(task, TrainConfig(), CPU)
    saved = _saved(parts, [[{"loss": 1.0}, 1], [{"loss": 4.0}, 2]], world=2)
    run = resumed_loop(saved, tmp_path / "checkpoint.pt", parts, task)
    assert (run.sums, run.count) == ({"loss": 4.0}, 2)
    assert task.loaded == {"rank": 1} and parts.data_gen.initial_seed() == 101
    saved.train_sums = None  # no sums written: every rank starts from none
    run = resumed_loop(saved, tmp_path / "checkpoint.pt", parts, task)
    assert (run.sums, run.count) == ({}, 0)
