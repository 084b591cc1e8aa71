"""What every `sgtk train TASK` shares: its options, the torchrun relaunch and the run itself."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import typer

from sgtk.errors import SgtkError
from sgtk_cli.common import default_run_dir, err, layered, out, print_json, summary_table
from sgtk_cli.progress import RichProgress, progress_for
from sgtk_cli.tables import show_table

# Options shared by every task; None means "take it from the config".
Steps = typer.Option(None, "--steps", help="Training steps.")
BatchSize = typer.Option(None, "--batch-size", help="Examples per step.")
Lr = typer.Option(None, "--lr", help="Learning rate.")
Optimizer = typer.Option(None, "--optimizer", help="The optimiser.")
MaxNorm = typer.Option(None, "--max-norm", help="Gradient-norm clip (0 disables).")
MaxTime = typer.Option(None, "--max-time", help="Stop after this many seconds.")
Seed = typer.Option(None, "--seed", help="Random seed.")
Device = typer.Option(None, "--device", help="auto (cuda, then mps, then cpu), cpu, cuda or mps.")
EvalEvery = typer.Option(None, "--eval-every", help="Evaluate every N steps.")
Out = typer.Option(None, "--out", help="Run directory (default runs/<task>-<model>-<time>).")
Config = typer.Option(None, "--config", help="TOML file overriding configs/<task>.toml.")
Resume = typer.Option(False, "--resume", help="Continue from the run directory's checkpoint.")
Json = typer.Option(False, "--json", help="Print the final metrics as one JSON line.")
Compile = typer.Option(None, "--compile/--no-compile", help="torch.compile the model.")
CheckpointEvery = typer.Option(None, "--checkpoint-every", help="Checkpoint every N steps.")
CheckpointMinutes = typer.Option(
    None, "--checkpoint-minutes", help="Also checkpoint every M minutes, whatever the step time."
)
Logger = typer.Option(
    None,
    "--logger",
    help="jsonl, csv or tensorboard: a log beside metrics.jsonl, which is always written.",
)
LrSchedule = typer.Option(
    None,
    "--lr-schedule",
    help="none, step or linear (over steps, or over --max-time when it is set).",
)
LrDecay = typer.Option(None, "--lr-decay", help="Step schedule: multiply the LR by this…")
LrStep = typer.Option(None, "--lr-step", help="…every this many steps.")
Devices = typer.Option(1, "--devices", help="Processes to train on (launches torchrun).")
Graph = typer.Option(
    None,
    "--graph",
    help="Sequence graph: path, window:K, dilated or complete (auto: the model's own).",
)
PrintConfig = typer.Option(
    False, "--print-config", help="Print the resolved config as TOML (a valid --config) and exit."
)


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
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={devices}",
        "-m",
        "sgtk",
        *args,
    ]
    from sgtk.train.distributed import run_launcher

    raise typer.Exit(run_launcher(cmd))


TRAIN_FLAGS = (
    "steps",
    "batch_size",
    "lr",
    "optimizer",
    "max_norm",
    "max_time",
    "seed",
    "device",
    "eval_every",
    "checkpoint_every",
    "checkpoint_minutes",
    "logger",
    "target",
    "lr_schedule",
    "lr_decay",
    "lr_step",
)


def own_run_record(out_dir: Path | None, task: str) -> dict | None:
    """The ``config.toml`` of the run in ``out_dir`` when it is a run of ``task``. (A run of
    another task is left to the Trainer, which refuses to resume it, naming the task.)"""
    from sgtk.train.config import read_toml

    own = Path(out_dir) / "config.toml" if out_dir is not None else None
    if own is None or not own.is_file():
        return None
    record = read_toml(own)
    return record if record.get("run", {}).get("task") == task else None


def resume_config(
    config: Path | None, out_dir: Path | None, resume: bool, task: str
) -> Path | None:
    """Under ``--resume`` the run's own ``config.toml`` is the base layer, so a resumed run
    keeps its task settings without the user repeating every flag. A missing ``config.toml``
    is restored from the manifest first: its absence must not change the task."""
    if not (resume and config is None and out_dir is not None):
        return config
    own = Path(out_dir) / "config.toml"
    if not own.exists():
        return config_from_manifest(Path(out_dir), task)
    if own_run_record(out_dir, task) is not None:
        return own
    return config


def config_from_manifest(out_dir: Path, task: str) -> Path | None:
    """The run's config rebuilt from ``manifest.json`` (its task config and the latest train
    config) in a temporary file: nothing in the run folder is written before the resume's
    checks pass (the Trainer then writes config.toml again)."""
    import atexit
    import tempfile

    from sgtk.train.config import dumps_toml
    from sgtk.train.run_dir import RunFolder

    manifest = RunFolder(out_dir).read_manifest()
    if manifest is None or manifest["task"] != task:
        return None
    resumes = manifest.get("resumes") or [{}]
    train = resumes[-1].get("train_config") or manifest.get("train_config") or {}
    record = {"run": {"task": task}, "task": manifest.get("task_config") or {}, "train": train}
    fd, name = tempfile.mkstemp(prefix="sgtk-config-", suffix=".toml")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(dumps_toml(record))
    atexit.register(Path(name).unlink, missing_ok=True)
    return Path(name)


def check_same_task(out_dir: Path | None, task_name: str, task_config: object) -> None:
    """A resumed run may extend its budget, never change its task: one line if it would.
    Checked against the manifest (else, for an older run, its config.toml) before the data
    is read; the Trainer checks the data's fingerprint too."""
    from sgtk.train.run_dir import RunFolder, as_plain, differences

    if out_dir is None:
        return
    folder = RunFolder(out_dir)
    if folder.read_manifest() is not None:
        folder.check_same_run(task_name, task_config)
        return
    record = own_run_record(out_dir, task_name)
    if record is None:
        return
    changed = differences(record.get("task", {}), as_plain(task_config))
    if changed:
        raise SgtkError(
            f"--resume would change the run's task ({', '.join(changed)}): drop those flags, "
            "or start a new run with another --out"
        )


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
            opts = param.opts if value else param.secondary_opts
            parts += opts[:1]
        else:
            parts += [param.opts[0], str(value)]
    return shlex.join(parts)


