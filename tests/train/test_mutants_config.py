"""``sgtk.train.config`` without torch (kills its mutants: the exact one-line refusals of a
TOML file, the shipped layering, TOML's types on write, a run's record, the nearest key, and
each value kind a config checks)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sgtk.errors import SgtkError
from sgtk.train import config as cfg
from sgtk.train.config import (
    checked_kind,
    checked_values,
    default_config,
    did_you_mean,
    dumps_toml,
    read_config_file,
    read_toml,
    run_record,
    write_toml,
)
from sgtk.train.train_config import TrainConfig


def _refusal(path: Path, field: str | None = "config") -> str:
    with pytest.raises(SgtkError) as error:
        read_toml(path, field=field)
    assert error.value.field == field
    return str(error.value)


def test_read_toml_reads_a_table(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[train]\nlr = 0.5\n", encoding="utf-8")
    assert read_toml(path) == {"train": {"lr": 0.5}}


def test_read_toml_refusals_name_the_field_and_path(tmp_path):
    assert (
        _refusal(tmp_path)
        == f"config {tmp_path} is a directory, not a file: pass the file inside it"
    )
    missing = tmp_path / "m.toml"
    assert _refusal(missing, None) == f"TOML file {missing} does not exist: check the path"
    bad = tmp_path / "b.toml"
    bad.write_bytes(b"a = 1\n\xff\n")
    assert _refusal(bad) == f"config {bad} is not UTF-8 text (bad byte at offset 6): fix it"
    bad.write_text("a = \n", encoding="utf-8")
    assert _refusal(bad).startswith(f"config {bad} is not valid TOML (")
    assert _refusal(bad).endswith("): fix it")


def test_read_toml_refuses_more_than_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(cfg, "MAX_CONFIG_BYTES", 8)
    path = tmp_path / "c.toml"
    path.write_text("a = 12345", encoding="utf-8")  # 9 bytes
    assert _refusal(path) == (
        f"config {path} is larger than 8 bytes: a config is a few lines of TOML; check the path"
    )
    path.write_text("a = 1234", encoding="utf-8")  # exactly the limit
    assert read_toml(path) == {"a": 1234}
    assert cfg.MAX_CONFIG_BYTES == 8


def test_the_limit_is_one_mebibyte(tmp_path):
    path = tmp_path / "c.toml"
    path.write_bytes(b"#" * (1 << 20))
    assert read_toml(path) == {}
    path.write_bytes(b"#" * ((1 << 20) + 1))
    assert "is larger than 1,048,576 bytes" in _refusal(path)


def test_read_toml_refuses_an_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    path.write_text("a = 1", encoding="utf-8")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("builtins.open", denied)
    assert (
        _refusal(path) == f"config {path} cannot be read (Permission denied): check its permissions"
    )


def test_a_task_config_lays_its_train_table_over_the_shared_one():
    shared = default_config("train")
    assert set(shared) == {"train"} and shared["train"]["lr"] == 0.001
    text = default_config("text")
    assert text["train"] == {**shared["train"], **cfg._shipped("text").get("train", {})}
    assert set(shared["train"]) <= set(text["train"])


def test_an_unshipped_config_is_one_line():
    with pytest.raises(SgtkError) as error:
        default_config("nothing-here")
    assert str(error.value) == "sgtk ships no configs/nothing-here.toml: reinstall sgtk"


def test_dumps_toml_leaves_none_out_and_reads_back(tmp_path):
    data = {"t": {"a": None, "b": (1, Path("p")), 3: 'x\n"y"', "c": {"d": None, "e": True}}}
    assert tomllib.loads(dumps_toml(data)) == {
        "t": {"b": [1, "p"], "3": 'x\n"y"', "c": {"e": True}}
    }
    path = tmp_path / "w.toml"
    write_toml(path, {"s": {"f": 1.5, "g": None}})
    assert tomllib.loads(path.read_text(encoding="utf-8")) == {"s": {"f": 1.5}}


@dataclass
class _Cfg:
    hidden: int = 4
    rate: float = 0.5
    flag: bool = False
    label: str | None = None
    sizes: list[int] = field(default_factory=lambda: [1])
    lrs: dict[str, float] = field(default_factory=dict)
    pair: tuple[int, float] = (1, 2.0)


def test_run_record_repeats_the_run():
    record = run_record("copy", _Cfg(), TrainConfig(lr=0.5), "sgtk train copy")
    assert set(record) == {"run", "task", "train"}
    run = record["run"]
    assert (run["task"], run["command"]) == ("copy", "sgtk train copy")
    assert set(run) == {"task", "command", "sgtk", "torch", "torch_geometric", "python"}
    assert run["torch"] != "not installed" and run["python"].count(".") == 2
    assert record["task"]["hidden"] == 4 and record["train"]["lr"] == 0.5
    assert run_record("copy", {"a": 1}, TrainConfig(), "c")["task"] == {"a": 1}


def test_run_record_says_not_installed(monkeypatch):
    from importlib.metadata import PackageNotFoundError

    def missing(name):
        raise PackageNotFoundError(name)

    monkeypatch.setattr("importlib.metadata.version", missing)
    run = run_record("copy", {}, TrainConfig(), "c")["run"]
    assert run["sgtk"] == run["torch"] == run["torch_geometric"] == "not installed"


def test_did_you_mean_a_near_key_else_the_sorted_list():
    assert did_you_mean("lrr", ["lr", "steps"]) == "did you mean lr?"
    assert did_you_mean("zzz", ["steps", "lr"]) == "valid keys are lr, steps"


def test_checked_values_refuses_unknown_keys_and_bad_kinds():
    assert checked_values(_Cfg, "task", "f.toml", {"rate": 1}).rate == 1.0
    with pytest.raises(SgtkError) as error:
        checked_values(_Cfg, "task", "f.toml", {"zeta": 1, "hiden": 2})
    assert (
        str(error.value) == "unknown key(s) hiden, zeta in [task] of f.toml: did you mean hidden?"
    )
    with pytest.raises(SgtkError) as error:
        checked_values(_Cfg, "task", "f.toml", {"hidden": "4"})
    assert str(error.value) == "hidden = '4' in [task] of f.toml must be an integer: fix the value"


@pytest.mark.parametrize(
    ("annotation", "value", "expected"),
    [
        ("int", 3, (3, None)),
        ("float", 3, (3.0, None)),
        ("int | float", 3, (3, None)),
        ("float", True, (True, "must be a number: fix the value")),
        ("int", True, (True, "must be an integer: fix the value")),
        ("bool", True, (True, None)),
        ("bool", 1, (1, "must be true or false: fix the value")),
        ("str | None", None, (None, None)),
        ("str", 1, (1, "must be a string: fix the value")),
        ("int", 1e3, (1e3, "is not a whole number as written: write 1000")),
        ("int", 1.5, (1.5, "must be an integer: fix the value")),
        ("int", 1e19, (1e19, "must be an integer: fix the value")),
        ("int", -1e18, (-1e18, "is not a whole number as written: write -1000000000000000000")),
        ("Path", 1, (1, None)),
        ("list[int]", (1, 2), ([1, 2], None)),
        ("list[int]", 1, (1, "must be a list, e.g. [1, 2]: fix the value")),
        ("list[int]", [1, "x"], ([1, "x"], "holds a value that must be an integer: fix the value")),
        ("list[int]", None, (None, None)),
        ("dict[str, float]", {"a": 1}, ({"a": 1.0}, None)),
        ("dict[str,float]", [1], ([1], "must be a table, e.g. {rnn = 0.001}: fix the value")),
        (
            "dict[str, float]",
            {"a": "x"},
            ({"a": "x"}, "holds a value that must be a number: fix the value"),
        ),
        ("dict[str, float]", None, (None, None)),
        ("tuple[int, float]", [1, 2], ((1, 2.0), None)),
        ("tuple[int, float]", [1], ([1], "must be a list of 2 values: fix the value")),
        ("tuple[int, float]", 1, (1, "must be a list of 2 values: fix the value")),
        (
            "tuple[int, float]",
            [1, "x"],
            ((1, "x"), "holds a value that must be a number: fix the value"),
        ),
        ("tuple[int, float]", None, (None, None)),
        (int, 2.0, (2.0, "is not a whole number as written: write 2")),
    ],
)
def test_checked_kind(annotation, value, expected):
    got = checked_kind(annotation, value)
    assert got == expected and [type(x) for x in got] == [type(x) for x in expected]


def test_checked_kind_of_a_dataclass_field_annotation():
    assert checked_kind(_Cfg.__dataclass_fields__["sizes"].type, [2]) == ([2], None)


def _config_file(tmp_path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_read_config_file_takes_task_train_and_run(tmp_path):
    path = _config_file(tmp_path, "[run]\ntask = 'copy'\n[task]\na = 1\n[train]\nlr = 1\n")
    assert read_config_file(path, "copy")["task"] == {"a": 1}
    assert read_config_file(_config_file(tmp_path, "[task]\na = 1\n"), "sort") == {"task": {"a": 1}}


def test_read_config_file_refusals(tmp_path):
    path = _config_file(tmp_path, "lr = 1\n")
    with pytest.raises(SgtkError) as error:
        read_config_file(path, "copy")
    assert str(error.value) == (
        f"{path}: `lr = ...` must be a table such as [task] or [train]: "
        "see a run's config.toml for the layout"
    )
    path = _config_file(tmp_path, "[zed]\n[model]\n[task]\n")
    with pytest.raises(SgtkError) as error:
        read_config_file(path, "copy")
    assert str(error.value) == f"{path} has unknown table(s) [model], [zed]: use [task] and [train]"
    path = _config_file(tmp_path, "[run]\ntask = 'sort'\n")
    with pytest.raises(SgtkError) as error:
        read_config_file(path, "copy")
    assert (
        str(error.value) == f"{path} is a 'sort' config, not 'copy': use it with `sgtk train sort`"
    )
    with pytest.raises(SgtkError, match=r"^config "):
        read_config_file(tmp_path / "none.toml", "copy")
