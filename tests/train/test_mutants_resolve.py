"""``sgtk.train.resolve`` with a small task config class, no torch (kills its mutants: each
layer over the one before, the keys given, list values from text, the exact refusal lines of
an override, and an out-of-range override named as written)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from sgtk.errors import ConfigError, SgtkError
from sgtk.train.resolve import parse_overrides, resolve, resolve_layers
from sgtk.train.train_config import TrainConfig


@dataclass
class _Cfg:
    hidden: int = 4
    scales: list[float] = field(default_factory=lambda: [1.0])
    names: list[str] = field(default_factory=list)
    name: str = "a"

    def validate(self) -> None:
        if self.hidden <= 0:
            raise ConfigError("hidden", "hidden must be positive")
        if self.name == "bad":
            raise ConfigError("name", "a bad name: pick another")


@dataclass(frozen=True)
class _Task:
    name: str = "train"  # configs/train.toml: shipped [train] defaults, no [task] table

    def config_class(self) -> type:
        return _Cfg


CLASSES = {"task": _Cfg, "train": TrainConfig}


def test_without_layers_the_shipped_defaults_and_nothing_given():
    resolved = resolve_layers(_Task())
    assert resolved.task == _Cfg() and resolved.train == TrainConfig()
    assert resolved.given == frozenset()


def test_each_layer_overrides_the_one_before_and_is_given(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[task]\nhidden = 8\nname = 'f'\n[train]\nlr = 0.5\nsteps = 7\n")
    resolved = resolve_layers(
        _Task(),
        path,
        task_values={"hidden": 16, "name": None},
        train_values={"lr": 0.25},
        overrides=["train.lr=0.125"],
    )
    assert (resolved.task.hidden, resolved.task.name) == (16, "f")
    assert (resolved.train.lr, resolved.train.steps) == (0.125, 7)
    assert resolved.given == {"task.hidden", "task.name", "train.lr", "train.steps"}
    assert resolved.given_keys() == {"hidden", "name", "lr", "steps"}


def test_a_mapping_layer_is_the_runs_own_config():
    layer = {"task": {"hidden": 3}, "train": {}}
    task, train = resolve(_Task(), layer)
    assert task.hidden == 3 and train == TrainConfig()
    with pytest.raises(SgtkError, match=r"\[task\] of the run's own config"):
        resolve(_Task(), {"task": {"hiden": 3}})


def test_a_bad_value_names_its_layer():
    with pytest.raises(SgtkError, match=r"hidden = 'x' in \[task\] of the values must be"):
        resolve(_Task(), task_values={"hidden": "x"})


def test_a_comma_list_given_as_text_is_split():
    task, _ = resolve(_Task(), task_values={"scales": "0.5, 2", "names": "a,b"})
    assert task.scales == [0.5, 2.0] and task.names == ["a", "b"]
    task, _ = resolve(_Task(), task_values={"name": "x,y"})
    assert task.name == "x,y"


def test_overrides_parse_toml_values_and_bare_text():
    parsed = parse_overrides(
        [" train.lr = 0.5", "task.name=two words", "task.scales=0.5,1,2", 'task.names=["q"]'],
        CLASSES,
    )
    assert parsed == {
        "task": {"name": "two words", "scales": [0.5, 1.0, 2.0], "names": ["q"]},
        "train": {"lr": 0.5},
    }
    assert parse_overrides(["task.names=a, b"], CLASSES)["task"]["names"] == ["a", "b"]
    assert parse_overrides([], CLASSES) == {"task": {}, "train": {}}


def test_a_bad_list_item_is_one_line_naming_it():
    with pytest.raises(ConfigError) as error:
        parse_overrides(["task.scales=0.5,x,2"], CLASSES)
    assert str(error.value) == (
        "scales 0.5,x,2: 'x' is not a number; pass numbers separated by commas, e.g. 0.5,1,2"
    )
    assert error.value.field == "scales"


def test_an_override_without_a_section_or_equals_is_refused():
    for item in ("lr=0.5", "train.lr"):
        with pytest.raises(SgtkError) as error:
            parse_overrides([item], CLASSES, "--set")
        assert str(error.value) == (
            f"{item!r} in --set is not section.key=value: e.g. train.weight_decay=0.1"
        )


def test_an_unknown_section_or_key_is_refused_by_name():
    with pytest.raises(SgtkError) as error:
        parse_overrides(["model.lr=1"], CLASSES, "--set")
    assert (
        str(error.value) == "unknown section model in --set (model.lr=1): use task.KEY or train.KEY"
    )
    with pytest.raises(SgtkError) as error:
        parse_overrides(["train.lrr=1"], CLASSES, "--set")
    assert str(error.value) == "unknown key train.lrr in --set: did you mean train.lr?"


def test_a_value_of_the_wrong_kind_is_named_as_written():
    with pytest.raises(SgtkError) as error:
        parse_overrides(["train.steps= 1e3 "], CLASSES, "--set")
    assert str(error.value) == (
        "train.steps=1e3 in --set is not a whole number as written: write 1000"
    )


def test_an_out_of_range_override_is_named_as_written():
    with pytest.raises(SgtkError) as error:
        resolve(_Task(), overrides=["train.lr=-1"], source="--set")
    assert str(error.value) == "train.lr -1.0 must be positive, e.g. 1e-3 (in --set)"
    with pytest.raises(SgtkError) as error:
        resolve(_Task(), overrides=["task.name=bad"], source="--set")
    assert str(error.value) == "task.name: a bad name: pick another (in --set)"


def test_an_out_of_range_value_not_overridden_is_left_to_the_front_end():
    task, train = resolve(_Task(), train_values={"lr": -1.0}, overrides=["task.hidden=2"])
    assert train.lr == -1.0 and task.hidden == 2
    task, _ = resolve(_Task(), task_values={"hidden": 0})
    assert task.hidden == 0


def test_a_bad_value_in_a_config_file_names_the_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[run]\ntask = 'train'\n[task]\nhidden = 'x'\n")
    with pytest.raises(SgtkError) as error:
        resolve(_Task(), path)
    assert str(error.value) == (
        f"hidden = 'x' in [task] of {path} must be an integer: fix the value"
    )


def test_a_config_file_written_for_the_task_is_taken(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[run]\ntask = 'train'\n[task]\nhidden = 5\n")
    assert resolve(_Task(), path)[0].hidden == 5


def test_a_bad_override_is_named_after_a_front_end_value(tmp_path):
    # the task's bad value is left to its front end; the override after it is still named
    with pytest.raises(SgtkError) as error:
        resolve(_Task(), task_values={"hidden": 0}, overrides=["train.lr=-1"], source="--set")
    assert str(error.value) == "train.lr -1.0 must be positive, e.g. 1e-3 (in --set)"


def test_the_default_source_is_named_overrides():
    for call in (
        lambda: parse_overrides(["x"], CLASSES),
        lambda: resolve(_Task(), overrides=["x"]),
        lambda: resolve_layers(_Task(), overrides=["x"]),
    ):
        with pytest.raises(SgtkError, match=r"^'x' in overrides is not section.key=value"):
            call()
    with pytest.raises(SgtkError, match=r"^'x' in --set is not"):
        resolve_layers(_Task(), overrides=["x"], source="--set")


def test_a_dotted_key_and_an_equals_in_a_value():
    with pytest.raises(SgtkError) as error:
        parse_overrides(["train.lr.x=1"], CLASSES)
    assert str(error.value).startswith("unknown key train.lr.x in overrides: ")
    assert parse_overrides(["task.name=a=b"], CLASSES)["task"] == {"name": "a=b"}


def test_the_shipped_layer_is_laid_first_and_named(monkeypatch):
    from sgtk.train import resolve as module

    shipped = {"task": {"hidden": 7}, "train": {"lr": 0.5, "steps": 3}}
    monkeypatch.setattr(module, "default_config", lambda name: shipped)
    task, train = resolve(_Task(name="mine"), train_values={"steps": 4})
    assert (task.hidden, train.lr, train.steps) == (7, 0.5, 4)
    shipped["task"] = {"hidden": "x"}
    with pytest.raises(SgtkError) as error:
        resolve(_Task(name="mine"))
    assert str(error.value) == (
        "hidden = 'x' in [task] of configs/mine.toml must be an integer: fix the value"
    )
