"""Unit tests of the Trainer's small parts (sgtk.train: finite, optim, metrics, checkpoint,
train_state), each pinning a behaviour a user relies on. Written against mutmut's survivors
(CONTRIBUTING.md "Mutation testing"); no CLI, no subprocess."""

import math

import pytest
import torch
from torch import nn

from sgtk.errors import SgtkError
from sgtk.train import optim
from sgtk.train.checkpoint import (
    fit_model_state,
    load_checkpoint,
    load_model_state,
    load_optimizer_state,
    save_checkpoint,
)
from sgtk.train.finite import NonFiniteWeights, all_finite, first_non_finite, require_finite
from sgtk.train.metrics import MetricsLog, read_metrics


# ---- finite ------------------------------------------------------------------------------
def test_the_first_non_finite_tensor_is_named_with_its_path():
    state = {"a": torch.ones(2), "b": {"c": torch.tensor([1.0, math.nan]), "d": torch.ones(1)}}
    assert first_non_finite(state) == "b.c"
    assert first_non_finite({"x": torch.tensor([math.inf]), "y": torch.tensor([math.nan])}) == "x"
    assert first_non_finite({"a": torch.ones(2), "n": torch.tensor([-math.inf])}) == "n"
    assert first_non_finite({"i": torch.tensor([1, 2]), "s": "nan", "f": 1.5}) is None
    assert first_non_finite({"deep": {"ok": torch.ones(1)}, "z": torch.tensor([math.nan])}) == "z"


def test_require_finite_names_what_and_the_tensor_and_takes_a_module():
    with pytest.raises(NonFiniteWeights) as e:
        require_finite({"w": torch.tensor([math.nan])}, "best.pt")
    assert str(e.value).startswith("best.pt has non-finite weights (w holds NaN or inf)")
    model = nn.Linear(2, 1)
    require_finite(model, "m")  # finite: no error
    with torch.no_grad():
        model.bias.fill_(math.inf)
    with pytest.raises(NonFiniteWeights, match="m has non-finite weights .bias"):
        require_finite(model, "m")
    assert isinstance(NonFiniteWeights("x"), SgtkError)


def test_all_finite_checks_every_parameter():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    assert all_finite(model) and all_finite(nn.ReLU())
    with torch.no_grad():
        model[1].weight[0, 1] = math.nan
    assert not all_finite(model)


# ---- optim -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, kind, momentum",
    [("sgd", torch.optim.SGD, 0), ("momentum", torch.optim.SGD, 0.8),
     ("rmsprop", torch.optim.RMSprop, 0), ("adam", torch.optim.Adam, None),
     ("adamw", torch.optim.AdamW, None)],
)  # fmt: skip
def test_each_optimizer_gets_its_lr_momentum_and_weight_decay(name, kind, momentum):
    made = optim.make_optimizer(name, nn.Linear(2, 1).parameters(), 0.3, 0.8, 0.01)
    group = made.param_groups[0]
    assert type(made) is kind and group["lr"] == 0.3 and group["weight_decay"] == 0.01
    assert len(group["params"]) == 2
    if momentum is not None:
        assert group["momentum"] == momentum


def test_the_optimizer_defaults_and_an_unknown_one():
    made = optim.make_optimizer("momentum", nn.Linear(2, 1).parameters(), 0.1)
    assert made.param_groups[0]["momentum"] == 0.9 and made.param_groups[0]["weight_decay"] == 0
    with pytest.raises(SgtkError, match="unknown optimizer 'lion': choose one of sgd, "):
        optim.make_optimizer("lion", [], 0.1)


