"""Unit tests of the run folder and the checkpoint schemas (sgtk.train.run_dir, train_state):
what a fresh run refuses, what a resume checks, what each file holds. Written against
mutmut's survivors (CONTRIBUTING.md "Mutation testing"); no CLI, no subprocess."""

import json
import math

import pytest
import torch
from torch import nn

from sgtk.errors import SgtkError
from sgtk.train.checkpoint import save_checkpoint
from sgtk.train.fingerprint import file_fingerprint, text_fingerprint
from sgtk.train.finite import NonFiniteWeights
from sgtk.train.run_dir import (
    ARTEFACTS,
    RunFolder,
    as_plain,
    best_record,
    differences,
    keep_last,
    read_best,
    read_last,
)
from sgtk.train.train_config import TrainConfig
from sgtk.train.train_state import (
    VERSION,
    TrainState,
    check_optimizer,
    optimizer_kind_of,
    restore,
)


def _state(**changes):
    model = nn.Linear(2, 1)
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 2)).sum().backward()
    opt.step()
    state = TrainState(
        task="toy", model=model.state_dict(), optimizer=opt.state_dict(),
        data_rng=[torch.Generator().get_state()], torch_rng=torch.get_rng_state(),
        task_state=[{"pos": 3}], step=7, elapsed=1.5, best=0.25,
    )  # fmt: skip
    for k, v in changes.items():
        setattr(state, k, v)
    return state


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
    with pytest.raises(SgtkError, match=f"already holds a run .{name}.: .*choose another --out"):
        RunFolder(tmp_path).check_fresh()


def test_a_checkpoint_suggests_resume_and_an_empty_folder_is_fresh(tmp_path):
    RunFolder(tmp_path).check_fresh()
    (tmp_path / "checkpoint.pt").write_text("x")
    (tmp_path / "best.pt").write_text("x")
    with pytest.raises(SgtkError, match=r"\(checkpoint.pt, best.pt\): pass --resume to continue"):
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
    with pytest.raises(SgtkError, match="--resume given, but .* has no checkpoint.pt"):
        folder.resume_state("toy", {"n": 3}, {"file": "d", "size": 1}, "adam", 1)
    folder.save_state(_state())
    got = folder.resume_state("toy", {"n": 3}, {"file": "d", "size": 1}, "adamw", 1)
    assert got.step == 7 and got.version == VERSION
    with pytest.raises(SgtkError, match="is a 'toy' checkpoint, not 'text'"):
        folder.resume_state("text", {"n": 3}, {}, "adam", 1)
    with pytest.raises(SgtkError, match=r"written by 1 process\(es\); resume it with .*now 2"):
        folder.resume_state("toy", {"n": 3}, {"file": "d", "size": 1}, "adam", 2)
    with pytest.raises(SgtkError, match="trained with --optimizer adam, and its state cannot"):
        folder.resume_state("toy", {"n": 3}, {"file": "d", "size": 1}, "sgd", 1)


# ---- the schemas --------------------------------------------------------------------------
def test_a_train_state_round_trips_and_drops_only_absent_optional_keys():
    state = _state(best=None)
    d = state.to_dict()
    assert "best" in d and d["best"] is None and "cuda_rng" not in d and "task_config" not in d
    assert d["version"] == VERSION
    back = TrainState.from_dict(d, "c.pt")
    assert back.step == 7 and back.best is None and back.task_state == [{"pos": 3}]
    assert isinstance(back.data_rng, list) and back.optimizer_kind == "adam"


def test_a_state_that_is_not_a_dict_or_too_new_is_one_line():
    with pytest.raises(
        SgtkError, match=r"c.pt is not an sgtk training checkpoint \(it holds a list"
    ):
        TrainState.from_dict([1], "c.pt")
    for version in (VERSION + 1, "1", True, 1.0):
        with pytest.raises(SgtkError, match=f"checkpoint version {version!r}, newer than this"):
            TrainState.from_dict({**_state().to_dict(), "version": version}, "c.pt")


@pytest.mark.parametrize("key", ["task", "model", "optimizer", "data_rng", "torch_rng",
                                 "task_state", "step", "elapsed", "best"])  # fmt: skip
def test_every_required_key_is_checked(key):
    d = _state().to_dict()
    del d[key]
    with pytest.raises(SgtkError, match=f"c.pt lacks the key '{key}' that a resume needs"):
        TrainState.from_dict(d, "c.pt")


@pytest.mark.parametrize(
    "key, value, want",
    [("step", 7.0, "an integer"), ("step", True, "an integer"), ("task", 1, "a string"),
     ("elapsed", "1", "an integer or a number"), ("best", "x", "an integer or a number or None"),
     ("best_val", [], "a dict"), ("torch_rng", [1], "a tensor"), ("data_rng", {}, "a list"),
     ("task_config", 3, "a dict or None"), ("optimizer_kind", 3, "a string or None")],
)  # fmt: skip
def test_a_mistyped_key_names_the_key_and_the_type_wanted(key, value, want):
    d = {**_state().to_dict(), key: value}
    with pytest.raises(
        SgtkError, match=f"c.pt: key '{key}' is {type(value).__name__}, not {want}:"
    ):
        TrainState.from_dict(d, "c.pt")


def test_a_version_0_checkpoint_reads_with_its_optimizer_guessed():
    d = _state().to_dict()
    for key in ("version", "best_val", "train_sums", "optimizer_kind"):
        d.pop(key, None)
    d["data_rng"], d["task_state"] = tuple(d["data_rng"]), ({},)
    back = TrainState.from_dict(d, "c.pt")
    assert back.version == 0 and back.optimizer_kind == "adam" and back.best_val == {}
    assert back.data_rng == list(d["data_rng"]) and back.task_state == [{}]


