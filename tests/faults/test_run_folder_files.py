"""The run folder's files in a bad state (#27, items 1, 2 and 7), at the unit level."""

import json
import math

import pytest
import torch
from torch import nn

from sgtk.errors import SgtkError
from sgtk.experiments.runplot import read_curves
from sgtk.train.metrics import MetricsLog, read_metrics
from sgtk.train.run_dir import RunFolder
from sgtk.train.task import Task
from sgtk.train.train_state import TrainState
from sgtk.train.trainer import TrainConfig, Trainer, TrainingDiverged


class NanLossTask(Task):
    """A finite, ever "better" accuracy beside a NaN val loss from the third evaluation on."""

    name, metric, mode = "toy", "val_accuracy", "max"

    def __init__(self):
        self.evals = 0

    def build_model(self):
        return nn.Linear(2, 1)

    def train_batch(self, batch_size, generator, device):
        return torch.randn(batch_size, 2, generator=generator)

    def loss(self, model, batch):
        return model(batch).pow(2).mean(), {}

    def evaluate(self, model, device):
        self.evals += 1
        loss = math.nan if self.evals >= 3 else 1.0
        return {"val_loss": loss, "val_accuracy": 0.1 * self.evals}


def test_item1_a_nan_val_loss_is_never_better_and_ends_the_run(tmp_path):
    config = TrainConfig(steps=20, eval_every=2, checkpoint_every=2, device="cpu")
    with pytest.raises(TrainingDiverged, match="diverged at step 6 .val_loss became nan"):
        Trainer(NanLossTask(), config, tmp_path).fit()
    assert torch.load(tmp_path / "best.pt", weights_only=True)["step"] == 4
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["step"] == 4


def test_item1_non_finite_weights_are_never_written(tmp_path):
    folder = RunFolder(tmp_path)
    with pytest.raises(SgtkError, match="best.pt has non-finite weights"):
        folder.save_best({"task": "toy", "model": {"w": torch.tensor([1.0, math.inf])}})
    assert not (tmp_path / "best.pt").exists()


@pytest.mark.parametrize("name", ["best.pt", "metrics.jsonl", "row.json", "manifest.json"])
def test_item2_any_run_artefact_refuses_a_fresh_run(tmp_path, name):
    (tmp_path / name).write_text("{}")
    with pytest.raises(SgtkError, match=f"already holds a run .{name}"):
        RunFolder(tmp_path).check_fresh()


def test_item7_a_bad_line_in_metrics_jsonl_loses_no_record(tmp_path):
    path = tmp_path / "metrics.jsonl"
    lines = [json.dumps({"step": s, "val_loss": 1.0 / s}) for s in (1, 2, 3, 4)]
    lines.insert(2, '{"step": 2.5, "val_lo')  # a damaged line in the middle
    path.write_text("\n".join(lines) + '\n{"step": 5, "val_')  # and a torn last line
    read = read_metrics(path)
    assert [r["step"] for r in read.records] == [1, 2, 3, 4]
    assert read.bad == [(3, '{"step": 2.5, "val_lo')] and read.torn
    assert sorted(read_curves(tmp_path)["val_loss"][0]) == [1, 2, 3, 4]  # `sgtk plot run`
    MetricsLog(path).truncate_after(4)  # what a resume from step 4 does
    assert [json.loads(x)["step"] for x in path.read_text().splitlines()] == [1, 2, 3, 4]
    assert (tmp_path / "metrics.jsonl.corrupt").read_text().startswith("line 3: ")


def test_item11_a_mistyped_checkpoint_key_is_one_line_naming_the_key(tmp_path):
    state = {
        "task": "toy", "model": {}, "optimizer": {}, "data_rng": [], "torch_rng": "oops",
        "task_state": [], "step": 3, "elapsed": 1.0, "best": None,
    }  # fmt: skip
    with pytest.raises(SgtkError, match="'torch_rng' is str, not a tensor"):
        TrainState.from_dict(state, tmp_path / "checkpoint.pt")
    state["torch_rng"] = torch.get_rng_state()
    assert TrainState.from_dict(state, "checkpoint.pt").version == 0  # an older checkpoint loads
