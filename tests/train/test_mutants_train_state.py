"""Unit tests of the checkpoint schemas (sgtk.train.train_state): TrainState's keys and types,
the optimiser families a resume may move within, restoring a run's parts, best.pt and the
last step's model. Written against mutmut's survivors (CONTRIBUTING.md "Mutation testing")."""

import math

import pytest
import torch
from torch import nn

from sgtk.errors import SgtkError
from sgtk.train.checkpoint import save_checkpoint
from sgtk.train.finite import NonFiniteWeights
from sgtk.train.run_dir import (
    RunFolder,
    best_record,
    keep_last,
    read_best,
    read_last,
)
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
        SgtkError,
        match=r"c.pt is not an sgtk training checkpoint \(it holds a list\): point `run_dir` at a "
        "run folder that sgtk wrote$",
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
    with pytest.raises(SgtkError, match=f"c.pt lacks the key '{key}' that a resume needs: it is "
                       "damaged or not an sgtk checkpoint; resume from an earlier copy, or start "
                       "a new run$"):  # fmt: skip
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
        SgtkError,
        match=f"c.pt: key '{key}' is {type(value).__name__}, not {want}: the checkpoint is "
        "damaged; resume from an earlier copy, or start a new run$",
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
    pairs = (("adam", "adamw"), ("adamw", "adam"), ("sgd", "momentum"), ("momentum", "sgd"))
    for saved, wanted in (*pairs, ("rmsprop", "rmsprop")):
        check_optimizer(_state(optimizer_kind=saved), wanted, "c.pt")
    check_optimizer(_state(optimizer_kind=None), "sgd", "c.pt")
    with pytest.raises(SgtkError, match=r"c.pt was trained with `optimizer` momentum, .* by "
                       r"rmsprop: set `optimizer` to momentum, or start"):  # fmt: skip
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
    save_checkpoint({"task": "toy"}, tmp_path / "last.pt")
    with pytest.raises(SgtkError, match=r"last.pt lacks the key 'model'"):
        read_last(tmp_path)
    bad = _state()
    bad.model = {"w": torch.tensor([math.nan])}
    save_checkpoint(bad.to_dict(), tmp_path / "last.pt")
    with pytest.raises(NonFiniteWeights, match="last.pt"):
        read_last(tmp_path)


def test_an_unknown_optimizer_kind_resumes_only_as_itself():
    check_optimizer(_state(optimizer_kind="lion"), "lion", "c.pt")
    with pytest.raises(SgtkError, match="or start a new run with another `run_dir`$"):
        check_optimizer(_state(optimizer_kind="lion"), "adam", "c.pt")
    with pytest.raises(SgtkError, match="resumed by lion"):
        check_optimizer(_state(optimizer_kind="adam"), "lion", "c.pt")


def test_a_misfit_in_restore_names_the_checkpoint():
    state = _state()
    with pytest.raises(SgtkError, match=r"^c.pt does not fit this model"):
        restore(state, "c.pt", nn.Linear(3, 1), None, None, None, 0)
    sgd = torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1)
    sgd.add_param_group({"params": [nn.Parameter(torch.ones(1))]})
    with pytest.raises(SgtkError, match=r"^c.pt holds optimiser state that does not fit"):
        restore(state, "c.pt", nn.Linear(2, 1), sgd, None, None, 0)
    model, bad = nn.Linear(2, 1), _state(data_rng=[torch.zeros(3, dtype=torch.uint8)])
    with pytest.raises(SgtkError, match=r"\): resume from an earlier copy, or start a new run$"):
        opt = torch.optim.Adam(model.parameters())
        restore(bad, "c.pt", model, opt, torch.Generator(), None, 0)


def test_cuda_generators_are_restored_only_where_saved_and_available(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", calls.append)
    task = type("T", (), {"load_state_dict": lambda self, s: None})()

    def run(state, available):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
        model = nn.Linear(2, 1)
        opt = torch.optim.Adam(model.parameters())
        restore(state, "c.pt", model, opt, torch.Generator(), task, 0)

    run(_state(cuda_rng=[torch.ones(2)]), False)
    run(_state(), True)
    assert calls == []
    run(_state(cuda_rng=[torch.ones(2)]), True)
    assert len(calls) == 1 and torch.equal(calls[0][0], torch.ones(2))


def test_keys_a_later_sgtk_adds_are_ignored_on_read():
    back = TrainState.from_dict({**_state().to_dict(), "new_key": 1}, "c.pt")
    assert back.step == 7 and not hasattr(back, "new_key")


def test_capture_keeps_every_part_of_the_loop(monkeypatch):
    from sgtk.train.loop import LoopState
    from sgtk.train.train_state import capture

    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    run = LoopState(step=12, elapsed_before=3.0, best=0.5, best_val={"val_loss": 0.5})
    ranks = ([torch.ones(1)], [{"pos": 1}], [[{"loss": 2.0}, 1]])
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    state = capture(run, "toy", model, opt, ranks, {"n": 3}, "sgd")
    assert (state.task, state.step, state.best, state.best_val) == ("toy", 12, 0.5, run.best_val)
    assert state.task_config == {"n": 3} and state.optimizer_kind == "sgd"
    assert state.data_rng is ranks[0] and state.task_state is ranks[1]
    assert state.train_sums is ranks[2] and state.cuda_rng is None and state.elapsed >= 3.0
    assert state.model.keys() == {"weight", "bias"} and state.optimizer["param_groups"]
    torch.testing.assert_close(state.torch_rng, torch.get_rng_state())
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: ["cuda"])
    assert capture(run, "toy", model, opt, ranks, {}, "sgd").cuda_rng == ["cuda"]


def test_a_damaged_best_pt_is_one_line_naming_it(tmp_path):
    save_checkpoint({"model": {}}, tmp_path / "best.pt")
    with pytest.raises(SgtkError) as e:
        read_best(tmp_path)
    assert str(e.value) == (
        f"{tmp_path / 'best.pt'} lacks a valid 'task' key: it is damaged or not an sgtk "
        "checkpoint; point at a best.pt that sgtk wrote"
    )
    save_checkpoint({"task": "t", "model": {"w": torch.tensor([math.nan])}}, tmp_path / "best.pt")
    with pytest.raises(NonFiniteWeights, match=r"best.pt has non-finite weights"):
        read_best(tmp_path)