def test_lr_schedules():
    f = optim.lr_factor
    assert f("none", step=50, total_steps=100, decay=0.5, every=10) == 1.0
    assert f("step", step=25, total_steps=100, decay=0.5, every=10) == 0.25
    assert f("step", step=9, total_steps=100, decay=0.5, every=10) == 1.0
    assert f("step", step=25, total_steps=100, decay=0.5, every=0) == 1.0
    assert f("linear", step=0, total_steps=100, decay=0, every=0) == 1.0
    assert f("linear", step=50, total_steps=100, decay=0, every=0) == pytest.approx(0.525)
    assert f("linear", step=100, total_steps=100, decay=0, every=0) == pytest.approx(0.05)
    assert f("linear", step=300, total_steps=100, decay=0, every=0) == pytest.approx(0.05)
    assert f("linear", step=5, total_steps=0, decay=0, every=0) == pytest.approx(0.05)
    half = f("linear", step=0, total_steps=100, decay=0, every=0, time_fraction=0.5)
    assert half == pytest.approx(0.525)
    assert (
        f("linear", step=0, total_steps=1, decay=0, every=0, time_fraction=0.5, final=0.5) == 0.75
    )
    with pytest.raises(SgtkError, match="unknown lr schedule 'cosine': choose one of none, "):
        f("cosine", step=0, total_steps=1, decay=0, every=0)


class _Cfg:
    lr_schedule, steps, lr_decay, lr_step, max_time = "linear", 100, 0.5, 10, None


def test_the_scheduled_factor_follows_steps_or_the_time_budget():
    assert optim.scheduled_factor(_Cfg, 50, 999.0) == pytest.approx(0.525)
    timed = type("T", (_Cfg,), {"max_time": 20.0})
    assert optim.scheduled_factor(timed, 0, 10.0) == pytest.approx(0.525)
    stepped = type("S", (_Cfg,), {"lr_schedule": "step"})
    assert optim.scheduled_factor(stepped, 25, 0.0) == 0.25


def test_set_lr_sets_every_group():
    made = torch.optim.SGD([{"params": [nn.Parameter(torch.ones(1))]},
                            {"params": [nn.Parameter(torch.ones(1))]}], lr=1.0)  # fmt: skip
    optim.set_lr(made, 0.2, 0.5)
    assert [g["lr"] for g in made.param_groups] == [0.1, 0.1]


def test_an_update_steps_on_the_gradient_and_clips_only_above_zero():
    def step(max_norm):
        w = nn.Parameter(torch.tensor([3.0, 4.0]))
        opt = torch.optim.SGD([w], lr=1.0)
        w.grad = torch.tensor([100.0, 100.0])  # stale: zeroed by the update
        optim.update((w * w).sum() / 2, opt, [w], max_norm)  # gradient = w = (3, 4), norm 5
        return w.detach()

    torch.testing.assert_close(step(0.0), torch.zeros(2))  # unclipped: w - w
    torch.testing.assert_close(step(1.0), torch.tensor([3.0 - 0.6, 4.0 - 0.8]))


def test_an_update_through_a_gradient_scaler_unscales_before_clipping():
    class Scaler:
        def __init__(self):
            self.calls = []

        def scale(self, loss):
            self.calls.append("scale")
            return loss * 8

        def unscale_(self, opt):
            self.calls.append("unscale")
            for p in opt.param_groups[0]["params"]:
                p.grad /= 8

        def step(self, opt):
            self.calls.append("step")
            opt.step()

        def update(self):
            self.calls.append("update")

    w = nn.Parameter(torch.tensor([3.0, 4.0]))
    opt, scaler = torch.optim.SGD([w], lr=1.0), Scaler()
    optim.update((w * w).sum() / 2, opt, [w], 1.0, scaler)
    assert scaler.calls == ["scale", "unscale", "step", "update"]
    torch.testing.assert_close(w.detach(), torch.tensor([2.4, 3.2]))


