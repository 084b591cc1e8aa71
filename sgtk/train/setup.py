"""What ``Trainer.fit`` builds before its first step: the model and optimiser, the data
generator, the wrapped model it trains (DDP, ``torch.compile``), mixed precision, and the
loop state that a resume restores."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sgtk.train import distributed as dist
from sgtk.train.loop import LoopState
from sgtk.train.optim import make_optimizer
from sgtk.train.train_config import TrainConfig, mixed_precision
from sgtk.train.train_state import TrainState, restore


@dataclass
class RunParts:
    model: nn.Module
    optimizer: torch.optim.Optimizer
    data_gen: torch.Generator
    batch_size: int  # this rank's share of the global batch
    train_model: nn.Module  # the model the steps call: DDP-wrapped, compiled
    autocast: Any
    scaler: Any


def build_parts(task: Any, cfg: TrainConfig, device: torch.device) -> RunParts:
    """The model and optimiser from ``cfg.seed``; each rank draws its own data."""
    torch.manual_seed(cfg.seed)
    model = task.build_model().to(device)
    optimizer = make_optimizer(
        cfg.optimizer, model.parameters(), cfg.lr, cfg.momentum, cfg.weight_decay
    )
    data_gen = torch.Generator().manual_seed(cfg.seed * 1000 + 17 + dist.rank())
    train_model = dist.wrap(model, device)
    if cfg.compile:
        # torch.compile(module) is an OptimizedModule (an nn.Module); its stub says Callable.
        train_model = torch.compile(train_model)  # type: ignore[assignment]
    autocast, scaler = mixed_precision(device, cfg)
    batch_size = max(cfg.batch_size // dist.world_size(), 1)
    return RunParts(model, optimizer, data_gen, batch_size, train_model, autocast, scaler)


def resumed_loop(saved: TrainState, path: Path, parts: RunParts, task: Any) -> LoopState:
    """Load ``saved`` into ``parts`` and the task; the loop state it was written at."""
    rank = dist.rank()
    restore(saved, path, parts.model, parts.optimizer, parts.data_gen, task, rank)
    run = LoopState(
        step=saved.step,
        elapsed_before=saved.elapsed,
        cpu_before=saved.cpu_seconds,
        best=saved.best,
    )
    run.best_val, run.saved_step = saved.best_val, saved.step
    # A checkpoint between evaluations (a signal, --checkpoint-minutes) carries the train
    # statistics gathered since the last one, so the next record is the same.
    sums = saved.train_sums or [[{}, 0]] * dist.world_size()
    run.sums, run.count = sums[rank]
    return run
