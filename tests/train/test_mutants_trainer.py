"""The Trainer's loop (sgtk/train/trainer.py) through the smallest fits there are: a Linear(2, 1)
for a handful of steps, its val figures scripted so that each rule of the loop shows in what a
user reads (metrics.jsonl, best.pt, the result, the callbacks, the one-line errors). Written
against mutmut's survivors (CONTRIBUTING.md "Mutation testing"); each test runs in well under a
second, so the mutation run can afford them on every trainer mutant.

Kills: fit (when it evaluates and checkpoints, the target, the resume), _fit_to_budget,
_restore (the progress line), _train_step (the two divergence lines, the logs), _evaluate (best
on eligible evaluations only, best_val, the after_eval event), _agree_on_request, _finish (the
report on best.pt's weights, the final record, the result), _best_config, _diverged."""

import dataclasses
import math

import pytest
import torch

from sgtk.train import trainer as trainer_module
from sgtk.train.callbacks import Callback
from sgtk.train.checkpoint import load_checkpoint
from sgtk.train.loop import TrainingDiverged
from sgtk.train.progress import ProgressState
from sgtk.train.trainer import TrainConfig, Trainer
from tests.train.scripted_fits import (  # noqa: F401  (no_curves_png: an autouse fixture)
    Fitted,
    Log,
    Scripted,
    no_curves_png,
    records_of,
    scripted_fit,
)


def test_evaluations_fall_on_multiples_of_eval_every_and_on_the_last_step(tmp_path):
    result, log, _ = scripted_fit(tmp_path, steps=5, checkpoint_every=3)
    assert [s for s, _ in log.of("eval")] == [2, 4, 5]
    assert log.of("checkpoint") == [(3,), (5,)]
    assert log.of("start") == [(5, 0)]
    assert [r["step"] for r in records_of(tmp_path)] == [2, 4, 5, 5]
    assert result["steps"] == 5 and result["stopped_by"] == "steps"


def test_best_pt_holds_the_best_val_and_the_report_is_of_its_weights(tmp_path):
    result, log, _ = scripted_fit(tmp_path, task=Scripted(vals=[0.3, 0.1, 0.2]))
    best = load_checkpoint(tmp_path / "best.pt")
    assert (best["task"], best["step"], best["metric"]) == ("scripted", 4, 0.1)
    assert result["val_loss"] == 0.1 and result["val_aux"] == 2.0
    assert not [k for k in result if k.startswith("train_")]
    torch.testing.assert_close(result["test_w"], best["model"]["weight"].sum().item())
    *records, final = records_of(tmp_path)
    assert final == {
        "final": True,
        "step": 6,
        "elapsed": final["elapsed"],
        "cpu_seconds": final["cpu_seconds"],
        "val_loss": 0.1,
        "val_aux": 2.0,
        "test_w": result["test_w"],
    }
    assert final["elapsed"] == round(final["elapsed"], 3) and 0 < final["elapsed"] < 3
    assert isinstance(result["seconds"], float) and result["seconds"] == round(result["seconds"], 2)
    assert abs(result["seconds"] - final["elapsed"]) <= 0.006
    assert final["cpu_seconds"] == round(final["cpu_seconds"], 3) and 0 < final["cpu_seconds"] < 3
    assert abs(result["cpu_seconds"] - final["cpu_seconds"]) <= 0.006
    assert result["run_dir"] == str(tmp_path)
    assert log.of("end") == [(result,)]


def test_best_pt_records_what_rebuilds_the_model_over_extra_config(tmp_path):
    config = TrainConfig(steps=2, eval_every=2, lr=0.05, batch_size=4)
    extra = {"model": "overridden", "note": 1}
    Trainer(Scripted(), config, tmp_path, extra_config=extra, progress=False).fit()
    best = load_checkpoint(tmp_path / "best.pt")
    assert best["config"] == {
        "task_config": {"model": "lin", "width": 2},
        "model": "lin",
        "width": 2,
        "note": 1,
    }


def test_an_ineligible_evaluation_never_chooses_best_nor_meets_the_target(tmp_path):
    task = Scripted(vals=[0.0, 0.5, 0.4], eligible_from=3)
    result, _, _ = scripted_fit(tmp_path, task=task, target=0.45)
    assert result["stopped_by"] == "target" and result["steps"] == 6
    assert load_checkpoint(tmp_path / "best.pt")["step"] == 6
    assert result["val_loss"] == 0.4


def test_the_target_stops_at_the_first_evaluation_that_meets_it(tmp_path):
    task = Scripted(vals=[0.5, 0.2, 0.1])
    result, log, _ = scripted_fit(tmp_path, task=task, target=0.2, steps=10)
    assert (result["steps"], result["stopped_by"]) == (4, "target")
    assert log.of("checkpoint") == [(4,)]
    assert [s for s, _ in log.of("eval")] == [2, 4]


def test_the_tasks_event_is_logged_after_its_evaluation(tmp_path):
    scripted_fit(tmp_path, task=Scripted(event_at=4))
    records = records_of(tmp_path)
    assert records[2] == {"step": 4, "event": "grow"}
    assert [r["step"] for r in records[:2]] == [2, 4] and "val_loss" in records[1]