def test_the_optimizer_family_shows_in_its_state():
    def kind(make):
        w = nn.Parameter(torch.ones(1))
        opt = make([w])
        w.sum().backward()
        opt.step()
        return optimizer_kind_of(opt.state_dict())

    assert kind(torch.optim.Adam) == "adam" and kind(torch.optim.RMSprop) == "rmsprop"
    assert kind(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)) == "sgd"
    assert kind(lambda p: torch.optim.SGD(p, lr=0.1)) is None
    assert optimizer_kind_of({"state": {0: 3}}) is None and optimizer_kind_of({}) is None


def test_a_resume_may_move_within_an_optimizer_family_only():
    for saved, wanted in (("adam", "adamw"), ("sgd", "momentum"), ("rmsprop", "rmsprop")):
        check_optimizer(_state(optimizer_kind=saved), wanted, "c.pt")
    check_optimizer(_state(optimizer_kind=None), "sgd", "c.pt")
    with pytest.raises(SgtkError, match=r"c.pt was trained with --optimizer momentum, .* by "
                       r"rmsprop: drop --optimizer \(or pass --optimizer momentum\)"):  # fmt: skip
        check_optimizer(_state(optimizer_kind="momentum"), "rmsprop", "c.pt")


def test_restore_loads_every_part_and_a_misfit_is_one_line():
    state = _state()
    model = nn.Linear(2, 1)
    opt = torch.optim.Adam(model.parameters())
    gen = torch.Generator().manual_seed(99)
    seen = []
    task = type("T", (), {"load_state_dict": lambda self, s: seen.append(s)})()
    restore(state, "c.pt", model, opt, gen, task, 0)
    torch.testing.assert_close(model.weight.detach(), state.model["weight"])
    assert opt.state_dict()["state"][0]["step"] == 1 and seen == [{"pos": 3}]
    torch.testing.assert_close(gen.get_state(), state.data_rng[0])
    with pytest.raises(SgtkError, match="c.pt holds a generator or data position that does not"):
        restore(_state(data_rng=[torch.zeros(3, dtype=torch.uint8)]), "c.pt", model, opt, gen,
                task, 0)  # fmt: skip


def test_best_pt_holds_its_schema_and_is_checked_on_read(tmp_path):
    model = {"w": torch.ones(2)}
    best = best_record("toy", model, 5, 0.5, {"model": "lin"})
    assert best == {"task": "toy", "model": model, "step": 5, "metric": 0.5,
                    "config": {"model": "lin"}}  # fmt: skip
    folder = RunFolder(tmp_path)
    folder.save_best(best)
    assert read_best(tmp_path)["config"] == {"model": "lin"}
    assert read_best(tmp_path / "best.pt")["step"] == 5
    for broken, key in (({"model": model}, "task"), ({"task": "toy", "model": 1}, "model")):
        save_checkpoint(broken, tmp_path / "best.pt")
        with pytest.raises(SgtkError, match=f"lacks a valid '{key}' key"):
            read_best(tmp_path)
    save_checkpoint({"task": "toy", "model": {"w": torch.tensor([math.nan])}}, tmp_path / "best.pt")
    with pytest.raises(NonFiniteWeights):
        read_best(tmp_path)
    with pytest.raises(NonFiniteWeights):
        folder.save_best(best_record("toy", {"w": torch.tensor([math.inf])}, 1, 0.0, {}))


def test_non_finite_weights_never_reach_checkpoint_pt(tmp_path):
    folder = RunFolder(tmp_path)
    state = _state()
    state.model = {"w": torch.tensor([math.nan])}
    with pytest.raises(NonFiniteWeights, match="checkpoint.pt has non-finite weights"):
        folder.save_state(state)
    assert not folder.checkpoint_path.exists()


def test_the_last_steps_model_is_read_from_checkpoint_pt_then_last_pt(tmp_path):
    folder = RunFolder(tmp_path)
    folder.save_state(_state())
    assert read_last(tmp_path)["step"] == 7 and read_last(tmp_path)["task"] == "toy"
    keep_last(tmp_path, keep=True)
    assert not folder.checkpoint_path.exists() and (tmp_path / "last.pt").exists()
    assert read_last(tmp_path)["model"].keys() == {"weight", "bias"}
    folder.save_state(_state(step=9))
    assert read_last(tmp_path)["step"] == 9  # a running checkpoint.pt comes first
    keep_last(tmp_path, keep=False)
    assert not folder.checkpoint_path.exists() and read_last(tmp_path)["step"] == 7
    (tmp_path / "last.pt").unlink()
    with pytest.raises(SgtkError, match="no checkpoint at"):
        read_last(tmp_path)
    bad = _state()
    bad.model = {"w": torch.tensor([math.nan])}
    save_checkpoint(bad.to_dict(), tmp_path / "last.pt")
    with pytest.raises(NonFiniteWeights, match="last.pt"):
        read_last(tmp_path)


def test_the_manifest_is_written_as_json_without_nan(tmp_path):
    folder = RunFolder(tmp_path)
    with pytest.raises(ValueError):
        folder.start("toy", {"x": math.nan}, TrainConfig(), {}, "c")
    folder.start("toy", {"x": 1}, TrainConfig(), {}, "c")
    text = (tmp_path / "manifest.json").read_text()
    assert text.endswith("}\n") and json.loads(text)["task_config"] == {"x": 1}
    assert text.startswith('{\n "format": 1,')
