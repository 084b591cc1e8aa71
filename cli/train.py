"""`sgtk train TASK`: one command per task, all on the same Trainer."""

from __future__ import annotations

from pathlib import Path

import typer

from sgtk.models.registry import model_help
from sgtk_cli.common import err, guarded, layered
from sgtk_cli.train_run import (
    BatchSize,
    CheckpointEvery,
    CheckpointMinutes,
    Compile,
    Config,
    Device,
    Devices,
    EvalEvery,
    Graph,
    Json,
    Logger,
    Lr,
    LrDecay,
    LrSchedule,
    LrStep,
    MaxNorm,
    MaxTime,
    Optimizer,
    Out,
    PrintConfig,
    Resume,
    Seed,
    Steps,
    resume_config,
    run,
)

app = typer.Typer(
    help="Train a model on a task (palindrome, text or molecules).", no_args_is_help=True
)


@app.command()
def palindrome(
    ctx: typer.Context,
    model: str = typer.Option(None, "--model", help=model_help("palindrome")),
    length: int = typer.Option(None, "--length", "-T", help="Palindrome length T (>= 3)."),
    hidden: int = typer.Option(None, "--hidden", help="Hidden units."),
    layers: int = typer.Option(None, "--layers", help="GCN layers k (receptive field k hops)."),
    readout: str = typer.Option(None, "--readout", help="Graph readout (last: the last node)."),
    init: str = typer.Option(
        None, "--init", help="auto, xavier, orthogonal (rnn), forget or chrono (lstm)."
    ),
    pos_dim: int = typer.Option(None, "--pos-dim", help="GCN positional-encoding size."),
    graph: str = Graph,
    one_hot: bool = typer.Option(None, "--one-hot/--scalar", help="Digit features."),
    curriculum: int = typer.Option(
        None, "--curriculum", help="Start at this length, lengthen once val is solved (0: off)."
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
        config = args["config"] = resume_config(args["config"], out_dir, resume, "palindrome")
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
                curriculum=curriculum,
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
    from sgtk.models.sampling import parse_taus
    from sgtk.tasks.text import TextConfig, TextTask

    def go():
        config = args["config"] = resume_config(args["config"], out_dir, resume, "text")
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

        task = None if print_config else fit_text_budget(cfg, args, config)

        def make():
            made = task or TextTask(cfg)
            return made, {**made.model_config(), "task_config": vars(cfg)}

        args["task_config"] = cfg
        run("text", make, args, ("loss", "bpc"))

    guarded(go)


def fit_text_budget(cfg, args: dict, config: Path | None):
    """Under --max-time, the hidden size and batch not given come from a throughput probe
    (sgtk.tasks.text_budget); returns the task that read the corpus, or None (no probe)."""
    from sgtk.tasks.text import TextTask
    from sgtk.tasks.text_budget import apply_budget_fit
    from sgtk.train.config import read_config_file
    from sgtk.train.trainer import TrainConfig
    from sgtk_cli.train_run import TRAIN_FLAGS

    train = layered(TrainConfig, "train", "text", config, {k: args.get(k) for k in TRAIN_FLAGS})
    if train.max_time is None or not cfg.fit_budget or args["resume"]:
        return None
    given = {k for k in ("hidden", "batch_size") if args[k] is not None}
    if config:
        file = read_config_file(Path(config), "text")
        given |= set(file.get("task", {})) | set(file.get("train", {}))
    task = TextTask(cfg)
    if apply_budget_fit(cfg, train, len(task.vocab), given) is not None:
        args["batch_size"], args["max_time"] = train.batch_size, train.max_time
        err.print(f"[dim]{cfg.fitted}[/]")
    return task


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
    readout: str = typer.Option(None, "--readout", help="Graph readout."),
    dropout: float = typer.Option(None, "--dropout", help="Dropout before the head."),
    split_seed: int = typer.Option(None, "--split-seed", help="Seed of the random split."),
    augment: int = typer.Option(
        None, "--augment", help="Random SMILES per molecule for the sequence models."
    ),
    drop_invalid: bool = typer.Option(
        None,
        "--drop-invalid/--refuse-invalid",
        help="Drop rows whose target is NaN or infinite (counted in the dataset's meta) "
        "instead of refusing the file (default: refuse, naming the rows).",
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
        config = args["config"] = resume_config(args["config"], out_dir, resume, "molecules")
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
                drop_invalid=drop_invalid,
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
