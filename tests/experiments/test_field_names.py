"""The sweep's refusals speak Python (issue 29): they name its settings as ``Sweep`` and
``prepare`` spell them (`` `models` ``, `` `overrides` ``, `` `resume` ``, `` `out_dir` ``),
never as ``compare``'s flags; the CLI shows those (tests/cli/test_field_flags.py)."""

import pytest

from sgtk.errors import SgtkError
from sgtk.experiments.compare import check_out_dir
from sgtk.experiments.protocols import get_protocol
from sgtk.experiments.report import LAST_STEP_NOTE
from sgtk.experiments.sweep import Sweep


def _message(fn, *args, **kwargs) -> str:
    with pytest.raises(SgtkError) as e:
        fn(*args, **kwargs)
    text = str(e.value)
    assert "--" not in text, text
    return text


def test_an_empty_models_list_names_models():
    text = _message(Sweep.from_config, "palindrome", models=[])
    assert text.startswith("`models` is empty") and "e.g. rnn,gcn" in text


def test_an_override_that_is_not_key_value_names_overrides():
    text = _message(Sweep.from_config, "palindrome", overrides=["patience"])
    assert text.startswith("`overrides` 'patience' is not key=value")


def test_a_folder_holding_a_sweep_names_resume_and_out(tmp_path):
    (tmp_path / "runs" / "a-run").mkdir(parents=True)
    text = _message(check_out_dir, None, tmp_path, False)
    assert "set `resume` to finish it, or choose another `out_dir`" in text


def test_an_unknown_protocol_names_protocol():
    assert _message(get_protocol, "nope", "palindrome").startswith("unknown `protocol` 'nope'")


def test_the_last_step_note_names_the_protocol_as_data():
    assert "--" not in LAST_STEP_NOTE and LAST_STEP_NOTE.startswith("the assignment protocol")
