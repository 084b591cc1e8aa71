"""``sgtk.train.train_config`` (kills its mutants: the defaults that must equal
``configs/train.toml``, each field's help and panel as ``--help`` shows them, every
``validate`` refusal line and its bound, the device a name picks, and CPU mixed precision)."""

from __future__ import annotations

import dataclasses
import math
from contextlib import nullcontext

import pytest
import torch

from sgtk.errors import ConfigError
from sgtk.train import train_config as tc
from sgtk.train.config import default_config
from sgtk.train.train_config import MAX_SEED, TrainConfig, mixed_precision, resolve_device


def test_the_defaults_equal_the_shipped_train_toml():
    shipped = default_config("train")["train"]
    defaults = dataclasses.asdict(TrainConfig())
    assert {k: v for k, v in defaults.items() if v is not None} == shipped
    assert [k for k, v in defaults.items() if v is None] == [
        "checkpoint_minutes",
        "max_time",
        "max_cpu_time",
        "target",
    ]


def test_every_flag_has_a_sentence_of_help_in_a_known_panel():
    panels = {}
    for f in dataclasses.fields(TrainConfig):
        if f.name in ("amp", "cpu_bf16"):
            assert not f.metadata
            continue
        assert f.metadata["help"][-1] in ".…", f.name
        panels.setdefault(f.metadata["panel"], []).append(f.name)
    assert panels["Run"] == ["eval_every", "checkpoint_every", "checkpoint_minutes", "device"]
    assert panels["Output"] == ["logger"]
    assert set(panels) == {"Optimisation", "Run", "Output"}
    assert MAX_SEED == 2**31


def _refused(**kw) -> ConfigError:
    with pytest.raises(ConfigError) as error:
        TrainConfig(**kw).validate()
    return error.value


@pytest.mark.parametrize(
    ("kw", "field", "message"),
    [
        ({"lr": math.nan}, "lr", "lr nan is not a finite number: pass a real value"),
        ({"target": math.inf}, "target", "target inf is not a finite number: pass a real value"),
        ({"max_norm": -0.5}, "max_norm", "max_norm -0.5 must be >= 0 (0 disables clipping)"),
        ({"lr_decay": 0.0}, "lr_decay", "lr_decay 0.0 must be > 0, e.g. 0.5"),
        ({"lr_step": -1}, "lr_step", "lr_step -1 must be >= 0 (0: no step decay)"),
        ({"momentum": -0.1}, "momentum", "momentum -0.1 must be >= 0"),
        ({"weight_decay": -0.1}, "weight_decay", "weight_decay -0.1 must be >= 0"),
        ({"seed": -1}, "seed", f"seed -1 is out of range: use an integer from 0 to {2**31 - 1}"),
        (
            {"seed": 2**31},
            "seed",
            f"seed {2**31} is out of range: use an integer from 0 to {2**31 - 1}",
        ),
        ({"steps": 0}, "steps", "steps 0 must be positive, e.g. 1000"),
        ({"batch_size": 0}, "batch_size", "batch_size 0 must be positive, e.g. 128"),
        ({"lr": 0.0}, "lr", "lr 0.0 must be positive, e.g. 1e-3"),
        ({"eval_every": 0}, "eval_every", "eval_every 0 must be positive, e.g. 100"),
        (
            {"checkpoint_every": 0},
            "checkpoint_every",
            "checkpoint_every 0 must be positive, e.g. 100",
        ),
        ({"optimizer": "x"}, "optimizer", "optimizer 'x' is unknown: choose one of "),
        ({"lr_schedule": "x"}, "lr_schedule", "lr_schedule 'x' is unknown: choose one of "),
        ({"max_time": 0.0}, "max_time", "max_time 0.0 must be positive seconds"),
        (
            {"checkpoint_minutes": 0.0},
            "checkpoint_minutes",
            "checkpoint_minutes 0.0 must be positive",
        ),
    ],
)
def test_each_refusal_names_its_field(kw, field, message):
    error = _refused(**kw)
    assert error.field == field
    if message.endswith("of "):
        from sgtk.choices import OPTIMIZERS, SCHEDULES

        names = OPTIMIZERS if field == "optimizer" else SCHEDULES
        assert str(error) == message + ", ".join(names)
    else:
        assert str(error) == message


