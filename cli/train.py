"""`sgtk train TASK`: one command per task, all on the same Trainer."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import typer

from sgtk.errors import SgtkError
from sgtk.models.registry import model_help
from sgtk_cli.common import (
    RichProgress,
    default_run_dir,
    guarded,
    layered,
    out,
    print_json,
    summary_table,
)

app = typer.Typer(
    help="Train a model on a task (palindrome, text or molecules).", no_args_is_help=True
)

# Options shared by every task; None means "take it from the config".
Steps = typer.Option(None, "--steps", help="Training steps.")
BatchSize = typer.Option(None, "--batch-size", help="Examples per step.")
Lr = typer.Option(None, "--lr", help="Learning rate.")
Optimizer = typer.Option(None, "--optimizer", help="sgd, momentum, rmsprop, adam or adamw.")
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
    if devices < 1:
        raise SgtkError(f"--devices {devices} must be at least 1")
    if devices > 1 and "WORLD_SIZE" not in os.environ:
        launch_torchrun(devices)
    train_cfg = layered(TrainConfig, "train", task_name, config, train_flags)
    if args["print_config"]:
        record = run_record(task_name, args["task_config"], train_cfg, "")
        sys.stdout.write(dumps_toml({"task": record["task"], "train": record["train"]}).lstrip())
        raise typer.Exit(0)
    task, extra = task_factory()
    model = extra.get("model", "")
    run_dir = out_dir or default_run_dir(task_name, model)
    is_main = int(os.environ.get("RANK", "0")) == 0
    progress = RichProgress(
        f"{task_name} {model}", show=show, enabled=is_main, max_time=train_cfg.max_time
    )
    trainer = Trainer(
        task,
        train_cfg,
        run_dir,
        extra_config=extra,
        callbacks=[progress],
        command=command_line(args["ctx"]),
    )
    try:
        result = trainer.fit(resume=args["resume"])
    finally:
        progress.stop()
    if not is_main:
        return result
    if args["as_json"]:
        print_json(result)
    else:
        out.print(summary_table(f"{task_name} · {model}", result))
    return result


@app.command()
def palindrome(
    ctx: typer.Context,
    model: str = typer.Option(None, "--model", help=model_help("palindrome")),
    length: int = typer.Option(None, "--length", "-T", help="Palindrome length T (>= 3)."),
    hidden: int = typer.Option(None, "--hidden", help="Hidden units."),
    layers: int = typer.Option(None, "--layers", help="GCN layers k (receptive field k hops)."),
    readout: str = typer.Option(None, "--readout", help="GCN readout: last, mean, sum or max."),
    init: str = typer.Option(
        None, "--init", help="auto, xavier, orthogonal (rnn), forget or chrono (lstm)."
    ),
    pos_dim: int = typer.Option(None, "--pos-dim", help="GCN positional-encoding size."),
    graph: str = Graph,
    one_hot: bool = typer.Option(None, "--one-hot/--scalar", help="Digit features."),
    steps: int = Steps,
    batch_size: int = BatchSize,
    lr: float = Lr,
    optimizer: str = Optimizer,
    max_norm: float = MaxNorm,
    max_time: float = MaxTime,
    seed: int = Seed,
    device: str = Device,
    eval_every: int = EvalEvery,
    target: float = typer.Option(None, "--target", help="Stop once held-out accuracy >= this."),
    checkpoint_every: int = CheckpointEvery,
    checkpoint_minutes: float = CheckpointMinutes,
    logger: str = Logger,
    devices: int = Devices,
    lr_schedule: str = LrSchedule,
    lr_decay: float = LrDecay,
    lr_step: int = LrStep,
    out_dir: Path = Out,
    config: Path = Config,
    resume: bool = Resume,
    as_json: bool = Json,
    compile_: bool = Compile,
    print_config: bool = PrintConfig,
) -> None:
    """Digit palindromes: predict the last digit from the first T-1, a pure memory task."""
    args = locals()
    from sgtk.tasks.palindrome import PalindromeConfig, PalindromeTask

    def go():
        cfg = layered(
            PalindromeConfig,
            "task",
            "palindrome",
            config,
            dict(
                model=model,
                length=length,
                hidden=hidden,
                layers=layers,
                readout=readout,
                init=init,
                pos_dim=pos_dim,
                one_hot=one_hot,
                graph=graph,
            ),
        )
        args["task_config"] = cfg
        run(
            "palindrome",
            lambda: (PalindromeTask(cfg), {"model": cfg.model, "task_config": vars(cfg)}),
            args,
            ("loss", "accuracy"),
        )

    guarded(go)


@app.command()
def text(
    ctx: typer.Context,
    data: Path = typer.Option(None, "--data", help="Any UTF-8 text file."),
    corpus: str = typer.Option(
        None, "--corpus", help="Built-in corpus, downloaded into data/ on first use."
    ),
    model: str = typer.Option(None, "--model", help=model_help("text")),
    seq_length: int = typer.Option(None, "--seq-length", help="Characters per window."),
    hidden: int = typer.Option(None, "--hidden", help="Hidden units."),
    layers: int = typer.Option(None, "--layers", help="LSTM layers, or GCN layers k."),
    embed: int = typer.Option(None, "--embed", help="Embedding size (0: one-hot input)."),
    dropout: float = typer.Option(None, "--dropout", help="Dropout between layers."),
    graph: str = Graph,
    carry_state: bool = typer.Option(
        None,
        "--carry-state/--cold-windows",
        help="Evaluate an LSTM with its state carried across windows (default: cold windows, "
        "the same for every model).",
    ),
    sample_every: int = typer.Option(
        None, "--sample-every", help="samples.md every N steps (0: at each evaluation)."
    ),
    sample_count: int = typer.Option(None, "--sample-count", help="Samples per temperature."),
    sample_tau: str = typer.Option(
        None, "--sample-tau", help="Temperatures of samples.md, e.g. 0.5,1,2."
    ),
    sample_length: int = typer.Option(None, "--sample-length", help="Characters per sample."),
    steps: int = Steps,
    batch_size: int = BatchSize,
    lr: float = Lr,
    optimizer: str = Optimizer,
    max_norm: float = MaxNorm,
    max_time: float = MaxTime,
    seed: int = Seed,
    device: str = Device,
    eval_every: int = EvalEvery,
    checkpoint_every: int = CheckpointEvery,
    checkpoint_minutes: float = CheckpointMinutes,
    logger: str = Logger,
    devices: int = Devices,
    lr_schedule: str = LrSchedule,
    lr_decay: float = LrDecay,
    lr_step: int = LrStep,
    out_dir: Path = Out,
    config: Path = Config,
    resume: bool = Resume,
    as_json: bool = Json,
    compile_: bool = Compile,
    print_config: bool = PrintConfig,
) -> None:
    """Character language model on a text file or a built-in corpus."""
    args = locals()
    from sgtk.generate import parse_taus
    from sgtk.tasks.text import TextConfig, TextTask

    def go():
        cfg = layered(
            TextConfig,
            "task",
            "text",
            config,
            dict(
                data=str(data) if data else None,
                corpus=corpus,
                model=model,
                seq_length=seq_length,
                hidden=hidden,
                layers=layers,
                embed=embed,
                dropout=dropout,
                graph=graph,
                carry_state=carry_state,
                sample_every=sample_every,
                sample_count=sample_count,
                sample_tau=parse_taus(sample_tau, "--sample-tau") if sample_tau else None,
                sample_length=sample_length,
            ),
        )

        def make():
            task = TextTask(cfg)
            return task, {**task.model_config(), "task_config": vars(cfg)}

        args["task_config"] = cfg
        run("text", make, args, ("loss", "bpc"))

    guarded(go)


@app.command()
def molecules(
    ctx: typer.Context,
    model: str = typer.Option(
        None,
        "--model",
        help=model_help("molecules"),
    ),
    dataset: str = typer.Option(
        None, "--dataset", help="nci-tpsa (offline), freesolv, esol or lipophilicity."
    ),
    data: Path = typer.Option(
        None, "--data", help="Any CSV (or .csv.gz) of SMILES with a numeric target."
    ),
    delimiter: str = typer.Option(
        None, "--delimiter", help="CSV delimiter of --data: auto (default), ',', ';' or tab."
    ),
    split: str = typer.Option(
        None, "--split", help="random or scaffold (Bemis-Murcko, as MoleculeNet)."
    ),
    smiles_col: str = typer.Option(None, "--smiles-col", help="SMILES column of --data."),
    target_col: str = typer.Option(None, "--target-col", help="Target column of --data."),
    hidden: int = typer.Option(None, "--hidden", help="Hidden units."),
    layers: int = typer.Option(None, "--layers", help="GCN layers."),
    readout: str = typer.Option(None, "--readout", help="Graph readout: mean, sum or max."),
    dropout: float = typer.Option(None, "--dropout", help="Dropout before the head."),
    split_seed: int = typer.Option(None, "--split-seed", help="Seed of the random split."),
    augment: int = typer.Option(
        None, "--augment", help="Random SMILES per molecule for the sequence models."
    ),
    steps: int = Steps,
    batch_size: int = BatchSize,
    lr: float = Lr,
    optimizer: str = Optimizer,
    max_norm: float = MaxNorm,
    max_time: float = MaxTime,
    seed: int = Seed,
    device: str = Device,
    eval_every: int = EvalEvery,
    checkpoint_every: int = CheckpointEvery,
    checkpoint_minutes: float = CheckpointMinutes,
    logger: str = Logger,
    devices: int = Devices,
    lr_schedule: str = LrSchedule,
    lr_decay: float = LrDecay,
    lr_step: int = LrStep,
    out_dir: Path = Out,
    config: Path = Config,
    resume: bool = Resume,
    as_json: bool = Json,
    compile_: bool = Compile,
    print_config: bool = PrintConfig,
) -> None:
    """Molecular property regression on the graph or the SMILES string."""
    args = locals()
    from sgtk.tasks.molecules import MoleculeConfig, MoleculeTask

    def go():
        cfg = layered(
            MoleculeConfig,
            "task",
            "molecules",
            config,
            dict(
                model=model,
                dataset=dataset,
                data=str(data) if data else None,
                smiles_col=smiles_col,
                target_col=target_col,
                hidden=hidden,
                layers=layers,
                readout=readout,
                dropout=dropout,
                split_seed=split_seed,
                augment=augment,
                delimiter=delimiter,
                split=split,
            ),
        )

        def make():
            task = MoleculeTask(cfg)
            return task, {**task.model_config(), "task_config": vars(cfg)}

        args["task_config"] = cfg
        run("molecules", make, args, ("loss",))

    guarded(go)
