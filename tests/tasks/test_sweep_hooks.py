"""Each task answers a sweep's questions itself (SweepHooks), through its registry row: the
sweep asks, and names no task (issue 29)."""

import math

import pytest

from sgtk.experiments.runner import load_shared, make_task
from sgtk.experiments.sweep import RunSpec, Sweep
from sgtk.tasks.registry import TASK_REGISTRY
from sgtk.tasks.sweep_hooks import SweepHooks


@pytest.mark.parametrize("name", list(TASK_REGISTRY))
def test_every_registered_task_answers_the_sweeps_questions(name):
    cls = TASK_REGISTRY[name].task_class()
    assert issubclass(cls, SweepHooks) and cls.name == name
    for hook in ("sweep_values", "split_sizes"):  # no default answer: each task's own
        assert getattr(cls, hook) is not getattr(SweepHooks, hook), hook


def test_a_palindrome_run_is_built_sized_and_judged_by_its_task():
    sweep = Sweep.from_config("palindrome", lengths=[6], layers=[2])
    assert load_shared(sweep) is None
    gcn = make_task(sweep, RunSpec("gcn", "path", "gcn", length=6, layers=2), 8, None)
    assert (gcn.config.model, gcn.config.length, gcn.config.layers) == ("gcn", 6, 2)
    sizes = gcn.split_sizes()
    assert sizes["n_train"] + sizes["n_val"] + sizes["n_test"] == 10**gcn.data.num_free
    assert gcn.cannot_reach()  # 2 rounds on the path; the first digit is 4 hops away
    deep = make_task(sweep, RunSpec("gcn", "path", "gcn", length=6, layers=4), 8, None)
    assert not deep.cannot_reach()
    rnn = make_task(sweep, RunSpec("rnn", "path", "rnn", length=6), 8, None)
    assert not rnn.cannot_reach() and rnn.init_label() == "orthogonal"
    assert rnn.split_seed() is None  # every seed shares the palindromes' split


def test_the_assignment_protocol_reaches_the_task_config_through_its_object():
    sweep = Sweep.from_config("palindrome", lengths=[6], protocol="assignment")
    task = make_task(sweep, RunSpec("rnn", "path", "rnn", length=6), 8, None)
    assert task.config.one_hot is False and task.config.init == "xavier"


def test_text_runs_read_the_shared_text_and_carry_state_only_where_the_model_can():
    text = "".join(chr(97 + (i * 7) % 26) for i in range(6000))
    sweep = Sweep.from_config("text", carry_state=True, layers=[2])
    lstm = make_task(sweep, RunSpec("lstm", "path", "lstm"), 16, text)
    gcn = make_task(sweep, RunSpec("gcn", "path", "gcn", layers=2), 16, text)
    assert lstm.config.carry_state and not gcn.config.carry_state
    assert gcn.config.layers == 2 and lstm.config.sample_length == 0
    assert set(lstm.split_sizes()) == {"n_train", "n_val", "n_test"}
    # a row of an older version with only the loss gets bits per character
    row = {"test_loss": 1.0}
    assert lstm.derived_metrics(row) == {"test_bpc": round(1 / math.log(2), 4)}
    assert lstm.derived_metrics({"test_loss": 1.0, "test_bpc": 2.0}) == {}
