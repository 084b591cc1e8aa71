"""Unit tests of the run folder and the checkpoint schemas (sgtk.train.run_dir, train_state):
what a fresh run refuses, what a resume checks, what each file holds. Written against
mutmut's survivors (CONTRIBUTING.md "Mutation testing"); no CLI, no subprocess."""

import json
import math

import pytest
from torch import nn

from sgtk.errors import SgtkError
from sgtk.train.checkpoint import save_checkpoint
from sgtk.train.fingerprint import file_fingerprint, text_fingerprint
from sgtk.train.run_dir import (
    ARTEFACTS,
    RunFolder,
    as_plain,
    best_record,
    differences,
    read_best,
    read_last,
)
from sgtk.train.train_config import TrainConfig
from sgtk.train.train_state import (
    VERSION,
)
from tests.train.test_mutants_train_state import _state


# ---- fingerprints and plain configs -------------------------------------------------------
def test_fingerprints_are_size_and_sha256(tmp_path):
    (tmp_path / "d.txt").write_bytes(b"abc")
    sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert file_fingerprint(tmp_path / "d.txt") == {"file": "d.txt", "size": 3, "sha256": sha}
    assert text_fingerprint("d", "abc") == {"file": "d", "size": 3, "sha256": sha}
    assert text_fingerprint("d", "é")["size"] == 2  # bytes, not characters
    assert file_fingerprint(tmp_path / "pipe") == {"file": "pipe"}


def test_a_big_file_is_hashed_whole(tmp_path):
    data = bytes(range(256)) * 5000  # more than one 1 MiB chunk
    (tmp_path / "big").write_bytes(data)
    import hashlib

    got = file_fingerprint(tmp_path / "big")
    assert got["size"] == len(data) and got["sha256"] == hashlib.sha256(data).hexdigest()


def test_as_plain_and_differences():
    assert as_plain(TrainConfig(steps=3))["steps"] == 3
    assert as_plain({"p": tmp_path_like()}) == {"p": "x/y"} and as_plain(None) == {}
    saved = {"a": 1, "b": "x" * 64, "c": 2}
    now = {"a": 2, "b": "y" * 64, "d": 3}
    assert differences(saved, now) == ["a 1 -> 2", "b xxxxxxxx… -> yyyyyyyy…"]
    assert differences({"s": "short"}, {"s": "other"}) == ["s 'short' -> 'other'"]


def tmp_path_like():
    from pathlib import PurePosixPath

    return PurePosixPath("x/y")


# ---- a fresh run --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ARTEFACTS)
def test_any_run_file_refuses_a_fresh_run(tmp_path, name):
    (tmp_path / name).write_text("x")
    with pytest.raises(
        SgtkError, match=f"already holds a run .{name}.: .*choose another `run_dir`"
    ):
        RunFolder(tmp_path).check_fresh()


def test_a_checkpoint_suggests_resume_and_an_empty_folder_is_fresh(tmp_path):
    RunFolder(tmp_path).check_fresh()
    (tmp_path / "checkpoint.pt").write_text("x")
    (tmp_path / "best.pt").write_text("x")
    with pytest.raises(SgtkError, match=r"\(checkpoint.pt, best.pt\): set `resume` to continue"):
        RunFolder(tmp_path).check_fresh()


def test_an_unwritable_folder_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SgtkError, match=r"cannot write to output directory .*file/run \("):
        RunFolder(tmp_path / "file" / "run").check_writable()
    RunFolder(tmp_path / "new" / "run").check_writable()
    assert list((tmp_path / "new" / "run").iterdir()) == []


