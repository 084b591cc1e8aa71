"""Mutation kill tests for :mod:`sgtk.train.loggers`: the name parsing and its one-line refusals,
the CSV mirror, and what each tracker is sent. TensorBoard's writer, W&B, MLflow and the plot
are replaced by recorders, so nothing here needs those packages or draws anything."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
import torch.utils.tensorboard

from sgtk.errors import SgtkError
from sgtk.train import loggers
from sgtk.train.metrics import MetricsLog

RECORD = {"step": 5, "train_loss": 1.5, "val_acc": 0.25, "elapsed": 3.0, "final": False}
RESULT = {
    "steps": 9,
    "test_loss": 0.5,
    "test_top_k": 0.75,
    "val_loss": 0.7,
    "ok": True,
    "name": "x",
}


def test_parse_loggers_keeps_order_drops_blanks_and_repeats():
    assert loggers.parse_loggers(" csv ,, tensorboard,csv ,") == ("csv", "tensorboard")
    assert loggers.parse_loggers("") == ("jsonl",) == loggers.parse_loggers(" , ")
    assert loggers.parse_loggers("mlflow") == ("mlflow",)


def test_unknown_logger_is_one_line_with_the_closest_name():
    with pytest.raises(SgtkError) as err:
        loggers.parse_loggers("csv,tensorbord")
    assert str(err.value) == (
        "unknown logger 'tensorbord': did you mean 'tensorboard'? choose from jsonl, csv, "
        "tensorboard, wandb, mlflow, several comma-separated"
    )
    with pytest.raises(SgtkError) as err:
        loggers.parse_loggers("zzzzzz")
    assert str(err.value).startswith("unknown logger 'zzzzzz': choose from jsonl, csv,")


def test_check_logger_names_the_missing_package_and_extra(monkeypatch):
    import importlib

    real = importlib.import_module
    asked: list[str] = []

    def fake(name, *args):
        asked.append(name)
        if name == "mlflow":
            raise ImportError(name)
        return types.ModuleType(name)

    monkeypatch.setattr(importlib, "import_module", fake)
    loggers.check_logger("csv,wandb,jsonl")
    assert asked == ["wandb"]
    with pytest.raises(SgtkError) as err:
        loggers.check_logger("tensorboard,mlflow")
    assert str(err.value) == (
        "the mlflow logger needs the mlflow package: pip install 'sgtk[mlflow]', or drop mlflow "
        "from the logger list"
    )
    assert err.value.__cause__ is None and err.value.__suppress_context__
    monkeypatch.setattr(importlib, "import_module", real)


def test_make_loggers_in_order_then_the_plot(tmp_path):
    made = loggers.make_loggers("tensorboard,jsonl,csv", tmp_path, {"loss": "MSE"}, "t")
    assert [type(c).__name__ for c in made] == ["TensorBoardLogger", "CsvLogger", "CurvesPlot"]
    assert made[0].log_dir == tmp_path / "tensorboard"
    plot = made[-1]
    assert (plot.units, plot.title, plot.path) == ({"loss": "MSE"}, "t", tmp_path / "curves.png")
    w, m = loggers.make_loggers("wandb,mlflow", tmp_path)[:2]
    assert isinstance(w, loggers.WandbLogger) and isinstance(m, loggers.MlflowLogger)
    assert w.run_dir == m.run_dir == tmp_path
    plot = loggers.make_loggers("", tmp_path)[0]
    assert plot.units == {} and plot.title == ""


def test_csv_mirrors_numbers_and_is_cut_back_with_the_jsonl(tmp_path):
    log = MetricsLog(tmp_path / "metrics.jsonl")
    logger = loggers.CsvLogger(tmp_path)
    logger.on_start(10, 0)
    assert (tmp_path / "metrics.csv").read_text() == "\n"  # no record yet: no column
    log.append({**RECORD, "sample": "hello", "flag": True})
    logger.on_eval(5, RECORD)
    log.append({"step": 10, "train_loss": 1.0, "test_loss": 2.0, "final": True})
    logger.on_end({})
    assert b"\r" not in (tmp_path / "metrics.csv").read_bytes()  # one \n a line, any OS
    header, first, last = (tmp_path / "metrics.csv").read_text().splitlines()
    assert header == "step,final,elapsed,train_loss,val_acc,test_loss"
    assert (first, last) == ("5,False,3.0,1.5,0.25,", "10,True,,1.0,,2.0")
    log.truncate_after(5)
    logger.on_eval(5, RECORD)
    assert (tmp_path / "metrics.csv").read_text().splitlines() == [
        "step,final,elapsed,train_loss,val_acc",
        "5,False,3.0,1.5,0.25",
    ]


class _Writer:
    def __init__(self, log_dir, purge_step=None):
        self.log_dir, self.purge_step, self.calls = log_dir, purge_step, []

    def add_scalar(self, *a):
        self.calls.append(("scalar", *a))

    def add_text(self, *a):
        self.calls.append(("text", *a))

    def flush(self):
        self.calls.append(("flush",))

    def close(self):
        self.calls.append(("close",))


def test_tensorboard_scalars_text_and_test_metrics(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.utils.tensorboard, "SummaryWriter", _Writer)
    tb = loggers.TensorBoardLogger(tmp_path)
    with pytest.raises(RuntimeError, match="^TensorBoardLogger: on_start was not called$"):
        tb.on_eval(1, RECORD)
    tb.on_start(100, 40)
    w = tb.writer
    assert (w.log_dir, w.purge_step) == (str(tmp_path / "tensorboard"), 41)
    tb.on_eval(5, {**RECORD, "sample": "abc", "val_top_k": 2})
    scalars = [("train/loss", 1.5, 5), ("val/acc", 0.25, 5), ("val/top_k", 2, 5)]
    assert w.calls == [*(("scalar", *c) for c in scalars), ("text", "sample", "abc", 5), ("flush",)]
    w.calls.clear()
    tb.on_eval(6, {"step": 6, "sample": ["not", "text"]})
    assert w.calls == [("flush",)]
    w.calls.clear()
    tb.on_end(RESULT)
    tests = [("scalar", "test/loss", 0.5, 9), ("scalar", "test/top_k", 0.75, 9)]
    assert w.calls == [*tests, ("close",)]


def _manifest(run_dir: Path) -> None:
    manifest = {"task": "text", "task_config": {"seq": 8}, "train_config": {"lr": 0.1}}
    (run_dir / "manifest.json").write_text(json.dumps(manifest))


def test_run_config_flattens_the_manifest_or_is_empty(tmp_path):
    assert loggers._run_config(tmp_path) == {}
    (tmp_path / "manifest.json").write_text("{not json")
    assert loggers._run_config(tmp_path) == {}
    (tmp_path / "manifest.json").write_text('{"task": "x", "train_config": null}')
    assert loggers._run_config(tmp_path) == {"task": "x"}
    _manifest(tmp_path)
    assert loggers._run_config(tmp_path) == {"task": "text", "task.seq": 8, "train.lr": 0.1}


def test_remembered_id_round_trips_and_blank_is_none(tmp_path):
    assert loggers._remembered_id(tmp_path, "id") is None
    loggers._remember_id(tmp_path, "id", "abc")
    assert (tmp_path / "id").read_text() == "abc\n"
    assert loggers._remembered_id(tmp_path, "id") == "abc"
    (tmp_path / "id").write_text(" \n")
    assert loggers._remembered_id(tmp_path, "id") is None


class _WandbRun:
    def __init__(self):
        self.logged, self.summary, self.finished = [], {}, False

    def log(self, data, step):
        self.logged.append((data, step))

    def finish(self):
        self.finished = True


def _fake_wandb(monkeypatch):
    mod = types.ModuleType("wandb")
    mod.inits = []  # type: ignore[attr-defined]

    def init(**kwargs):
        mod.inits.append(kwargs)  # type: ignore[attr-defined]
        return _WandbRun()

    mod.init = init  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "wandb", mod)
    return mod


def test_wandb_one_run_per_folder_kept_across_resume(tmp_path, monkeypatch):
    mod = _fake_wandb(monkeypatch)
    monkeypatch.delenv("WANDB_PROJECT", raising=False)
    run_dir = tmp_path / "run-7"
    run_dir.mkdir()
    _manifest(run_dir)
    logger = loggers.WandbLogger(run_dir)
    logger.on_start(10, 0)
    (first,) = mod.inits
    run_id = (run_dir / "wandb_run_id").read_text().strip()
    config = {"task": "text", "task.seq": 8, "train.lr": 0.1}
    where = {"project": "sgtk", "name": "run-7", "id": run_id, "dir": str(run_dir)}
    assert len(run_id) == 8 and first == {**where, "resume": "allow", "config": config}
    logger.on_eval(5, {**RECORD, "val_top_k": 0.5})
    assert logger.run.logged == [
        ({"train/loss": 1.5, "val/acc": 0.25, "elapsed": 3.0, "val/top_k": 0.5}, 5)
    ]
    logger.on_end(RESULT)
    assert logger.run.summary == {"test/loss": 0.5, "test/top_k": 0.75} and logger.run.finished
    monkeypatch.setenv("WANDB_PROJECT", "mine")
    loggers.WandbLogger(run_dir).on_start(10, 5)
    assert mod.inits[1]["id"] == run_id and mod.inits[1]["project"] == "mine"


class _Client:
    def __init__(self, experiment=None):
        self.calls: list[tuple] = []
        self.experiment = experiment

    def get_experiment_by_name(self, name):
        self.calls.append(("get", name))
        return self.experiment

    def create_experiment(self, name):
        self.calls.append(("create", name))
        return "e1"

    def create_run(self, experiment_id, run_name):
        self.calls.append(("run", experiment_id, run_name))
        return types.SimpleNamespace(info=types.SimpleNamespace(run_id="r1"))

    def log_param(self, *a):
        self.calls.append(("param", *a))

    def log_metric(self, *a, step):
        self.calls.append(("metric", *a, step))

    def set_terminated(self, run_id):
        self.calls.append(("end", run_id))


def _fake_mlflow(monkeypatch, client):
    mod = types.ModuleType("mlflow")
    mod.uris = []  # type: ignore[attr-defined]
    mod.set_tracking_uri = mod.uris.append  # type: ignore[attr-defined]
    mod.MlflowClient = lambda: client  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mlflow", mod)
    return mod


def test_mlflow_run_in_the_folder_params_metrics_and_resume(tmp_path, monkeypatch):
    client = _Client()
    mod = _fake_mlflow(monkeypatch, client)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    _manifest(tmp_path)
    logger = loggers.MlflowLogger(tmp_path)
    logger.on_start(10, 0)
    assert mod.uris == [(tmp_path / "mlruns").resolve().as_uri()]
    assert loggers.os.environ["MLFLOW_ALLOW_FILE_STORE"] == "true"
    made = [("get", "sgtk"), ("create", "sgtk"), ("run", "e1", tmp_path.name)]
    params = [("param", "r1", "task", "text"), ("param", "r1", "task.seq", 8)]
    assert client.calls == [*made, *params, ("param", "r1", "train.lr", 0.1)]
    assert (tmp_path / "mlflow_run_id").read_text() == "r1\n"
    client.calls.clear()
    logger.on_eval(5, RECORD)
    logger.on_end(RESULT)
    evals = [("train_loss", 1.5, 5), ("val_acc", 0.25, 5), ("elapsed", 3.0, 5)]
    ends = [("test_loss", 0.5, 9), ("test_top_k", 0.75, 9)]
    assert client.calls == [*(("metric", "r1", *c) for c in evals + ends), ("end", "r1")]
    assert all(type(c[3]) is float for c in client.calls[:4])
    # resumed with a tracking server set: its URI is left alone, the same run continues
    again = _Client()
    mod = _fake_mlflow(monkeypatch, again)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://x")
    resumed = loggers.MlflowLogger(tmp_path)
    resumed.on_start(10, 5)
    assert mod.uris == [] and again.calls == [] and resumed.run_id == "r1"


def test_mlflow_reuses_the_sgtk_experiment(tmp_path, monkeypatch):
    client = _Client(types.SimpleNamespace(experiment_id="e9"))
    _fake_mlflow(monkeypatch, client)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://x")
    loggers.MlflowLogger(tmp_path).on_start(10, 0)
    assert client.calls == [("get", "sgtk"), ("run", "e9", tmp_path.name)]


def test_curves_plot_draws_the_log_with_units_and_title(tmp_path, monkeypatch):
    import sgtk.train.curves

    drawn = []
    monkeypatch.setattr(sgtk.train.curves, "plot_curves", lambda *a: drawn.append(a))
    MetricsLog(tmp_path / "metrics.jsonl").append(RECORD)
    loggers.CurvesPlot(tmp_path, {"loss": "MSE"}, "T").on_end({})
    assert loggers.CurvesPlot(tmp_path).title == ""  # no title unless given
    assert drawn == [([RECORD], tmp_path / "curves.png", "T", {"loss": "MSE"})]
