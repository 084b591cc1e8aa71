"""Which weights the Trainer reports and whether it moves them: the test figures are those of
best.pt's model when val peaks early, and --max-norm 0 trains unclipped (it does not freeze)."""

import pytest
import torch

from sgtk.train.trainer import TrainConfig, Trainer
from tests.train.test_trainer import ToyTask


class Scripted(ToyTask):
    """Val loss read from ``script`` (one figure per evaluation, whatever the model does); the
    weights seen at each evaluation are kept, and the test figure is the model's own."""

    def __init__(self, script: list[float] | None = None):
        super().__init__()
        self.script = list(script or [])
        self.seen: list[dict[str, torch.Tensor]] = []

    def evaluate(self, model, device):
        self.seen.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        real = super().evaluate(model, device)
        return {"val_loss": self.script.pop(0)} if self.script else real

    def test_loss_of(self, state) -> float:
        model = self.build_model()
        model.load_state_dict(state)
        with torch.no_grad():
            return self.report(model, torch.device("cpu"))["test_loss"]


def test_the_report_is_the_early_peaks_model_not_the_last_one(tmp_path):
    task = Scripted([1.0, 0.1, 0.5, 0.7])  # val peaks at the 2nd of 4 evaluations (step 20)
    result = Trainer(task, TrainConfig(steps=40, eval_every=10, lr=0.05), tmp_path).fit()
    peak, last = task.test_loss_of(task.seen[1]), task.test_loss_of(task.seen[-1])
    assert peak != pytest.approx(last, rel=1e-3)  # training moved on: the two can be told apart
    assert result["test_loss"] == pytest.approx(peak, rel=1e-6)
    assert result["val_loss"] == 0.1 and result["steps"] == 40


def _trajectory(tmp_path, max_norm: float) -> list[dict[str, torch.Tensor]]:
    task = Scripted()
    config = TrainConfig(steps=30, eval_every=10, lr=0.05, optimizer="sgd", max_norm=max_norm)
    Trainer(task, config, tmp_path / str(max_norm)).fit()
    return task.seen


def test_max_norm_zero_trains_unclipped_and_moves_the_weights(tmp_path):
    off, never_clips = _trajectory(tmp_path, 0.0), _trajectory(tmp_path, 1e9)
    first, last = off[0]["weight"], off[-1]["weight"]
    assert (last - first).abs().max() > 1e-3  # 0 is "no clipping", not "clip to zero"
    for a, b in zip(off, never_clips):  # the same steps as a bound no gradient reaches
        torch.testing.assert_close(a, b)
    tight = _trajectory(tmp_path, 1e-3)[-1]["weight"]  # and clipping, when on, does bite
    assert (tight - last).abs().max() > 1e-3
