"""``max_cpu_time``: a budget of CPU seconds (every thread) that a loaded machine does not
shrink, recorded as the stop reason, kept across a resume, and in every run's record."""

import pytest
import torch

from sgtk.errors import ConfigError
from sgtk.train.metrics import MetricsLog
from sgtk.train.trainer import TrainConfig, Trainer
from tests.train.test_trainer import ToyTask

BUDGET = 0.4


def _fit(run_dir, resume=False, **cfg):
    values = {"steps": 10**7, "eval_every": 50, "checkpoint_every": 50, "max_cpu_time": BUDGET}
    config = TrainConfig(**{**values, **cfg})
    return Trainer(ToyTask(), config, run_dir).fit(resume=resume)


def test_a_spent_cpu_budget_ends_the_run_and_says_so(tmp_path):
    result = _fit(tmp_path)
    assert result["stopped_by"] == "cpu time"
    assert BUDGET <= result["cpu_seconds"] < BUDGET + 5
    assert 0 < result["steps"] < 10**7
    final = MetricsLog(tmp_path / "metrics.jsonl").read()[-1]
    assert final["final"] and final["cpu_seconds"] >= BUDGET


def test_the_checkpoint_keeps_the_cpu_seconds_and_a_resume_counts_from_there(tmp_path):
    first = _fit(tmp_path)
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert saved["cpu_seconds"] >= BUDGET
    again = _fit(tmp_path, resume=True)  # the budget is already spent: one step, then stop
    assert again["stopped_by"] == "cpu time"
    assert again["steps"] == first["steps"] + 1
    assert again["cpu_seconds"] >= saved["cpu_seconds"]


def test_a_wall_budget_still_names_time(tmp_path):
    result = _fit(tmp_path, max_cpu_time=None, max_time=0.3)
    assert result["stopped_by"] == "time"


@pytest.mark.parametrize("value", [0.0, -1.0, float("nan")])
def test_a_cpu_budget_that_is_no_positive_number_is_refused(value):
    with pytest.raises(ConfigError) as error:
        TrainConfig(max_cpu_time=value).validate()
    assert error.value.field == "max_cpu_time"
