"""The Trainer's settings (``[train]`` in a run's config) and the device they name."""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass

import torch

from sgtk.errors import SgtkError
from sgtk.train.loggers import parse_loggers
from sgtk.train.optim import OPTIMIZERS, SCHEDULES

MAX_SEED = 2**31


@dataclass
class TrainConfig:
    steps: int = 10_000
    batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    max_norm: float = 10.0
    lr_schedule: str = "step"
    lr_decay: float = 0.5
    lr_step: int = 0
    eval_every: int = 100
    checkpoint_every: int = 500
    checkpoint_minutes: float | None = None
    max_time: float | None = None
    target: float | None = None
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    cpu_bf16: bool = False
    compile: bool = False
    logger: str = "jsonl"

    def validate(self) -> None:
        for flag, value in (
            ("--lr", self.lr),
            ("--max-norm", self.max_norm),
            ("--lr-decay", self.lr_decay),
            ("--momentum", self.momentum),
            ("--weight-decay", self.weight_decay),
            ("--max-time", self.max_time),
            ("--target", self.target),
            ("--checkpoint-minutes", self.checkpoint_minutes),
        ):
            if value is not None and not math.isfinite(value):
                raise SgtkError(f"{flag} {value} is not a finite number: pass a real value")
        if self.max_norm < 0:
            raise SgtkError(f"--max-norm {self.max_norm} must be >= 0 (0 disables clipping)")
        if self.lr_decay <= 0 or self.lr_step < 0:
            raise SgtkError("--lr-decay must be > 0 and --lr-step >= 0 (0: no step decay)")
        if self.momentum < 0 or self.weight_decay < 0:
            raise SgtkError("--momentum and --weight-decay must be >= 0")
        if not 0 <= self.seed < MAX_SEED:  # derived seeds (seed * 1000 + rank) stay in range
            raise SgtkError(
                f"--seed {self.seed} is out of range: use an integer from 0 to {MAX_SEED - 1}"
            )
        if self.steps <= 0:
            raise SgtkError(f"--steps {self.steps} must be positive (try --steps 1000)")
        if self.batch_size <= 0:
            raise SgtkError(f"--batch-size {self.batch_size} must be positive (try 128)")
        if self.lr <= 0:
            raise SgtkError(f"--lr {self.lr} must be positive (try --lr 1e-3)")
        if self.eval_every <= 0 or self.checkpoint_every <= 0:
            raise SgtkError("--eval-every and --checkpoint-every must be positive")
        if self.optimizer not in OPTIMIZERS:
            raise SgtkError(
                f"unknown optimizer {self.optimizer!r}: choose one of {', '.join(OPTIMIZERS)}"
            )
        if self.lr_schedule not in SCHEDULES:
            raise SgtkError(
                f"unknown lr schedule {self.lr_schedule!r}: choose one of {', '.join(SCHEDULES)}"
            )
        if self.max_time is not None and self.max_time <= 0:
            raise SgtkError(f"--max-time {self.max_time} must be positive seconds")
        if self.checkpoint_minutes is not None and self.checkpoint_minutes <= 0:
            raise SgtkError(f"--checkpoint-minutes {self.checkpoint_minutes} must be positive")
        parse_loggers(self.logger)  # one line naming an unknown logger


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SgtkError("--device cuda asked for, but no CUDA GPU is visible: use --device cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise SgtkError(f"unknown device {name!r}: use auto, cpu, cuda or mps") from None
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise SgtkError(
                "--device mps asked for, but this machine has no Apple GPU: use --device cpu "
                "or auto"
            )
    if device.type == "cuda" and device.index is not None:
        count = torch.cuda.device_count()
        if device.index >= count:
            raise SgtkError(
                f"--device {name}: this machine has {count} CUDA GPU(s) (cuda:0 to "
                f"cuda:{count - 1}): pick one of those"
            )
    if device.type not in ("cpu", "cuda", "mps"):
        raise SgtkError(f"unknown device {name!r}: use auto, cpu, cuda or mps")
    return device


def mixed_precision(device: torch.device, config: TrainConfig):
    """The autocast context for training on ``device``, and a gradient scaler for fp16."""
    if device.type == "cpu" and config.cpu_bf16 and torch.ops.mkldnn._is_mkldnn_bf16_supported():
        # oneDNN runs bf16 LSTMs about twice as fast on CPUs with native bf16 (AVX512-BF16,
        # AMX); elsewhere bf16 is emulated and slower, so it stays off there.
        return torch.autocast("cpu", dtype=torch.bfloat16), None
    if device.type != "cuda" or not config.amp:
        return nullcontext(), None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return torch.autocast("cuda", dtype=dtype), scaler
