"""The Trainer's settings (``[train]`` in a run's config) and the device they name.

Importing this module loads no torch: ``sgtk train TASK --help`` builds its options from
these fields' metadata (``help``, ``flag``, ``panel``; see ``sgtk.train.resolve``).
"""

from __future__ import annotations

import math
import re
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sgtk.choices import OPTIMIZERS, SCHEDULES
from sgtk.errors import ConfigError

if TYPE_CHECKING:
    import torch

MAX_SEED = 2**31
DEVICE_NAME = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
OPTIM, RUN, OUTPUT = "Optimisation", "Run", "Output"


def _opt(default, help: str, panel: str = OPTIM, **more):
    return field(default=default, metadata={"help": help, "panel": panel, **more})


@dataclass
class TrainConfig:
    steps: int = _opt(10_000, "Training steps.")
    batch_size: int = _opt(128, "Examples per step.")
    lr: float = _opt(1e-3, "Learning rate.")
    optimizer: str = _opt("adam", "The optimiser.")
    momentum: float = _opt(0.9, "Momentum of the momentum optimiser.")
    weight_decay: float = _opt(0.0, "Weight decay (L2; decoupled for adamw).")
    max_norm: float = _opt(10.0, "Gradient-norm clip (0 disables).")
    lr_schedule: str = _opt(
        "step", "none, step or linear (over steps, or over the time limit when one is set)."
    )
    lr_decay: float = _opt(0.5, "Step schedule: multiply the LR by this…")
    lr_step: int = _opt(0, "…every this many steps.")
    eval_every: int = _opt(100, "Evaluate every N steps.", RUN)
    checkpoint_every: int = _opt(500, "Checkpoint every N steps.", RUN)
    checkpoint_minutes: float | None = _opt(
        None, "Also checkpoint every M minutes, whatever the step time.", RUN
    )
    max_time: float | None = _opt(None, "Stop after this many seconds.")
    max_cpu_time: float | None = _opt(
        None, "Stop after this many CPU seconds (all threads): a budget load does not shrink."
    )
    target: float | None = _opt(None, "Stop once the validation metric reaches this.")
    seed: int = _opt(0, "Random seed.")
    device: str = _opt("auto", "auto (cuda, then mps, then cpu), cpu, cuda or mps.", RUN)
    amp: bool = True
    cpu_bf16: bool = False
    compile: bool = _opt(False, "torch.compile the model.")
    logger: str = _opt(
        "jsonl",
        "jsonl, csv or tensorboard: a log beside metrics.jsonl, which is always written.",
        OUTPUT,
    )

    def validate(self) -> None:
        """One ``ConfigError`` naming the first bad field (``lr -1.0 must be positive``)."""
        for name in (
            "lr",
            "max_norm",
            "lr_decay",
            "momentum",
            "weight_decay",
            "max_time",
            "max_cpu_time",
            "target",
            "checkpoint_minutes",
        ):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ConfigError(name, f"{name} {value} is not a finite number: pass a real value")
        if self.max_norm < 0:
            raise ConfigError(
                "max_norm", f"max_norm {self.max_norm} must be >= 0 (0 disables clipping)"
            )
        if self.lr_decay <= 0:
            raise ConfigError("lr_decay", f"lr_decay {self.lr_decay} must be > 0, e.g. 0.5")
        if self.lr_step < 0:
            raise ConfigError("lr_step", f"lr_step {self.lr_step} must be >= 0 (0: no step decay)")
        for name in ("momentum", "weight_decay"):
            if getattr(self, name) < 0:
                raise ConfigError(name, f"{name} {getattr(self, name)} must be >= 0")
        if not 0 <= self.seed < MAX_SEED:  # derived seeds (seed * 1000 + rank) stay in range
            raise ConfigError(
                "seed", f"seed {self.seed} is out of range: use an integer from 0 to {MAX_SEED - 1}"
            )
        if self.steps <= 0:
            raise ConfigError("steps", f"steps {self.steps} must be positive, e.g. 1000")
        if self.batch_size <= 0:
            raise ConfigError(
                "batch_size", f"batch_size {self.batch_size} must be positive, e.g. 128"
            )
        if self.lr <= 0:
            raise ConfigError("lr", f"lr {self.lr} must be positive, e.g. 1e-3")
        for name in ("eval_every", "checkpoint_every"):
            if getattr(self, name) <= 0:
                raise ConfigError(name, f"{name} {getattr(self, name)} must be positive, e.g. 100")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(
                "optimizer",
                f"optimizer {self.optimizer!r} is unknown: choose one of {', '.join(OPTIMIZERS)}",
            )
        if self.lr_schedule not in SCHEDULES:
            raise ConfigError(
                "lr_schedule",
                f"lr_schedule {self.lr_schedule!r} is unknown: choose one of "
                f"{', '.join(SCHEDULES)}",
            )
        for name in ("max_time", "max_cpu_time"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(name, f"{name} {value} must be positive seconds")
        if self.checkpoint_minutes is not None and self.checkpoint_minutes <= 0:
            raise ConfigError(
                "checkpoint_minutes",
                f"checkpoint_minutes {self.checkpoint_minutes} must be positive",
            )
        if not DEVICE_NAME.fullmatch(self.device):  # before any run folder is made
            raise ConfigError(
                "device", f"device {self.device!r} is unknown: use auto, cpu, cuda, cuda:N or mps"
            )
        from sgtk.train.loggers import parse_loggers

        parse_loggers(self.logger)  # one line naming an unknown logger


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU."""
    import torch

    mps = getattr(torch.backends, "mps", None)
    has_mps = mps is not None and mps.is_available()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if has_mps else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device", f"device {name} asked for, but no CUDA GPU is visible: use cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(
            "device", f"device {name!r} is unknown: use auto, cpu, cuda or mps"
        ) from None
    if device.type == "mps" and not has_mps:
        raise ConfigError(
            "device", "device mps asked for, but this machine has no Apple GPU: use cpu or auto"
        )
    if device.type == "cuda" and device.index is not None:
        count = torch.cuda.device_count()
        if device.index >= count:
            raise ConfigError(
                "device",
                f"device {name}: this machine has {count} CUDA GPU(s) (cuda:0 to "
                f"cuda:{count - 1}): pick one of those",
            )
    if device.type not in ("cpu", "cuda", "mps"):
        raise ConfigError("device", f"device {name!r} is unknown: use auto, cpu, cuda or mps")
    return device


def mixed_precision(device: torch.device, config: TrainConfig):
    """The autocast context for training on ``device``, and a gradient scaler for fp16."""
    import torch

    if device.type == "cpu" and config.cpu_bf16 and torch.ops.mkldnn._is_mkldnn_bf16_supported():
        # oneDNN runs bf16 LSTMs about twice as fast on CPUs with native bf16 (AVX512-BF16,
        # AMX); elsewhere bf16 is emulated and slower, so it stays off there.
        return torch.autocast("cpu", dtype=torch.bfloat16), None
    if device.type != "cuda" or not config.amp:
        return nullcontext(), None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return torch.autocast("cuda", dtype=dtype), scaler
