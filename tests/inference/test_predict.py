import csv
import json

import pytest
import torch

from sgtk.errors import SgtkError
from sgtk.inference.export import export_run
from sgtk.inference.predict import MoleculePredictor
from sgtk.tasks.molecules import MoleculeConfig, MoleculeTask
from sgtk.train.trainer import TrainConfig, Trainer
from tests.helpers import assert_one_line_error, invoke


@pytest.fixture(scope="module", params=["gcn", "lstm"])
def run(request, tmp_path_factory, shared_data):
    """A short FreeSolv run, trained the way the CLI trains it (model_config in best.pt)."""
    tmp = tmp_path_factory.mktemp(request.param)
    cfg = MoleculeConfig(
        model=request.param, data=str(shared_data / "freesolv.csv"), target_col="expt",
        root=str(tmp / "data"), hidden=32, layers=2, embed=16, augment=2,
    )  # fmt: skip
    task = MoleculeTask(cfg)
    train = TrainConfig(steps=30, batch_size=32, lr=3e-3, eval_every=10, seed=0)
    result = Trainer(task, train, tmp / "run", extra_config=task.model_config()).fit()
    return task, result, tmp


def test_predictions_on_the_test_split_reproduce_the_reported_rmse(run):
    task, result, tmp = run
    idx = task.test_idx.tolist()
    preds = MoleculePredictor(tmp / "run").predict([task.mols.smiles[i] for i in idx])
    assert all(p.value is not None for p in preds)
    err = torch.tensor([p.value for p in preds]) - task.mols.targets[idx]
    assert err.pow(2).mean().sqrt().item() == pytest.approx(result["test_rmse"], abs=2e-4)


def test_export_then_predict_gives_the_same_numbers(run):
    task, _, tmp = run
    written = export_run(tmp / "run", tmp / "export")
    assert {p.name for p in written} == {"model.safetensors", "config.json", "README.md"}
    smiles = task.mols.smiles[:20]
    from_run = [p.value for p in MoleculePredictor(tmp / "run").predict(smiles)]
    from_export = [p.value for p in MoleculePredictor(tmp / "export").predict(smiles)]
    assert from_run == from_export


def test_invalid_smiles_get_a_problem_not_a_crash(run):
    _, _, tmp = run
    preds = MoleculePredictor(tmp / "run").predict(["CCO", "C1CC(", "not smiles", "c1ccccc1O"])
    assert [p.value is None for p in preds] == [False, True, True, False]
    assert preds[1].problem and preds[2].problem and not preds[0].problem


def test_predict_cli_table_and_csv(run, tmp_path):
    _, _, tmp = run
    r = invoke("predict", "molecules", "--checkpoint", tmp / "run", "--smiles", "CCO", "c1ccccc1O")
    assert r.exit_code == 0, r.output
    assert "CCO" in r.stdout and "c1ccccc1O" in r.stdout and "expt" in r.stdout
    data = tmp_path / "in.csv"
    data.write_text("\ufeffname;S\nethanol;CCO\njunk;C1CC(\n")
    out = tmp_path / "preds.csv"
    r = invoke("predict", "molecules", "--checkpoint", tmp / "export", "--data", data,
               "--smiles-col", "S", "--out", out)  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(out.open()))
    assert [r["name"] for r in rows] == ["ethanol", "junk"]
    assert float(rows[0]["predicted_expt"]) and rows[1]["predicted_expt"] == ""
    assert "RDKit" in rows[1]["problem"]


def test_csv_refusals_name_fields_in_python_and_flags_on_the_cli(run, tmp_path):
    from sgtk.inference.predict import predict_csv

    _, _, tmp = run
    data, out = tmp_path / "in.csv", tmp_path / "preds.csv"
    data.write_text("name,S\nethanol,CCO\n")
    with pytest.raises(SgtkError) as e:
        predict_csv(MoleculePredictor(tmp / "run"), data, "smiles", out)
    assert "set `smiles_col` or `delimiter`" in str(e.value) and "--" not in str(e.value)
    r = invoke("predict", "molecules", "--checkpoint", tmp / "run", "--data", data, "--out", out)
    assert_one_line_error(r, "no column smiles", "set --smiles-col or --delimiter")
    r = invoke("predict", "molecules", "--checkpoint", tmp / "run", "--data", data,
               "--smiles-col", "S", "--out", tmp_path)  # fmt: skip
    assert_one_line_error(r, f"--out {tmp_path} is a directory: name a file")
    assert "`" not in r.output and not out.exists()


def test_a_checkpoint_that_does_not_fit_names_the_file(run, tmp_path):
    _, _, tmp = run
    export_run(tmp / "run", tmp_path / "e")
    config = json.loads((tmp_path / "e" / "config.json").read_text())
    config["config"]["hidden"] *= 2
    (tmp_path / "e" / "config.json").write_text(json.dumps(config))
    with pytest.raises(SgtkError, match="model.safetensors does not fit"):
        MoleculePredictor(tmp_path / "e")
    r = invoke("predict", "molecules", "--checkpoint", tmp_path / "e", "--smiles", "CCO")
    assert_one_line_error(r, "model.safetensors", "does not fit")


def test_predict_refuses_what_it_cannot_use(run, tmp_path):
    _, _, tmp = run
    (tmp_path / "model.safetensors").write_bytes(b"not safetensors")
    (tmp_path / "config.json").write_text('{"task": "molecules", "config": {}}')
    r = invoke("predict", "molecules", "--checkpoint", tmp_path, "--smiles", "CCO")
    assert_one_line_error(r, "model.safetensors")
    r = invoke("predict", "molecules", "--checkpoint", tmp_path / "none", "--smiles", "CCO")
    assert_one_line_error(r, "none")
    r = invoke("predict", "molecules", "--checkpoint", tmp / "run")
    assert_one_line_error(r, "--smiles", "--data")
    r = invoke("export", tmp_path / "none", "--out", tmp_path / "x")
    assert_one_line_error(r, "none")
    assert not (tmp_path / "x").exists()


def test_export_keeps_a_text_runs_config_and_weights(tmp_path):
    from sgtk.inference.export import load_export, load_model_files
    from sgtk.train.checkpoint import save_checkpoint

    weights = {"embed.weight": torch.randn(5, 3), "head.bias": torch.zeros(5)}
    config = {"model": "lstm", "hidden": 3, "vocab": ["\n", " ", "a", "b", '"']}
    (tmp_path / "run").mkdir()
    save_checkpoint({"task": "text", "model": weights, "config": config, "step": 1},
                    tmp_path / "run" / "best.pt")  # fmt: skip
    export_run(tmp_path / "run", tmp_path / "export")
    loaded = load_export(tmp_path / "export")
    assert loaded.task == "text" and loaded.config == config
    assert all(torch.equal(loaded.state[k], v) for k, v in weights.items())
    assert load_model_files(tmp_path / "export").config == load_model_files(tmp_path / "run").config
