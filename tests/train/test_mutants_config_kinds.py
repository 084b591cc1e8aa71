"""More of ``sgtk.train.config``'s mutants: a union's refusal, nested kinds in a table, a
tuple's first item, the int bound, how much of a file is read, the shipped layering of a task
file without ``[train]``, and the versions a run's record names."""

from __future__ import annotations

import io
from importlib.metadata import version

import pytest

from sgtk.train import config as cfg
from sgtk.train.config import checked_kind, default_config, read_toml, run_record
from sgtk.train.train_config import TrainConfig


@pytest.mark.parametrize(
    ("annotation", "value", "expected"),
    [
        ("int | float", "x", ("x", "must be an integer or a number: fix the value")),
        ("int|str", 1.5, (1.5, "must be an integer or a string: fix the value")),
        (
            "dict[str, list[int]]",
            {"a": 1},
            ({"a": 1}, "holds a value that must be a list, e.g. [1, 2]: fix the value"),
        ),
        ("dict[str, tuple[int, float]]", {"a": [1, 2]}, ({"a": (1, 2.0)}, None)),
        (
            "tuple[int, float]",
            ["x", 1.0],
            (("x", 1.0), "holds a value that must be an integer: fix the value"),
        ),
        ("int", 2.0**63, (2.0**63, "must be an integer: fix the value")),
        ("int", 2.0**62, (2.0**62, f"is not a whole number as written: write {2**62}")),
    ],
)
def test_checked_kind_more(annotation, value, expected):
    assert checked_kind(annotation, value) == expected


def test_read_toml_reads_at_most_one_byte_past_the_limit(tmp_path, monkeypatch):
    sizes = []

    class Endless(io.RawIOBase):  # /dev/zero: a read without a size would never end
        def read(self, size=-1):
            sizes.append(size)
            return b"#" * size

    monkeypatch.setattr("builtins.open", lambda *a, **k: Endless())
    with pytest.raises(cfg.SgtkError, match="is larger than 1,048,576 bytes"):
        read_toml(tmp_path / "zero")
    assert sizes == [(1 << 20) + 1]


def test_a_task_file_without_train_gets_the_shared_train(monkeypatch):
    shipped = {"train": {"train": {"lr": 1.0}}, "t": {"task": {"a": 1}}, "plain": {"x": 1}}
    monkeypatch.setattr(
        cfg,
        "_shipped",
        lambda name: {k: dict(v) if isinstance(v, dict) else v for k, v in shipped[name].items()},
    )
    assert default_config("t") == {"task": {"a": 1}, "train": {"lr": 1.0}}
    assert default_config("plain") == {"x": 1}
    assert default_config("train") == {"train": {"lr": 1.0}}


def test_the_record_names_the_installed_versions():
    run = run_record("copy", {}, TrainConfig(), "c")["run"]
    assert run["sgtk"] == version("sgtk") and run["torch"] == version("torch")
    assert run["torch_geometric"] == version("torch-geometric")