def test_open_writes_the_manifest_and_config_toml_and_a_resume_records_itself(tmp_path):
    folder = RunFolder(tmp_path / "r")
    train = TrainConfig(steps=5)
    folder.open(False, "sgtk train toy", 0, "toy", {"n": 3}, train, lambda: {"file": "d"})
    manifest = folder.read_manifest()
    assert manifest["format"] == 1 and manifest["task"] == "toy"
    assert manifest["task_config"] == {"n": 3} and manifest["train_config"]["steps"] == 5
    assert manifest["fingerprint"] == {"file": "d"} and manifest["command"] == "sgtk train toy"
    assert manifest["resumes"] == [] and manifest["started"][:2] == "20"
    assert (folder.path / "config.toml").is_file() and folder.saved_task_config() == {"n": 3}
    for step in (5, 10, 20):
        folder.metrics.append({"step": step})
    train.steps = 9
    folder.open(True, "again", 10, "toy", {"n": 3}, train, lambda: pytest.fail("no fingerprint"))
    resumes = folder.read_manifest()["resumes"]
    assert resumes == [{"command": "again", "step": 10, "train_config": as_plain(train)}]
    assert [r["step"] for r in folder.metrics.read()] == [5, 10]
    with pytest.raises(SgtkError, match="already holds a run"):
        folder.open(False, "", 0, "toy", {}, train, dict)


def test_a_resume_without_a_manifest_records_nothing(tmp_path):
    RunFolder(tmp_path).record_resume("c", 3, TrainConfig())
    assert not (tmp_path / "manifest.json").exists()
    assert RunFolder(tmp_path).saved_task_config() is None


# ---- the manifest -------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["{", "[1]", '{"task": 3}', "\xff"])
def test_a_damaged_manifest_is_one_line(tmp_path, text):
    (tmp_path / "manifest.json").write_bytes(text.encode("latin-1"))
    with pytest.raises(SgtkError, match="manifest.json is damaged .*: restore it from a copy"):
        RunFolder(tmp_path).read_manifest()


def test_a_huge_manifest_is_refused_without_reading_it_all(tmp_path, monkeypatch):
    from sgtk.train import run_dir

    monkeypatch.setattr(run_dir, "MAX_MANIFEST_BYTES", 10)
    (tmp_path / "manifest.json").write_text('{"task": "toy"}')
    with pytest.raises(SgtkError, match="larger than 10 bytes"):
        RunFolder(tmp_path).read_manifest()
    (tmp_path / "manifest.json").write_text('{"task":""}')  # 11 bytes: one over
    with pytest.raises(SgtkError, match="larger than 10 bytes"):
        RunFolder(tmp_path).read_manifest()
    (tmp_path / "manifest.json").write_text('{"task":1}')  # 10 bytes: read, then refused
    with pytest.raises(SgtkError, match="not a manifest object"):
        RunFolder(tmp_path).read_manifest()


# ---- a resume -----------------------------------------------------------------------------
def _started(tmp_path, task_config=None, fingerprint=None):
    folder = RunFolder(tmp_path)
    folder.start("toy", task_config or {"n": 3, "root": "data"}, TrainConfig(),
                 fingerprint or {"file": "d", "size": 1}, "c")  # fmt: skip
    return folder


def test_a_resume_refuses_another_task_a_changed_config_or_changed_data(tmp_path):
    folder = _started(tmp_path)
    folder.check_same_run("toy", {"n": 3, "root": "data"}, {"file": "d", "size": 1})
    with pytest.raises(SgtkError, match="holds a 'toy' run, not 'text': resume it with `sgtk"):
        folder.check_same_run("text", {"n": 3})
    with pytest.raises(SgtkError, match=r"would change the run's task \(n 3 -> 4\)"):
        folder.check_same_run("toy", {"n": 4, "root": "data"})
    with pytest.raises(SgtkError, match=r"the data changed since this run started \(d: size 1"):
        folder.check_same_run("toy", {"n": 3}, {"file": "d", "size": 2})
    folder.check_same_run("toy", {"n": 3}, None)  # no fingerprint given: the data unchecked


def test_where_the_data_lives_is_no_part_of_the_task(tmp_path):
    folder = _started(tmp_path)
    folder.check_same_run("toy", {"n": 3, "root": None}, {"file": "d", "size": 1})
    folder.check_same_run("toy", {"n": 3, "root": "/elsewhere"})


