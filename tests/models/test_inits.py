"""An init a model cannot take is refused in one line, never silently replaced (issue 29):
``--model rnn --init chrono`` used to train with Xavier, ``--model gcn --init chrono`` with
the layers' own init, and no one was told."""

from __future__ import annotations

import pytest

from sgtk.choices import INITS
from sgtk.errors import SgtkError
from sgtk.models.recurrent import make_cell
from sgtk.models.registry import REGISTRY, check_init
from sgtk.tasks.palindrome_config import PalindromeConfig
from tests.helpers import assert_one_line_error, invoke

CELLS = [name for name, spec in REGISTRY.items() if spec.family == "recurrent"]


@pytest.mark.parametrize("name", CELLS)
def test_a_cell_takes_exactly_the_inits_its_row_lists(name):
    for init in INITS:
        if init == "auto":
            continue
        if init in REGISTRY[name].inits:
            cell = make_cell(name, 3, 4, init, t_max=20)
            assert type(cell).__name__ == REGISTRY[name].block.split(":")[1]
        else:
            with pytest.raises(SgtkError, match=f"does not apply to {name}"):
                make_cell(name, 3, 4, init, t_max=20)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_auto_is_the_model_s_own_init_and_one_it_can_take(name):
    assert check_init("auto", name) == REGISTRY[name].init
    assert REGISTRY[name].init in REGISTRY[name].inits


REFUSED = [("gcn", "chrono"), ("rnn", "chrono"), ("lstm", "orthogonal"), ("lstm-gcn", "orthogonal")]


@pytest.mark.parametrize(("model", "init"), REFUSED)
def test_the_config_refuses_an_init_the_model_cannot_take(model, init):
    with pytest.raises(SgtkError) as e:
        PalindromeConfig(model=model, init=init, length=5).validate()
    assert "\n" not in str(e.value) and "--" not in str(e.value)


def test_train_refuses_it_in_one_line_naming_the_flag(tmp_path):
    r = invoke("train", "palindrome", "--model", "rnn", "--init", "chrono", "--out", tmp_path / "r")
    assert_one_line_error(r, "--init", "rnn", "orthogonal")
    assert not (tmp_path / "r").exists()
