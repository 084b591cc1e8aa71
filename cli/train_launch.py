"""How a `sgtk train` run starts: under torchrun for several processes, and the command
line it records."""

from __future__ import annotations

import os
import shlex
import sys

import typer

from sgtk.errors import SgtkError


def launch_torchrun(devices: int) -> None:
    """Re-run this very command under ``torchrun`` with ``devices`` processes, then exit."""
    args, skip = [], False
    for a in sys.argv[1:]:
        if skip:
            skip = False
        elif a == "--devices":
            skip = True
        elif not a.startswith("--devices="):
            args.append(a)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    cmd += [f"--nproc_per_node={devices}", "-m", "sgtk", *args]
    from sgtk.train.distributed import run_launcher

    raise typer.Exit(run_launcher(cmd))


def check_devices(devices: int, device: str | None) -> None:
    """``--devices`` from 1 to the CPU count (the GPU count when training on CUDA)."""
    if devices < 1:
        raise SgtkError(f"--devices {devices} must be at least 1")
    if devices == 1:
        return
    import torch

    on_gpu = (device or "auto") in ("auto", "cuda") and torch.cuda.is_available()
    most, what = (
        (torch.cuda.device_count(), "CUDA GPU(s)") if on_gpu else (os.cpu_count() or 1, "CPU(s)")
    )
    if devices > most:
        raise SgtkError(
            f"--devices {devices} is more than this machine's {most} {what}: "
            f"pass --devices {most} or fewer"
        )


def command_line(ctx: typer.Context) -> str:
    """The command as typed, from the options given on the command line (for config.toml)."""
    parts = ctx.command_path.split()
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name)
        if source is None or source.name != "COMMANDLINE" or not param.opts:
            continue
        value = ctx.params[param.name]
        if getattr(param, "is_flag", False):
            parts += (param.opts if value else param.secondary_opts)[:1]
        else:
            for one in value if isinstance(value, list | tuple) else [value]:
                parts += [param.opts[0], str(one)]
    return shlex.join(parts)