def test_the_data_is_named_by_its_dataset_without_a_file(tmp_path):
    folder = _started(tmp_path, fingerprint={"dataset": "freesolv", "key": 1})
    with pytest.raises(SgtkError, match=r"\(freesolv: key 1 -> 2\)"):
        folder.check_same_run("toy", {"n": 3}, {"dataset": "freesolv", "key": 2})
    (tmp_path / "o").mkdir()
    other = _started(tmp_path / "o", fingerprint={"key": 1})
    with pytest.raises(SgtkError, match=r"\(the data: key 1 -> 2\)"):
        other.check_same_run("toy", {"n": 3}, {"key": 2})


def test_without_a_manifest_the_checkpoints_task_config_is_the_reference(tmp_path):
    folder = RunFolder(tmp_path)
    state = _state(task_config={"n": 3})
    folder.check_same_run("toy", {"n": 3}, {"file": "x"}, state)
    with pytest.raises(SgtkError, match=r"n 3 -> 5"):
        folder.check_same_run("toy", {"n": 5}, None, state)
    with pytest.raises(SgtkError, match="holds a 'toy' run, not 'text'"):
        folder.check_same_run("text", {}, None, state)
    folder.check_same_run("anything", {"n": 1})  # nothing to compare with


def test_resume_state_checks_the_checkpoint_against_this_run(tmp_path):
    folder = _started(tmp_path)
    with pytest.raises(
        SgtkError,
        match="`resume` given, but .* has no checkpoint.pt: drop `resume` to start a new run "
        "in another `run_dir`, or point `run_dir` at an earlier run$",
    ):
        folder.resume_state("toy", {"n": 3}, {"file": "d", "size": 1}, "adam", 1)
    folder.save_state(_state())
    got = folder.resume_state("toy", {"n": 3}, {"file": "d", "size": 1}, "adamw", 1)
    assert got.step == 7 and got.version == VERSION
    with pytest.raises(SgtkError, match="is a 'toy' checkpoint, not 'text'"):
        folder.resume_state("text", {"n": 3}, {}, "adam", 1)
    with pytest.raises(
        SgtkError, match=r"checkpoint.pt was written by 1 process\(es\); resume it with .*now 2"
    ):
        folder.resume_state("toy", {"n": 3}, {"file": "d", "size": 1}, "adam", 2)
    with pytest.raises(
        SgtkError, match="checkpoint.pt was trained with `optimizer` adam, and its state cannot"
    ):
        folder.resume_state("toy", {"n": 3}, {"file": "d", "size": 1}, "sgd", 1)
    with pytest.raises(SgtkError, match=r"would change the run's task \(n 3 -> 4\)"):
        folder.resume_state("toy", {"n": 4}, {"file": "d", "size": 1}, "adam", 1)
    with pytest.raises(SgtkError, match=r"the data changed since this run started"):
        folder.resume_state("toy", {"n": 3}, {"file": "d", "size": 2}, "adam", 1)
    folder.manifest_path.unlink()  # an older run: its checkpoint's task config is the reference
    folder.save_state(_state(task_config={"n": 3}))
    with pytest.raises(SgtkError, match=r"would change the run's task \(n 3 -> 4\)"):
        folder.resume_state("toy", {"n": 4}, {}, "adam", 1)
    save_checkpoint({"task": "toy"}, folder.checkpoint_path)
    with pytest.raises(SgtkError, match=r"checkpoint.pt lacks the key 'model' that a resume"):
        folder.load_state()


def test_the_manifest_is_written_as_json_without_nan(tmp_path):
    folder = RunFolder(tmp_path)
    with pytest.raises(ValueError):
        folder.start("toy", {"x": math.nan}, TrainConfig(), {}, "c")
    folder.start("toy", {"x": 1}, TrainConfig(), {}, "c")
    text = (tmp_path / "manifest.json").read_text()
    assert text.endswith("}\n") and json.loads(text)["task_config"] == {"x": 1}
    assert text.startswith('{\n "format": 1,')


