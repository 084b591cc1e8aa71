"""The loop's rules, one at a time, on plain values (sgtk.train.loop): when a run stops and
why, when it checkpoints, what counts as a divergence, when --target is met."""

import math
import time

import pytest

from sgtk.train.loop import (
    CPU,
    WALL,
    LoopState,
    StopVerdict,
    TrainingDiverged,
    diverged,
    evaluation_record,
    non_finite_val,
    reached,
    stop_verdict,
    test_keys,
)

NONE = (0, 0, 0, 0)  # nothing agreed: no time up, no minutes due, no signal, no request


def test_a_run_goes_on_until_its_last_step():
    assert stop_verdict(5, 10, 3, NONE, None) == StopVerdict(False, False, 0, None)
    assert stop_verdict(10, 10, 3, NONE, None) == StopVerdict(True, False, 0, "steps")


def test_checkpoints_fall_on_multiples_of_checkpoint_every_or_when_minutes_are_due():
    assert stop_verdict(6, 10, 3, NONE, None).checkpoint_due
    assert not stop_verdict(7, 10, 3, NONE, None).checkpoint_due
    assert stop_verdict(7, 10, 3, (0, 1, 0, 0), None).checkpoint_due
    assert not stop_verdict(7, 10, 3, (0, 1, 0, 0), None).done


def test_time_up_stops_the_run_by_time_unless_the_steps_are_done_too():
    assert stop_verdict(4, 10, 3, (1, 0, 0, 0), None) == StopVerdict(True, False, 0, "time")
    assert stop_verdict(10, 10, 7, (1, 0, 0, 0), None).stopped_by == "steps"


def test_a_request_stops_with_its_reason_and_time_wins_over_it():
    assert stop_verdict(4, 10, 3, (0, 0, 0, 1), "patience").stopped_by == "patience"
    assert stop_verdict(4, 10, 3, (0, 0, 0, 1), None).stopped_by == "stop request"
    assert stop_verdict(4, 10, 3, (1, 0, 0, 1), "patience").stopped_by == "time"


def test_a_signal_is_passed_on_without_ending_the_run_by_itself():
    verdict = stop_verdict(4, 10, 3, (0, 0, 15.0, 0), None)
    assert verdict == StopVerdict(False, False, 15, None) and isinstance(verdict.signum, int)


def test_a_stop_reason_alone_on_this_rank_does_not_stop_without_agreement():
    assert not stop_verdict(4, 10, 3, NONE, "patience").done


def test_every_non_finite_val_figure_is_named_and_nothing_else():
    record = {"step": 3, "val_loss": math.nan, "val_acc": 0.5, "val_x": math.inf, "loss": math.nan}
    assert non_finite_val(record) == ["val_loss became nan", "val_x became inf"]
    assert non_finite_val({"val_loss": -math.inf, "val_n": 3}) == ["val_loss became -inf"]
    assert non_finite_val({"val_loss": 0.0, "sample": "nan"}) == []


def test_target_is_met_at_or_beyond_it_in_the_better_direction():
    assert reached(0.9, 0.9, "max") and reached(0.95, 0.9, "max") and not reached(0.8, 0.9, "max")
    assert reached(0.1, 0.1, "min") and reached(0.05, 0.1, "min") and not reached(0.2, 0.1, "min")


def test_test_keys_are_found_in_every_record_and_sorted():
    assert test_keys({"test_b": 1, "val_a": 2}, {"test_a": 3, "x_test_c": 4}) == [
        "test_a",
        "test_b",
    ]
    assert test_keys({"val_loss": 1}) == []


def test_the_divergence_line_names_the_step_what_and_the_files_kept():
    e = diverged("runs/r", 11, "the loss became nan", 10, 8, True)
    assert isinstance(e, TrainingDiverged)
    assert str(e) == (
        "training diverged at step 11 (the loss became nan): lower the learning rate or "
        "max_norm; runs/r keeps the last finite checkpoint.pt of step 10 and best.pt of step 8"
    )
    assert str(diverged("r", 3, "w", None, None, False)).endswith("r keeps the last finite files")
    assert str(diverged("r", 3, "w", None, None, True)).endswith("last finite best.pt")
    assert str(diverged("r", 3, "w", 2, None, False)).endswith("checkpoint.pt of step 2")
    # a best.pt from an earlier process of this run (step unknown) is still named
    assert str(diverged("r", 3, "w", None, 0, False)).endswith("last finite best.pt")