def run(task_name: str, task_factory, args: dict, show: tuple[str, ...]) -> dict:
    """Build the Trainer, run it under a progress bar, print the table (or the JSON line).

    ``task_factory`` returns ``(task, extra)``: the task and what to record about it.
    ``args`` are the command's parameters (its ``locals()``); the shared ones are read here.
    """
    from sgtk.train.config import dumps_toml, run_record
    from sgtk.train.trainer import TrainConfig, Trainer

    config, out_dir, devices = args["config"], args["out_dir"], args["devices"]
    train_flags = {k: args.get(k) for k in TRAIN_FLAGS} | {"compile": args["compile_"]}
    check_devices(devices, args.get("device"))
    if devices > 1 and "WORLD_SIZE" not in os.environ:
        launch_torchrun(devices)
    train_cfg = layered(TrainConfig, "train", task_name, config, train_flags)
    if args["print_config"]:
        record = run_record(task_name, args["task_config"], train_cfg, "")
        sys.stdout.write(dumps_toml({"task": record["task"], "train": record["train"]}).lstrip())
        raise typer.Exit(0)
    if args["resume"]:
        check_same_task(out_dir, task_name, args["task_config"])
    task, extra = task_factory()
    model = extra.get("model", "")
    run_dir = out_dir or default_run_dir(task_name, model)
    is_main = int(os.environ.get("RANK", "0")) == 0
    # A redrawn bar on a terminal; plain lines in a log or a pipe; nothing on other ranks.
    progress = progress_for(f"{task_name} {model}", err, show, train_cfg.max_time)
    trainer = Trainer(
        task,
        train_cfg,
        run_dir,
        extra_config=extra,
        callbacks=[progress] if is_main else [],
        command=command_line(args["ctx"]),
        progress=is_main,
    )
    try:
        result = trainer.fit(resume=args["resume"])
    finally:
        if isinstance(progress, RichProgress):
            progress.stop()
    if not is_main:
        return result
    if args["as_json"]:
        print_json(result)
    else:
        show_table(summary_table(f"{task_name} · {model}", result), out)
    return result
