"""Several loggers at once, W&B and MLflow in their offline/file modes, and curves.png."""

import csv
import json
import sys

import pytest

from sgtk.errors import SgtkError
from sgtk.train.loggers import parse_loggers
from sgtk.train.trainer import TrainConfig, Trainer
from tests.train.test_trainer import ToyTask


def _fit(run_dir, logger: str, steps: int = 20, resume: bool = False):
    config = TrainConfig(steps=steps, eval_every=10, lr=0.05, logger=logger)
    return Trainer(ToyTask(), config, run_dir).fit(resume=resume)


def test_several_loggers_parse_and_a_typo_gets_a_suggestion():
    assert parse_loggers("csv, tensorboard,csv") == ("csv", "tensorboard")
    with pytest.raises(SgtkError, match="did you mean 'tensorboard'"):
        parse_loggers("csv,tensorbaord")


def test_csv_and_tensorboard_loggers_both_write(tmp_path):
    pytest.importorskip("tensorboard")
    _fit(tmp_path / "run", "csv,tensorboard")
    rows = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    assert [r["step"] for r in rows] == ["10", "20", "20"]  # two evaluations, then final
    assert any((tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"))


def test_a_missing_logger_package_names_its_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # import fails, as when not installed
    with pytest.raises(SgtkError, match=r"pip install 'sgtk\[wandb\]'"):
        Trainer(ToyTask(), TrainConfig(logger="csv,wandb"), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_every_run_draws_its_curves_with_units(tmp_path):
    _fit(tmp_path / "run", "jsonl")
    png = tmp_path / "run" / "curves.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_curves_put_each_metric_on_its_own_axis_with_its_unit(tmp_path):
    from matplotlib.figure import Figure

    from sgtk.train import curves

    drawn = {}
    original = Figure.subplots

    def spy(self, *args, **kwargs):
        axes = original(self, *args, **kwargs)
        drawn["axes"] = axes
        return axes

    records = [{"step": s, "train_loss": 1 / s, "val_loss": 1 / s, "val_rmse": 2 / s}
               for s in (1, 2, 3)]  # fmt: skip
    Figure.subplots = spy
    try:
        curves.plot_curves(records, tmp_path / "c.png", units={"loss": "MSE (target units²)"})
    finally:
        Figure.subplots = original
    labels = [ax.get_ylabel() for ax in drawn["axes"][0]]
    assert labels == ["MSE (target units²)", "RMSE (target units)"]


def test_wandb_offline_logs_every_evaluation_and_resumes_the_same_run(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = tmp_path / "run"
    _fit(run, "wandb", steps=20)
    first = (run / "wandb_run_id").read_text().strip()
    _fit(run, "wandb", steps=30, resume=True)
    assert (run / "wandb_run_id").read_text().strip() == first
    offline = sorted((run / "wandb").glob(f"offline-run-*-{first}"))
    assert len(offline) == 2, offline  # two processes, one W&B run id


def test_mlflow_file_store_gets_each_metric_at_its_step(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    run = tmp_path / "run"
    _fit(run, "mlflow,csv", steps=20)
    _fit(run, "mlflow,csv", steps=30, resume=True)
    import mlflow

    client = mlflow.MlflowClient((run / "mlruns").resolve().as_uri())
    run_id = (run / "mlflow_run_id").read_text().strip()
    history = client.get_metric_history(run_id, "val_loss")
    assert [m.step for m in history] == [10, 20, 30]
    records = [json.loads(line) for line in open(run / "metrics.jsonl")]
    assert [m.value for m in history] == [r["val_loss"] for r in records if not r.get("final")]
    assert client.get_metric_history(run_id, "test_loss")[-1].step == 30
