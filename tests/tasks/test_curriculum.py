import json

import pytest
import torch

from sgtk.errors import SgtkError
from sgtk.tasks.curriculum import LengthCurriculum
from sgtk.tasks.palindrome import PalindromeConfig, PalindromeTask
from sgtk.train.trainer import TrainConfig, Trainer
from tests.helpers import assert_one_line_error, invoke, last_json


def test_the_schedule_advances_only_when_val_reaches_the_threshold():
    c = LengthCurriculum(start=10, target=40, threshold=0.95, growth=1.5)
    assert c.advance(0.94) is None and c.current == 10
    assert c.advance(0.95) == 15
    assert c.advance(0.5) is None and c.current == 15
    assert [c.advance(1.0), c.advance(1.0), c.advance(1.0)] == [23, 35, 40]
    assert c.done and c.advance(1.0) is None and c.current == 40


def test_a_growth_of_one_still_lengthens_and_the_state_round_trips():
    c = LengthCurriculum(start=5, target=7, growth=1.0)
    assert c.advance(1.0) == 6
    again = LengthCurriculum(start=5, target=7, growth=1.0)
    again.load_state_dict(c.state_dict())
    assert again.current == 6


@pytest.mark.parametrize(
    "kwargs,words",
    [
        ({"start": 50, "target": 20}, ["curriculum 50", "`length` 20"]),
        ({"start": 2, "target": 20}, ["curriculum 2"]),
        ({"start": 5, "target": 20, "threshold": 1.5}, ["threshold"]),
        ({"start": 5, "target": 20, "growth": 0.5}, ["growth"]),
    ],
)
def test_bad_curricula_are_refused(kwargs, words):
    with pytest.raises(SgtkError) as e:
        LengthCurriculum(**kwargs)
    assert all(w in str(e.value) for w in words)


def _weights(model) -> float:
    """A fingerprint of the weights: their sum, in float64."""
    return sum(p.detach().double().sum() for p in model.parameters()).item()


class ScriptedVal(PalindromeTask):
    """Val accuracy read from a script, one figure per evaluation, whatever the model does;
    the weights at each evaluation are kept, and the report names the weights it scored."""

    def __init__(self, config: PalindromeConfig, script: list[float]):
        super().__init__(config)
        self.script, self.lengths_trained, self.seen = list(script), set(), []

    def train_batch(self, batch_size, generator, device):
        self.lengths_trained.add(self.data_now().length)
        return super().train_batch(batch_size, generator, device)

    def evaluate(self, model, device):
        self.seen.append(_weights(model))
        return {**super().evaluate(model, device), "val_accuracy": self.script.pop(0)}

    def report(self, model, device):
        return {**super().report(model, device), "test_weights": _weights(model)}


def _fit(tmp_path, script, steps, target=None):
    config = PalindromeConfig(
        model="rnn", length=12, hidden=8, curriculum=4, curriculum_threshold=0.9
    )
    task = ScriptedVal(config, script)
    train = TrainConfig(steps=steps, eval_every=1, batch_size=8, target=target, lr=0.01)
    result = Trainer(task, train, tmp_path).fit()
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    return task, result, records


def test_best_pt_is_never_chosen_at_a_shorter_length(tmp_path):
    # Perfect val at 4, 6 and 9 (short), then 0.6, 0.3, 0.5 at 12 (the target): only the
    # target's evaluations may choose best.pt, --target may not stop at 4, and the report is
    # of the target's early peak (step 4), not of the last model (step 6).
    script = [1.0, 1.0, 0.95, 0.6, 0.3, 0.5]
    task, result, records = _fit(tmp_path, script, steps=6, target=0.99)
    best = torch.load(tmp_path / "best.pt", weights_only=True)
    assert best["step"] == 4 and best["metric"] == 0.6
    assert result["val_accuracy"] == 0.6 and result["stopped_by"] == "steps"
    assert task.lengths_trained == {4, 6, 9, 12}
    assert records[-1]["final"] and records[-1]["test_accuracy"] is not None
    peak, last = task.seen[3], task.seen[-1]
    assert peak != pytest.approx(last, rel=1e-6)  # the two models can be told apart
    assert result["test_weights"] == pytest.approx(peak, rel=1e-9)


def test_metrics_jsonl_records_the_length_and_each_change(tmp_path):
    _, _, records = _fit(tmp_path, [0.2, 0.95, 0.5, 0.99, 0.99, 0.7], steps=6)
    evals = [(r["step"], r["length"]) for r in records if "val_accuracy" in r and "final" not in r]
    assert evals == [(1, 4), (2, 4), (3, 6), (4, 6), (5, 9), (6, 12)]
    events = [r for r in records if r.get("event") == "curriculum"]
    assert [(e["step"], e["previous_length"], e["length"]) for e in events] == [
        (2, 4, 6),
        (4, 6, 9),
        (5, 9, 12),
    ]


def test_the_curriculum_resumes_at_its_length(tmp_path):
    config = PalindromeConfig(model="rnn", length=12, hidden=8, curriculum=4)
    task = PalindromeTask(config)
    task.curriculum.current = 9
    again = PalindromeTask(config)
    again.load_state_dict(task.state_dict())
    assert again.data_now().length == 9


def test_the_cli_trains_through_a_curriculum_to_the_target_length(tmp_path):
    r = invoke(
        "train", "palindrome", "--model", "rnn", "--length", 12, "--curriculum", 5,
        "--steps", 800, "--eval-every", 50, "--out", tmp_path / "r", "--json",
    )  # fmt: skip
    result = last_json(r)
    records = [json.loads(x) for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert records[0]["length"] == 5 and records[-2]["length"] == 12
    assert result["test_accuracy"] >= 0.99


def test_a_curriculum_longer_than_the_target_is_one_line(tmp_path):
    r = invoke("train", "palindrome", "--length", 10, "--curriculum", 20, "--out", tmp_path / "r")
    assert_one_line_error(r, "--curriculum 20", "--length 10")
    assert r.exit_code == 2
    assert not (tmp_path / "r").exists()