def test_an_evaluation_record_averages_the_train_statistics_since_the_last_one():
    run = LoopState(step=20, elapsed_before=1.23456, started=time.perf_counter())
    run.add_train_stats({"loss": 1.0, "acc": 0.5})
    run.add_train_stats({"loss": 3.0, "acc": 1.0})
    assert run.count == 2 and run.sums == {"loss": 4.0, "acc": 1.5}
    halves = []
    record = evaluation_record(
        run, {"val_loss": 0.5}, {"sample": "ab"}, lambda v: halves.append(v) or v, "T"
    )
    assert record["step"] == 20 and record["train_loss"] == 2.0 and record["train_acc"] == 0.75
    assert record["val_loss"] == 0.5 and record["sample"] == "ab" and halves == [2.0, 0.75]
    assert 1.234 <= record["elapsed"] < 2.0  # the earlier processes' seconds, plus this one's
    assert list(record)[:2] == ["step", "elapsed"]


def test_an_evaluation_without_train_steps_has_no_train_figures():
    record = evaluation_record(LoopState(step=0), {"val_loss": 1.0}, {}, float, "T")
    assert record == {"step": 0, "elapsed": record["elapsed"], "val_loss": 1.0}


def test_an_evaluation_with_test_figures_is_refused_naming_the_task():
    with pytest.raises(
        TypeError, match=r"MyTask.evaluate returned \['test_loss'\]: move them to report"
    ):
        evaluation_record(LoopState(), {"val_loss": 1.0}, {"test_loss": 2.0}, float, "MyTask")


def test_elapsed_counts_the_earlier_processes_of_the_run():
    run = LoopState(elapsed_before=100.0)
    assert 100.0 <= run.elapsed() < 101.0


def test_the_clock_says_when_the_budget_is_spent_and_when_a_checkpoint_is_due():
    now = time.perf_counter()
    run = LoopState(elapsed_before=50.0, started=now, last_checkpoint=now - 61.0)
    assert run.clock_due(None, None) == (False, False)
    assert run.clock_due(49.0, 1.0) == (True, True)
    assert run.clock_due(60.0, 2.0) == (False, False)
    assert run.clock_due(50.0, 61.0 / 60) == (True, True)  # at the limit counts


def test_a_spent_cpu_budget_stops_the_run_by_cpu_time_and_wins_over_the_wall_clock():
    assert stop_verdict(4, 10, 3, (CPU, 0, 0, 0), None) == StopVerdict(True, False, 0, "cpu time")
    assert stop_verdict(4, 10, 3, (WALL, 0, 0, 1), "patience").stopped_by == "time"
    assert stop_verdict(10, 10, 7, (CPU, 0, 0, 0), None).stopped_by == "steps"


def test_cpu_seconds_count_the_earlier_processes_and_this_ones_work_not_its_waits():
    run = LoopState(cpu_before=100.0)
    time.sleep(0.2)  # waiting costs no CPU
    assert 100.0 <= run.cpu_seconds() < 100.1
    end = time.process_time() + 0.05
    while time.process_time() < end:  # working does
        pass
    assert run.cpu_seconds() >= 100.05


def test_the_clock_says_which_budget_is_spent():
    now, cpu = time.perf_counter(), time.process_time()
    run = LoopState(elapsed_before=50.0, started=now, cpu_before=20.0, cpu_started=cpu)
    assert run.clock_due(None, None, 30.0)[0] == 0
    assert run.clock_due(None, None, 20.0)[0] == CPU  # at the limit counts
    assert run.clock_due(100.0, None, 19.0)[0] == CPU
    assert run.clock_due(40.0, None, 19.0)[0] == CPU  # both spent: the CPU budget is named
    assert run.clock_due(40.0, None, 30.0)[0] == WALL
