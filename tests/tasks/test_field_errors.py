"""Library errors speak Python (issue 29): a bad setting is named as its config field
(``ConfigError.field``, the message starting with it), several settings in backticks; never
as a command-line flag, which only the CLI knows."""

import pytest

from sgtk.data.palindrome import PalindromeData
from sgtk.data.text import TextData
from sgtk.errors import ConfigError, SgtkError
from sgtk.tasks.curriculum import LengthCurriculum
from sgtk.tasks.molecule_config import MoleculeConfig
from sgtk.tasks.palindrome_config import PalindromeConfig
from sgtk.tasks.text_config import TextConfig
from tests.helpers import assert_one_line_error, invoke


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: TextConfig(hidden=0).validate(), "hidden"),
        (lambda: TextConfig(layers=0).validate(), "layers"),
        (lambda: TextConfig(seq_length=0).validate(), "seq_length"),
        (lambda: TextConfig(dropout=1.5).validate(), "dropout"),
        (lambda: TextConfig(embed=-1).validate(), "embed"),
        (lambda: TextConfig(model="gcn", carry_state=True).validate(), "carry_state"),
        (lambda: TextConfig(sample_every=-1).validate(), "sample_every"),
        (lambda: TextConfig(sample_length=-1).validate(), "sample_length"),
        (lambda: TextConfig(sample_tau=[0.0]).validate(), "sample_tau"),
        (lambda: PalindromeConfig(layers=0).validate(), "layers"),
        (lambda: PalindromeConfig(curriculum=50, length=10).validate(), "curriculum"),
        (lambda: MoleculeConfig(hidden=-1).validate(), "hidden"),
        (lambda: MoleculeConfig(split="stratified").validate(), "split"),
        (lambda: MoleculeConfig(augment=-1).validate(), "augment"),
        (lambda: MoleculeConfig(dropout=1.0).validate(), "dropout"),
        (lambda: MoleculeConfig(delimiter="|").validate(), "delimiter"),
        (lambda: LengthCurriculum(5, 10, threshold=2.0), "curriculum_threshold"),
        (lambda: TextData("abc" * 100, 0), "seq_length"),
        (lambda: PalindromeData(2), "length"),
    ],
)
def test_a_bad_setting_is_named_as_its_field(make, field):
    with pytest.raises(ConfigError) as e:
        make()
    message = str(e.value)
    assert e.value.field == field and message.startswith(field + " "), message
    assert "--" not in message, message


def test_one_error_names_one_field():
    """``hidden`` and ``layers`` were refused together, whichever was wrong."""
    with pytest.raises(ConfigError) as e:
        TextConfig(hidden=16, layers=0).validate()
    assert str(e.value) == "layers 0 must be positive, e.g. 4"


def test_a_curriculum_past_the_length_names_both_fields_as_python_spells_them():
    with pytest.raises(ConfigError) as e:
        LengthCurriculum(50, 10)
    assert str(e.value).startswith("curriculum 50 must lie between 3 and `length` 10")


def test_too_short_a_text_says_which_field_to_lower():
    with pytest.raises(SgtkError) as e:
        TextData("abcdefghij" * 20, 64)
    message = str(e.value)
    assert "`seq_length` of 64" in message and "lower `seq_length` to" in message, message
    assert "--" not in message, message


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("text", "--layers", "0"), "--layers 0 must be positive, e.g. 4"),
        (("palindrome", "--curriculum", "50", "--length", "10"),
         "--curriculum 50 must lie between 3 and --length 10"),
        (("molecules", "--split", "stratified"), "--split 'stratified' is unknown"),
    ],
)  # fmt: skip
def test_the_train_commands_show_the_fields_as_their_flags(tmp_path, args, says):
    r = invoke("train", *args, "--out", tmp_path / "r")
    assert_one_line_error(r, says)
    assert "`" not in r.output and not (tmp_path / "r").exists()


@pytest.mark.parametrize("config", ["PalindromeConfig", "MoleculeConfig"])
def test_an_unknown_readout_is_refused_before_training_naming_its_field(config):
    import sgtk

    with pytest.raises(ConfigError) as e:
        getattr(sgtk, config)(readout="median").validate()
    assert e.value.field == "readout" and str(e.value).startswith("readout 'median' is unknown")