def test_train_figures_average_the_steps_since_the_last_evaluation(tmp_path):
    _, log, _ = scripted_fit(tmp_path)
    records = [r for _, r in log.of("eval")]
    assert [r["train_seen"] for r in records] == [1.5, 3.5, 5.5]
    keys = {"step", "elapsed", "train_loss", "train_seen", "val_loss", "val_aux", "sample"}
    assert set(records[0]) == keys and records[1]["sample"] == "at 4"


def test_each_step_reports_its_loss_the_tasks_figures_the_lr_and_the_time(tmp_path):
    _, log, _ = scripted_fit(tmp_path, lr=0.05, lr_schedule="step", lr_decay=0.5, lr_step=3)
    steps = log.of("step")
    assert [s for s, _ in steps] == [1, 2, 3, 4, 5, 6]
    assert set(steps[0][1]) == {"loss", "seen", "lr", "elapsed"}
    assert [logs["lr"] for _, logs in steps] == pytest.approx([0.05] * 3 + [0.025] * 3)
    assert [logs["seen"] for _, logs in steps] == [1, 2, 3, 4, 5, 6]
    assert all(logs["elapsed"] > 0 and logs["loss"] > 0 for _, logs in steps)


def test_a_non_finite_loss_names_the_step_it_broke_and_the_files_kept(tmp_path):
    with pytest.raises(TrainingDiverged) as e:
        scripted_fit(tmp_path, task=Scripted(nan_loss_at=3), checkpoint_every=2)
    assert str(e.value) == (
        "training diverged at step 3 (the loss became nan): lower the learning rate or "
        f"max_norm; {tmp_path} keeps the last finite checkpoint.pt of step 2 and best.pt of "
        "step 2"
    )


def test_weights_an_update_made_non_finite_end_the_run_at_that_step(tmp_path, monkeypatch):
    real = trainer_module.update

    def poisoned(loss, optimizer, parameters, *args):
        real(loss, optimizer, parameters, *args)
        if optimizer.state and len(poisoned.seen) == 2:
            with torch.no_grad():
                optimizer.param_groups[0]["params"][0].fill_(math.inf)
        poisoned.seen.append(1)

    poisoned.seen = []
    monkeypatch.setattr(trainer_module, "update", poisoned)
    with pytest.raises(TrainingDiverged) as e:
        scripted_fit(tmp_path)
    assert str(e.value) == (
        "training diverged at step 3 (the update made some weights NaN or inf): lower the "
        f"learning rate or max_norm; {tmp_path} keeps the last finite best.pt of step 2"
    )


def test_a_non_finite_val_figure_ends_the_run(tmp_path):
    with pytest.raises(TrainingDiverged, match=r"at step 4 \(val_loss became nan\)"):
        scripted_fit(tmp_path, task=Scripted(vals=[0.3, math.nan]))
    assert load_checkpoint(tmp_path / "best.pt")["step"] == 2


def test_the_budget_fit_replaces_the_config_and_says_so(tmp_path, capsys):
    task = Fitted()
    config = TrainConfig(steps=6, eval_every=2, lr=0.05, batch_size=4)
    trainer = Trainer(task, config, tmp_path, given=frozenset({"lr"}))
    result = trainer.fit()
    assert result["steps"] == 3 and trainer.config.batch_size == 2
    assert task.memory == [4, 2] and task.fits == [frozenset({"lr"})]
    err = capsys.readouterr().err
    assert "fitted: 3 steps of 2\n" in err and "scripted lin" in err
    Trainer(Fitted(), config, tmp_path / "quiet", progress=False).fit()
    assert capsys.readouterr().err == ""


def test_a_budget_fit_that_breaks_the_config_is_refused(tmp_path):
    class Broken(Scripted):
        def fit_to_budget(self, config, given=frozenset()):
            return dataclasses.replace(config, steps=0), ""

    config = TrainConfig(steps=6, eval_every=2, lr=0.05, batch_size=4)
    with pytest.raises(Exception, match="steps"):
        Trainer(Broken(), config, tmp_path, progress=False).fit()


def test_a_resume_continues_from_its_step_and_is_never_refitted(tmp_path):
    task = Fitted()
    scripted_fit(tmp_path, task=task)
    _, log, _ = scripted_fit(tmp_path, task=task, resume=True, steps=5)
    assert len(task.fits) == 1
    assert log.of("start") == [(5, 3)]
    assert [s for s, _ in log.of("step")] == [4, 5]


def test_a_stop_requested_at_an_evaluation_ends_the_run_with_its_reason(tmp_path):
    class StopAt4(Callback):
        def on_eval(self, step, record):
            if step == 4:
                trainer.request_stop("enough")

    config = TrainConfig(steps=10, eval_every=2, lr=0.05, batch_size=4, checkpoint_every=100)
    log = Log()
    trainer = Trainer(Scripted(), config, tmp_path, callbacks=[StopAt4(), log], progress=False)
    result = trainer.fit()
    assert (result["steps"], result["stopped_by"]) == (4, "enough")
    assert log.of("checkpoint") == [(4,)]


def test_a_progress_callback_replaces_the_plain_progress_line(tmp_path, capsys):
    config = TrainConfig(steps=2, eval_every=2, lr=0.05, batch_size=4)
    Trainer(Scripted(), config, tmp_path, callbacks=[Log(), ProgressState()]).fit()
    assert "scripted" not in capsys.readouterr().err
    Trainer(Scripted(), config, tmp_path / "plain").fit()
    lines = capsys.readouterr().err.splitlines()
    assert lines and all(line.startswith("scripted lin step ") for line in lines)
