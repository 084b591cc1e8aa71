"""``sgtk.train.config_changes`` and ``sgtk.train.fingerprint`` (kills their mutants: the
plain form of a dataclass or mapping, a SHA-256 shortened to its head, the exact ``key old ->
new`` list and refusal line, and the size and digest of a file or text)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sgtk.train.config_changes import as_plain, differences, task_changed
from sgtk.train.fingerprint import file_fingerprint, text_fingerprint


@dataclass
class _Cfg:
    hidden: int = 4
    path: Path = Path("a/b")
    sizes: list[int] = field(default_factory=lambda: [1, 2])


def test_as_plain_turns_a_dataclass_into_json_types():
    assert as_plain(_Cfg()) == {"hidden": 4, "path": "a/b", "sizes": [1, 2]}


def test_as_plain_takes_a_mapping_and_none():
    assert as_plain({"a": (1, 2), "p": Path("x")}) == {"a": [1, 2], "p": "x"}
    assert as_plain(None) == {}


def test_as_plain_of_a_dataclass_class_is_refused_as_a_mapping():
    try:
        as_plain(_Cfg)
    except TypeError:
        return
    raise AssertionError("a class is not a config")


def test_differences_lists_changed_keys_only():
    saved = {"a": 1, "b": "x", "c": 3, "gone": 0}
    now = {"a": 1, "b": "y", "c": 4, "new": 5}
    assert differences(saved, now) == ["b 'x' -> 'y'", "c 3 -> 4"]


def test_a_sha256_is_shortened_to_its_head_and_other_text_is_not():
    old, new = "a" * 64, "b" * 64
    assert differences({"h": old}, {"h": new}) == ["h aaaaaaaa… -> bbbbbbbb…"]
    assert differences({"h": "a" * 63}, {"h": "b" * 63}) == [f"h {'a' * 63!r} -> {'b' * 63!r}"]
    assert differences({"n": 10**63}, {"n": 10**63 + 1}) == [f"n {10**63} -> {10**63 + 1}"]


def test_task_changed_is_one_line_naming_every_change():
    error = task_changed(["a 1 -> 2", "b 3 -> 4"])
    assert str(error) == (
        "`resume` would change the run's task (a 1 -> 2, b 3 -> 4): drop those changes, "
        "or start a new run with another `run_dir`"
    )


def test_file_fingerprint_is_size_and_sha256(tmp_path):
    data = b"x" * ((1 << 20) + 7)  # more than one read chunk
    path = tmp_path / "d.txt"
    path.write_bytes(data)
    assert file_fingerprint(str(path)) == {
        "file": "d.txt",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def test_a_path_that_is_not_a_file_gets_its_name_only(tmp_path):
    assert file_fingerprint(tmp_path / "missing.txt") == {"file": "missing.txt"}
    assert file_fingerprint(tmp_path) == {"file": tmp_path.name}


def test_text_fingerprint_counts_utf8_bytes():
    text = "héllo"
    data = text.encode("utf-8")
    assert text_fingerprint("stdin", text) == {
        "file": "stdin",
        "size": 6,
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def test_a_file_is_hashed_in_chunks_of_at_most_a_mebibyte(tmp_path, monkeypatch):
    import io

    path = tmp_path / "big.bin"
    path.write_bytes(b"")
    sizes = []

    class Big(io.BytesIO):  # a data file larger than memory must not be read at once
        def read(self, size=-1):
            sizes.append(size)
            return super().read(size)

    data = b"y" * (3 << 20)
    monkeypatch.setattr("builtins.open", lambda *a, **k: Big(data))
    got = file_fingerprint(path)
    assert got["size"] == len(data) and got["sha256"] == hashlib.sha256(data).hexdigest()
    assert all(isinstance(n, int) and 0 < n <= 1 << 20 for n in sizes)