# ---- metrics.jsonl -----------------------------------------------------------------------
def test_read_metrics_keeps_good_records_sets_aside_bad_lines_and_drops_a_torn_end(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"step": 1}\n\n[1]\n{"step": true}\n{"step": "2"}\n{"step": 3}\n{"st')
    read = read_metrics(path)
    assert read.records == [{"step": 1}, {"step": 3}] and read.torn
    assert read.bad == [(3, "[1]"), (4, '{"step": true}'), (5, '{"step": "2"}')]
    path.write_text('{"step": 1}\n{"st\n')
    read = read_metrics(path)
    assert read.bad == [(2, '{"st')] and not read.torn
    assert read_metrics(tmp_path / "none.jsonl").records == []


def test_metrics_log_appends_sorted_lines_and_truncates_to_a_step(tmp_path):
    log = MetricsLog(tmp_path / "metrics.jsonl")
    for step in (5, 10, 15):
        log.append({"step": step, "b": 1, "a": 2})
    log.append({"step": 15, "final": True})
    assert log.path.read_text().splitlines()[0] == '{"a": 2, "b": 1, "step": 5}'
    log.truncate_after(10)
    assert [r["step"] for r in log.read()] == [5, 10]
    log.append({"step": 10, "final": True})
    log.truncate_after(10)  # a finished run resumed for longer: the final record goes
    assert log.read() == [{"a": 2, "b": 1, "step": 5}, {"a": 2, "b": 1, "step": 10}]
    assert not log.corrupt_path.exists()


def test_bad_lines_move_to_the_corrupt_file_with_their_numbers_and_accumulate(tmp_path):
    log = MetricsLog(tmp_path / "metrics.jsonl")
    assert log.corrupt_path == tmp_path / "metrics.jsonl.corrupt"
    log.path.write_text('{"step": 1}\nxx\n{"step": 2}\n')
    log.truncate_after(5)
    log.path.write_text(log.path.read_text() + 'yy\n{"step": 3, "b": 1, "a": 2}\nzz\n')
    log.truncate_after(5)
    assert log.corrupt_path.read_text() == "line 2: xx\nline 3: yy\nline 5: zz\n"
    assert log.path.read_text().splitlines()[2] == '{"a": 2, "b": 1, "step": 3}'  # sorted keys
    assert [r["step"] for r in log.read()] == [1, 2, 3]


def test_an_unwritable_metrics_log_is_one_line(tmp_path):
    from sgtk.io.files import WriteFailed

    log = MetricsLog(tmp_path / "missing" / "metrics.jsonl")
    with pytest.raises(WriteFailed):
        log.append({"step": 1})


# ---- checkpoint.py -----------------------------------------------------------------------
def test_a_checkpoint_round_trips_and_loads_onto_the_device_asked(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint({"task": "toy", "model": {"w": torch.ones(2)}}, path)
    loaded = load_checkpoint(path, "cpu")
    assert loaded["task"] == "toy" and loaded["model"]["w"].device.type == "cpu"
    assert not list(tmp_path.glob("*.tmp*"))


def test_loading_a_missing_a_corrupt_or_a_code_carrying_checkpoint_is_one_line(tmp_path):
    with pytest.raises(SgtkError, match=r"no checkpoint at .*x.pt: train a run first"):
        load_checkpoint(tmp_path / "x.pt")
    save_checkpoint({"model": {"w": torch.ones(100)}}, tmp_path / "bad.pt")
    data = (tmp_path / "bad.pt").read_bytes()
    (tmp_path / "bad.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(SgtkError, match=r"bad.pt is truncated or corrupt \(.+\): restore it"):
        load_checkpoint(tmp_path / "bad.pt")
    torch.save({"f": MetricsLog(tmp_path)}, tmp_path / "code.pt")  # an object, not weights
    with pytest.raises(SgtkError, match=r"refusing to load .*code.pt: it is not a checkpoint"):
        load_checkpoint(tmp_path / "code.pt")


def test_fit_model_state_names_the_first_misfit():
    model, path = nn.Linear(2, 1), "ck.pt"
    with pytest.raises(SgtkError, match="ck.pt holds no model weights"):
        fit_model_state(model, {}, path)
    wide = nn.Linear(3, 1).state_dict()
    with pytest.raises(SgtkError, match=r"weight is \[1, 3\] there, \[1, 2\] here"):
        fit_model_state(model, {"model": wide}, path)
    with pytest.raises(SgtkError, match="it lacks 1 weight.s. such as bias"):
        fit_model_state(model, {"model": {"weight": torch.zeros(1, 2)}}, path)
    extra = {**model.state_dict(), "x": torch.zeros(1), "y": torch.zeros(1)}
    with pytest.raises(SgtkError, match="it has 2 unknown weight.s. such as x.*another model"):
        fit_model_state(model, {"model": extra}, path)
    fit_model_state(model, {"model": {"weight": torch.ones(1, 2), "bias": torch.ones(1)}}, path)
    torch.testing.assert_close(model.weight.detach(), torch.ones(1, 2))


def test_load_model_state_refuses_another_tasks_checkpoint(tmp_path):
    path = tmp_path / "best.pt"
    save_checkpoint({"task": "text", "model": nn.Linear(2, 1).state_dict()}, path)
    with pytest.raises(
        SgtkError, match="is a 'text' checkpoint, not 'toy': use it with `sgtk train text`"
    ):
        load_model_state(nn.Linear(2, 1), path, "toy")
    with pytest.raises(SgtkError, match=r"best.pt does not fit this model \(weight is"):
        load_model_state(nn.Linear(3, 1), path, "text")
    assert load_model_state(nn.Linear(2, 1), path, "text")["task"] == "text"
    assert load_model_state(nn.Linear(2, 1), path)["task"] == "text"


def test_an_optimizer_state_that_does_not_fit_is_one_line():
    adam = torch.optim.Adam(nn.Linear(2, 1).parameters())
    other = torch.optim.Adam(nn.Linear(2, 2).parameters()).state_dict()
    other["param_groups"][0]["params"] = [0]
    with pytest.raises(
        SgtkError,
        match=r"opt.pt holds optimiser state that does not fit \(.+\): resume with the "
        "`optimizer` of the run that wrote it$",
    ):
        load_optimizer_state(adam, other, "opt.pt")


def test_a_load_error_after_the_checks_is_one_line_with_its_last_line():
    class Picky(nn.Linear):
        def load_state_dict(self, state, strict=True, assign=False):
            raise RuntimeError("Error(s) in loading:\n\tfirst\n\t  the reason  \n")

    model = Picky(2, 1)
    with pytest.raises(SgtkError) as e:
        fit_model_state(model, {"model": nn.Linear(2, 1).state_dict()}, "ck.pt")
    assert str(e.value) == (
        "ck.pt does not fit this model (the reason): it was written for another model or size; "
        "pass the options of the run that wrote it, or choose another checkpoint"
    )


def test_schedule_edges_every_step_and_a_one_step_run():
    f = optim.lr_factor
    assert f("step", step=3, total_steps=10, decay=0.5, every=1) == 0.125
    assert f("linear", step=1, total_steps=1, decay=0, every=0) == pytest.approx(0.05)


def test_adamw_gets_the_weight_decay_asked_not_its_default():
    made = optim.make_optimizer("adamw", nn.Linear(2, 1).parameters(), 0.1, 0.9, 0.5)
    assert made.param_groups[0]["weight_decay"] == 0.5


def test_metrics_with_invalid_utf8_are_read_with_replacement(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'{"step": 1, "sample": "a\xffb"}\n')
    assert read_metrics(path).records == [{"step": 1, "sample": "a\ufffdb"}]


def test_a_failed_metrics_write_names_the_file(tmp_path):
    from sgtk.io.files import WriteFailed

    path = tmp_path / "missing" / "metrics.jsonl"
    with pytest.raises(WriteFailed, match="metrics.jsonl"):
        MetricsLog(path).append({"step": 1})


def test_one_train_step_is_its_own_average_and_elapsed_has_three_decimals(monkeypatch):
    from sgtk.train.loop import LoopState, evaluation_record

    run = LoopState(step=1)
    run.add_train_stats({"loss": 3.0})
    monkeypatch.setattr(LoopState, "elapsed", lambda self: 1.23456)
    record = evaluation_record(run, {}, {}, float, "T")
    assert record["train_loss"] == 3.0 and record["elapsed"] == 1.235


def test_a_code_carrying_checkpoint_names_the_first_line_of_the_reason(tmp_path):
    torch.save({"f": MetricsLog(tmp_path)}, tmp_path / "code.pt")
    with pytest.raises(SgtkError) as e:
        load_checkpoint(tmp_path / "code.pt")
    assert "holds more than weights (Weights only load failed)" in str(e.value)
    assert str(e.value).endswith("); only load checkpoints that sgtk wrote")
    assert len(str(e.value)) < 250  # torch's paragraph of advice is cut to its first sentence