def test_the_bounds_themselves_are_valid():
    TrainConfig(
        max_norm=0.0,
        lr_step=0,
        momentum=0.0,
        weight_decay=0.0,
        seed=0,
        steps=1,
        batch_size=1,
        lr=1e-9,
        eval_every=1,
        checkpoint_every=1,
        max_time=1e-3,
        checkpoint_minutes=1e-3,
        target=1.0,
    ).validate()
    TrainConfig(seed=2**31 - 1).validate()
    for name in ("optimizer", "lr_schedule"):
        from sgtk.choices import OPTIMIZERS, SCHEDULES

        for choice in OPTIMIZERS if name == "optimizer" else SCHEDULES:
            TrainConfig(**{name: choice}).validate()


def test_an_unknown_logger_is_refused():
    with pytest.raises(Exception, match="nope"):
        TrainConfig(logger="nope").validate()


def test_a_cpu_machine_picks_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")


def _device_refusal(name: str) -> str:
    with pytest.raises(ConfigError) as error:
        resolve_device(name)
    assert error.value.field == "device"
    return str(error.value)


def test_device_refusals(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert (
        _device_refusal("cuda:0") == "device cuda:0 asked for, but no CUDA GPU is visible: use cpu"
    )
    assert _device_refusal("gpu") == "device 'gpu' is unknown: use auto, cpu, cuda or mps"
    assert _device_refusal("meta") == "device 'meta' is unknown: use auto, cpu, cuda or mps"
    assert _device_refusal("mps") == (
        "device mps asked for, but this machine has no Apple GPU: use cpu or auto"
    )
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert resolve_device("mps") == torch.device("mps")


def test_a_cuda_index_past_the_gpus_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda:1")
    assert resolve_device("cuda") == torch.device("cuda")
    assert _device_refusal("cuda:2") == (
        "device cuda:2: this machine has 2 CUDA GPU(s) (cuda:0 to cuda:1): pick one of those"
    )


def test_cpu_runs_in_full_precision_unless_bf16_is_asked_and_native(monkeypatch):
    cpu = torch.device("cpu")
    context, scaler = mixed_precision(cpu, TrainConfig())
    assert isinstance(context, nullcontext) and scaler is None
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    context, scaler = mixed_precision(cpu, TrainConfig(cpu_bf16=True))
    assert isinstance(context, nullcontext) and scaler is None
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    context, scaler = mixed_precision(cpu, TrainConfig(cpu_bf16=True))
    assert isinstance(context, torch.autocast) and scaler is None
    assert (context.device, context.fast_dtype) == ("cpu", torch.bfloat16)
    context, _ = mixed_precision(cpu, TrainConfig(cpu_bf16=False))
    assert isinstance(context, nullcontext)
    assert tc.nullcontext is nullcontext


def test_opt_builds_a_field_with_its_help_and_panel():
    made = tc._opt(3, "Some help.", "Run", flag="-x")
    assert made.default == 3
    assert dict(made.metadata) == {"help": "Some help.", "panel": "Run", "flag": "-x"}
    assert tc._opt(None, "h").metadata["panel"] == "Optimisation"


@pytest.mark.parametrize(("bf16", "dtype"), [(True, torch.bfloat16), (False, torch.float16)])
def test_cuda_autocasts_with_a_scaler_only_for_fp16(monkeypatch, recwarn, bf16, dtype):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: bf16)
    context, scaler = mixed_precision(torch.device("cuda"), TrainConfig())
    assert isinstance(context, torch.autocast)
    assert (context.device, context.fast_dtype) == ("cuda", dtype)
    if bf16:
        assert scaler is None
    else:
        assert isinstance(scaler, torch.amp.GradScaler) and scaler._device == "cuda"
    context, scaler = mixed_precision(torch.device("cuda"), TrainConfig(amp=False))
    assert isinstance(context, nullcontext) and scaler is None


@pytest.mark.parametrize("name", ["auto", "cpu", "mps", "cuda", "cuda:0", "cuda:12"])
def test_validate_takes_every_device_name_torch_can_resolve(name):
    TrainConfig(device=name).validate()


@pytest.mark.parametrize("name", ["tpu", "gpu", "cuda:", "cuda:x", "CPU", ""])
def test_validate_refuses_an_unknown_device_before_any_run(name):
    with pytest.raises(ConfigError) as error:
        TrainConfig(device=name).validate()
    assert error.value.field == "device"
    assert f"device {name!r} is unknown" in str(error.value)


def test_cli_refuses_an_unknown_device_in_one_line_and_makes_no_run_folder(tmp_path):
    from tests.helpers import assert_one_line_error, invoke

    out = tmp_path / "run"
    result = invoke("train", "palindrome", "--device", "tpu", "--steps", "1", "--out", out)
    assert_one_line_error(result, "--device", "'tpu'", "unknown")
    assert not out.exists()
