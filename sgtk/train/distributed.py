"""Data parallelism on PyTorch's own engine (torchrun + DDP); a no-op in one process."""

from __future__ import annotations

import os
import signal
import subprocess

import torch
import torch.distributed as tdist
from torch import nn


def is_distributed() -> bool:
    return tdist.is_available() and tdist.is_initialized()


def rank() -> int:
    return tdist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return tdist.get_world_size() if is_distributed() else 1


def init_from_env() -> bool:
    """Join the process group that ``torchrun`` describes in the environment, if any."""
    if is_distributed() or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return is_distributed()
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    tdist.init_process_group(backend)
    return True


def device_for_rank(device: torch.device) -> torch.device:
    if device.type == "cuda" and is_distributed():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return device


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    if not is_distributed():
        return model
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def mean(value: float) -> float:
    """Average a Python number over all ranks (the identity in one process)."""
    if not is_distributed():
        return value
    t = torch.tensor([value], dtype=torch.float64)
    if tdist.get_backend() == "nccl":
        t = t.cuda()
    tdist.all_reduce(t)
    return t.item() / world_size()


def maximum(*values: float) -> tuple[float, ...]:
    """Each value's maximum over all ranks (one all-reduce for all of them)."""
    if not is_distributed():
        return values
    t = torch.tensor([float(v) for v in values], dtype=torch.float64)
    if tdist.get_backend() == "nccl":
        t = t.cuda()
    tdist.all_reduce(t, op=tdist.ReduceOp.MAX)
    return tuple(t.tolist())


def any_true(*flags: bool) -> tuple[bool, ...]:
    """Each flag, true on every rank if it is true on any."""
    return tuple(bool(v > 0) for v in maximum(*flags))


def gather_objects(obj):
    """A list with every rank's ``obj`` (``[obj]`` in one process)."""
    if not is_distributed():
        return [obj]
    out = [None] * world_size()
    tdist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    if is_distributed():
        tdist.barrier()


def run_launcher(cmd: list[str]) -> int:
    """Run ``torchrun`` (``cmd``) and return its exit code, passing stop requests on to it.

    SIGTERM (``kill``, ``docker stop``) is forwarded, and SIGUSR1 is forwarded as SIGTERM,
    which torchrun passes to every rank; each rank then stops as on Ctrl-C. Ctrl-C reaches
    torchrun and the ranks through the terminal's process group, so here it is only waited
    out. Without this the launcher would die alone and leave the ranks training.
    """
    from sgtk.train.signals import STOP_SIGNALS

    proc = subprocess.Popen(cmd)
    received: list[int] = []

    def forward(signum: int, frame: object) -> None:
        received.append(signum)
        if signum != signal.SIGINT:
            proc.send_signal(signal.SIGTERM)

    previous = {s: signal.signal(s, forward) for s in STOP_SIGNALS}
    try:
        code = proc.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 128 + received[0] if received else code
