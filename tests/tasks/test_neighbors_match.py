"""`sgtk train neighbors-match`: Tree-NeighborsMatch through the real CLI and the task."""

import json

import pytest
import torch

from sgtk.tasks.neighbors_match import NeighborsMatchTask
from sgtk.tasks.neighbors_match_config import NeighborsMatchConfig
from tests.helpers import assert_one_line_error, invoke, last_json


def _train(tmp_path, name, *args):
    out = tmp_path / name
    result = invoke("train", "neighbors-match", "--depth", "2", "--out", out, "--json", *args)
    return last_json(result), out


def test_a_few_steps_report_train_and_test_accuracy_and_test_only_at_the_end(tmp_path):
    result, out = _train(tmp_path, "gcn", "--steps", "4", "--eval-every", "2")
    assert 0 <= result["train_accuracy"] <= 1 and 0 <= result["test_accuracy"] <= 1
    assert (result["depth"], result["layers"], result["graph"]) == (2, 3, "tree")
    assert (result["n_train"], result["n_test"]) == (76, 20)  # the paper's 80/20 of 96
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["final"] and "test_accuracy" in records[-1]
    assert not [k for r in records[:-1] for k in r if k.startswith("test_")]


def test_a_run_is_reproducible_from_its_seeds(tmp_path):
    args = ("--steps", "3", "--eval-every", "3", "--model", "gin", "--seed", "5")
    a, _ = _train(tmp_path, "a", *args)
    b, _ = _train(tmp_path, "b", *args)
    assert a["val_train_loss"] == b["val_train_loss"]
    c, _ = _train(tmp_path, "c", *args, "--data-seed", "1")
    assert c["val_train_loss"] != a["val_train_loss"]


@pytest.mark.parametrize("model,graph", [("gcn", "complete"), ("lstm", "tree")])
def test_the_rewired_graph_and_the_token_view_run(tmp_path, model, graph):
    result, _ = _train(tmp_path, model, "--model", model, "--graph", graph, "--steps", "2")
    assert result["graph"] == graph and result["steps"] == 2


@pytest.mark.parametrize(
    "flag,value,word", [("--depth", "9", "--depth"), ("--graph", "star", "--graph")]
)
def test_a_bad_setting_is_one_line(tmp_path, flag, value, word):
    result = invoke("train", "neighbors-match", flag, value, "--out", tmp_path / "r")
    assert_one_line_error(result, word)
    assert result.exit_code == 2
    assert not (tmp_path / "r").exists()


def _fit(model: str, steps: int) -> float:
    torch.manual_seed(0)
    task = NeighborsMatchTask(NeighborsMatchConfig(model=model, depth=2))
    net = task.build_model()
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        loss, _ = task.loss(net, task.train_batch(76, g, torch.device("cpu")))
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    return task.evaluate(net, torch.device("cpu"))["val_train_accuracy"]


@pytest.mark.parametrize("model", ["ggnn", "lstm"])
def test_a_short_run_fits_the_depth_2_tree_far_above_chance(model):
    # 4 classes: chance is 0.25; both views carry the answer to where it is read
    assert _fit(model, 150) >= 0.9


def test_the_answer_is_read_at_the_root():
    task = NeighborsMatchTask(NeighborsMatchConfig(model="gcn", depth=2))
    net = task.build_model().eval()
    batch = task.batch(torch.arange(2), "cpu")
    with torch.no_grad():
        out = net(batch)
        h = net.backbone(batch, batch.x, batch.edge_index)
    torch.testing.assert_close(out, net.head(h[[0, 7]]))
