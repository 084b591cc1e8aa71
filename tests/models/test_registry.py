import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sgtk.errors import SgtkError
from sgtk.graphs.views import path_graph_batch
from sgtk.models import registry
from sgtk.models.charlm import CharNet
from sgtk.models.predictor import Predictor
from sgtk.models.registry import REGISTRY
from sgtk.tasks.registry import TASK_REGISTRY, check_graph, check_model, models_for

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("module", ["sgtk.models.registry", "sgtk.tasks.registry"])
def test_registry_modules_do_not_import_torch(module):
    code = (
        f"import sys, {module}, sgtk.tasks.registry as t; t.models_for('text'); "
        "t.markdown_table(); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_row_is_well_formed():
    for spec in REGISTRY.values():
        assert spec.family in registry.FAMILIES
        assert spec.implementation in ("hand-written", "PyG", "torch")
        assert spec.default_graph in spec.graphs
        assert spec.native_view in ("graph", "sequence", None), spec.name
        assert spec.on_sequences or spec.native_view is not None, f"{spec.name} serves no task"


def test_a_task_takes_the_models_that_read_its_data():
    """No row lists tasks: a sequence task takes every model that runs on sequences, a task
    of graph samples those with a view of one, and edge features admit the models that
    need them."""
    takes = {name: set(spec.models()) for name, spec in TASK_REGISTRY.items()}
    on_sequences = {n for n, s in REGISTRY.items() if s.on_sequences}
    assert takes["palindrome"] == takes["text"] == on_sequences
    assert "rnn" in takes["text"] and "gine" not in takes["text"]
    assert takes["molecules"] == {n for n, s in REGISTRY.items() if s.native_view}
    assert "lstm-gcn" not in takes["molecules"] and "gcn-smiles" in takes["molecules"]
    assert registry.models_reading(False, edge_features=False) == tuple(
        n for n in models_for("molecules") if not REGISTRY[n].bond_features
    )


def test_unknown_model_lists_the_task_choices_in_one_line():
    with pytest.raises(SgtkError) as e:
        check_model("gine", "text")
    msg = str(e.value)
    assert "\n" not in msg and ", ".join(models_for("text")) in msg
    assert check_model("gine", "molecules").family == "graph"


def test_graph_checks():
    assert check_graph("auto", "transformer", "palindrome") == "complete"
    assert check_graph("auto", "gcn", "text") == "path"
    assert check_graph("window:3", "gat", "text") == "window:3"
    with pytest.raises(SgtkError, match="choose one of auto$"):
        check_graph("complete", "gcn", "molecules")
    with pytest.raises(SgtkError, match="choose one of auto, path$"):
        check_graph("dilated", "lstm", "palindrome")
    with pytest.raises(SgtkError, match="unknown `graph`"):
        check_graph("star", "gcn", "palindrome")


def _train_steps(model, batch, target, steps=2):
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(steps):
        out = model(batch)
        loss = torch.nn.functional.cross_entropy(out, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("name", models_for("palindrome"))
def test_every_palindrome_model_trains_on_its_default_graph(name):
    x = torch.nn.functional.one_hot(torch.randint(0, 10, (4, 6)), 10).float()
    batch = path_graph_batch(x, torch.randint(0, 10, (4,)), directed=True)
    graph = check_graph("auto", name, "palindrome")
    model = Predictor(name, 10, 10, hidden=8, layers=2, graph=graph)
    _train_steps(model, batch, batch.y)
    assert model(batch).shape == (4, 10)


@pytest.mark.parametrize("name", [m for m in models_for("text") if m != "lstm"])
def test_every_text_model_gives_per_node_logits(name):
    tokens = torch.randint(0, 7, (3, 5))
    batch = path_graph_batch(tokens, directed=True)
    target = torch.randint(0, 7, (15,))
    model = CharNet(7, name, hidden=8, layers=2, embed=4, graph=check_graph("auto", name, "text"))
    _train_steps(model, batch, target)
    assert model(batch).shape == (15, 7)


def test_causal_graph_models_never_read_the_future():
    # Changing the last token must leave every earlier node's logits unchanged.
    for name in ("transformer", "gcn", "lstm-gcn", "gcn-lstm", "gru"):
        model = CharNet(5, name, hidden=8, layers=2, embed=4, graph="complete")
        a = torch.randint(0, 5, (1, 6))
        b = a.clone()
        b[0, -1] = (a[0, -1] + 1) % 5
        out_a = model(path_graph_batch(a, directed=True))
        out_b = model(path_graph_batch(b, directed=True))
        torch.testing.assert_close(out_a[:-1], out_b[:-1])


def test_gine_reads_bond_features():
    from torch_geometric.data import Batch
    from torch_geometric.utils import from_smiles

    from sgtk.models.graph_nets import GraphConvStack

    batch = Batch.from_data_list([from_smiles("CCO"), from_smiles("C=CC#N")])
    stack = GraphConvStack("gine", 9, 8, 2)
    x = batch.x.float()
    out = stack(batch, x)
    swapped = batch.clone()
    swapped.edge_attr = swapped.edge_attr.flip(0)
    assert not torch.allclose(out, stack(swapped, x))


def test_readme_model_table_is_the_registry():
    from sgtk.tasks.registry import markdown_table

    assert markdown_table() in README.read_text(encoding="utf-8")


def test_sgtk_models_lists_the_registry():
    import json

    from tests.helpers import assert_one_line_error, invoke

    r = invoke("models", "--json")
    assert r.exit_code == 0, r.output
    listed = [row["model"] for row in json.loads(r.stdout)["models"]]
    assert listed == list(REGISTRY)
    r = invoke("models", "--task", "text", "--json")
    assert [row["model"] for row in json.loads(r.stdout)["models"]] == list(models_for("text"))
    assert_one_line_error(invoke("models", "--task", "proteins"), "proteins")


def test_train_refuses_a_graph_the_model_cannot_use():
    from tests.helpers import assert_one_line_error, invoke

    bad = invoke("train", "palindrome", "--model", "lstm", "--graph", "complete")
    assert_one_line_error(bad, "--graph complete", "auto, path")
    bad = invoke("train", "palindrome", "--model", "gcn", "--graph", "star")
    assert_one_line_error(bad, "unknown --graph", "window:K")
    bad = invoke("train", "text", "--model", "gine")
    assert_one_line_error(bad, "gine", "transformer")
