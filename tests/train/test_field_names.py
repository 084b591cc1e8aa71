"""The run folder's refusals speak Python (issue 29): they name the settings a person changes
(`` `resume` ``, `` `run_dir` ``, `` `optimizer` ``) as Python spells them, never as flags; the CLI
shows them as its flags (tests/cli/test_field_flags.py)."""

import pytest

from sgtk.errors import SgtkError
from sgtk.train.resume_rules import check_same_task
from sgtk.train.run_dir import RunFolder
from sgtk.train.train_state import check_optimizer
from tests.train.test_mutants_train_state import _state


def _message(fn, *args) -> str:
    with pytest.raises(SgtkError) as e:
        fn(*args)
    text = str(e.value)
    assert "--" not in text, text
    return text


def test_a_fresh_run_into_a_run_names_resume_and_out(tmp_path):
    (tmp_path / "checkpoint.pt").write_text("x")
    text = _message(RunFolder(tmp_path).check_fresh)
    assert "set `resume` to continue it, or choose another `run_dir`" in text


def test_a_resume_without_a_checkpoint_names_resume_and_out(tmp_path):
    text = _message(RunFolder(tmp_path).load_state)
    assert text.startswith("`resume` given") and "point `run_dir` at an earlier run" in text


def test_a_resume_with_another_optimizer_names_the_optimizer():
    text = _message(check_optimizer, _state(optimizer_kind="adam"), "rmsprop", "c.pt")
    assert "trained with `optimizer` adam" in text and "set `optimizer` to adam" in text


def test_a_resume_that_changes_the_task_names_resume(tmp_path):
    # a run from before manifests: its config.toml says what it was
    (tmp_path / "config.toml").write_text('[run]\ntask = "toy"\n[task]\nn = 3\n')
    text = _message(check_same_task, tmp_path, "toy", {"n": 4})
    assert text.startswith("`resume` would change the run's task (n 3 -> 4)")
