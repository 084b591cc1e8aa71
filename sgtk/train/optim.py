"""Optimisers (the seed's Q1.4 set) and learning-rate schedules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from sgtk.choices import OPTIMIZERS, SCHEDULES
from sgtk.errors import SgtkError


def make_optimizer(
    name: str,
    params: Iterable[torch.nn.Parameter],
    lr: float,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
) -> torch.optim.Optimizer:
    params = list(params)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    raise SgtkError(f"unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}")


def lr_factor(
    schedule: str,
    *,
    step: int,
    total_steps: int,
    decay: float,
    every: int,
    time_fraction: float | None = None,
    final: float = 0.05,
) -> float:
    """Multiplier of the base learning rate at ``step``.

    ``step``: times ``decay`` every ``every`` steps. ``linear``: down to ``final`` over the run,
    measured in time when the run is bounded by ``--max-time`` (``time_fraction``), else steps.
    """
    if schedule == "none":
        return 1.0
    if schedule == "step":
        return decay ** (step // every) if every > 0 else 1.0
    if schedule == "linear":
        frac = time_fraction if time_fraction is not None else step / max(total_steps, 1)
        return max(final, 1.0 - (1.0 - final) * min(frac, 1.0))
    raise SgtkError(f"unknown lr schedule {schedule!r}: choose one of {', '.join(SCHEDULES)}")


def set_lr(optimizer: torch.optim.Optimizer, base_lr: float, factor: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = base_lr * factor


def scheduled_factor(config: Any, step: int, elapsed: float) -> float:
    """``lr_factor`` at ``step`` for a :class:`~sgtk.train.train_config.TrainConfig`: a linear
    schedule follows the time budget when ``max_time`` is set."""
    frac = elapsed / config.max_time if config.max_time else None
    return lr_factor(
        config.lr_schedule,
        step=step,
        total_steps=config.steps,
        decay=config.lr_decay,
        every=config.lr_step,
        time_fraction=frac,
    )


def update(
    loss: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    parameters: Iterable[torch.nn.Parameter],
    max_norm: float,
    scaler: Any = None,
) -> None:
    """One optimiser update from ``loss``: backward, gradient-norm clip (``max_norm`` > 0),
    step; through the gradient ``scaler`` of fp16 mixed precision when there is one."""
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
    else:
        loss.backward()
    if max_norm > 0:
        torch.nn.utils.clip_grad_norm_(list(parameters), max_norm)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