def test_every_change_to_the_task_is_named_in_one_line(tmp_path):
    folder = _started(tmp_path)
    with pytest.raises(SgtkError) as e:
        folder.check_same_run("toy", {"n": 4, "m": 1, "root": "x"})
    assert str(e.value) == (
        "`resume` would change the run's task (n 3 -> 4): drop those changes, or start a new "
        "run with another `run_dir`"
    )
    (tmp_path / "two").mkdir()
    two = _started(tmp_path / "two", task_config={"n": 3, "m": 1})
    with pytest.raises(SgtkError, match=r"\(n 3 -> 4, m 1 -> 2\)"):
        two.check_same_run("toy", {"n": 4, "m": 2})


def test_the_manifest_is_read_in_one_bounded_read(tmp_path, monkeypatch):
    from sgtk.train import run_dir

    sizes = []

    class Recording:
        def __init__(self, path, mode):
            self.f = open(path, mode)  # noqa: SIM115

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def read(self, size=-1):
            sizes.append(size)
            return self.f.read(size)

    _started(tmp_path)
    monkeypatch.setattr(run_dir, "open", Recording, raising=False)
    assert RunFolder(tmp_path).read_manifest()["task"] == "toy"
    assert sizes == [run_dir.MAX_MANIFEST_BYTES + 1]


def test_a_manifest_that_is_no_object_is_one_line_ending_in_the_fix(tmp_path):
    (tmp_path / "manifest.json").write_text("[1]")
    with pytest.raises(SgtkError) as e:
        RunFolder(tmp_path).read_manifest()
    assert str(e.value) == (
        f"{tmp_path / 'manifest.json'} is damaged (not a manifest object): restore it from a "
        "copy, or start a new run with another `run_dir`"
    )


def test_a_resume_of_a_manifest_without_resumes_starts_the_list(tmp_path):
    (tmp_path / "manifest.json").write_text('{"task": "toy"}')
    RunFolder(tmp_path).record_resume("c", 3, TrainConfig())
    assert [r["step"] for r in RunFolder(tmp_path).read_manifest()["resumes"]] == [3]


def test_every_change_to_the_data_is_named(tmp_path):
    folder = _started(tmp_path, fingerprint={"file": "d", "size": 1, "sha256": "a"})
    with pytest.raises(SgtkError) as e:
        folder.check_same_run("toy", {"n": 3}, {"file": "d", "size": 2, "sha256": "b"})
    assert str(e.value) == (
        "`resume`: the data changed since this run started (d: size 1 -> 2, sha256 'a' -> 'b'): "
        "restore it, or start a new run with another `run_dir`"
    )


def test_every_reader_loads_onto_the_device_it_is_given(tmp_path, monkeypatch):
    from sgtk.train import checkpoint, run_dir, train_state

    devices = []
    real = checkpoint.load_checkpoint

    def spy(path, map_location="unset"):
        devices.append(map_location)
        return real(path, "cpu")

    for module in (run_dir, train_state, checkpoint):
        monkeypatch.setattr(module, "load_checkpoint", spy)
    folder = _started(tmp_path)
    folder.save_state(_state())
    folder.save_best(best_record("toy", nn.Linear(2, 1).state_dict(), 1, 0.0, {}))
    folder.load_state("meta")
    folder.load_state()  # on the CPU unless told otherwise
    folder.resume_state("toy", {"n": 3}, {"file": "d", "size": 1}, "adam", 1, "meta")
    read_last(tmp_path, "meta")
    read_best(tmp_path, "meta")
    checkpoint.load_model_state(nn.Linear(2, 1), tmp_path / "best.pt", "toy", "meta")
    assert devices == ["meta", "cpu"] + ["meta"] * 4
