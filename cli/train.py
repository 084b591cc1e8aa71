"""`sgtk train TASK`: one command per task, all on the same Trainer."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.common import (
    RichProgress,
    default_run_dir,
    guarded,
    layered,
    out,
    print_json,
    summary_table,
)
from sgtk.train.trainer import TrainConfig, Trainer

app = typer.Typer(help="Train a model on a task (palindrome, text or molecules).",
                  no_args_is_help=True)

# Options shared by every task; None means "take it from the config".
Steps = typer.Option(None, "--steps", help="Training steps.")
BatchSize = typer.Option(None, "--batch-size", help="Examples per step.")
Lr = typer.Option(None, "--lr", help="Learning rate.")
Optimizer = typer.Option(None, "--optimizer", help="sgd, momentum, rmsprop, adam or adamw.")
MaxNorm = typer.Option(None, "--max-norm", help="Gradient-norm clip (0 disables).")
MaxTime = typer.Option(None, "--max-time", help="Stop after this many seconds.")
Seed = typer.Option(None, "--seed", help="Random seed.")
Device = typer.Option(None, "--device", help="auto, cpu or cuda.")
EvalEvery = typer.Option(None, "--eval-every", help="Evaluate every N steps.")
Out = typer.Option(None, "--out", help="Run directory (default runs/<task>-<model>-<time>).")
Config = typer.Option(None, "--config", help="TOML file overriding configs/<task>.toml.")
Resume = typer.Option(False, "--resume", help="Continue from the run directory's checkpoint.")
Json = typer.Option(False, "--json", help="Print the final metrics as one JSON line.")
Compile = typer.Option(None, "--compile/--no-compile", help="torch.compile the model.")


def run(task_name: str, task, train_flags: dict, config: Path | None, out_dir: Path | None,
        resume: bool, as_json: bool, extra: dict, show: tuple[str, ...]) -> dict:
    """Build the Trainer, run it under a progress bar, print the table (or the JSON line)."""
    train_cfg = layered(TrainConfig, "train", task_name, config, train_flags)
    model = extra.get("model", "")
    run_dir = out_dir or default_run_dir(task_name, model)
    progress = RichProgress(f"{task_name} {model}", show=show)
    trainer = Trainer(task, train_cfg, run_dir, extra_config=extra, callbacks=[progress])
    try:
        result = trainer.fit(resume=resume)
    finally:
        progress.stop()
    if as_json:
        print_json(result)
    else:
        out.print(summary_table(f"{task_name} · {model}", result))
    return result


@app.command()
def palindrome(
    model: str = typer.Option(None, "--model", help="rnn, lstm, gcn (hand-written) or pyg-gcn."),
    length: int = typer.Option(None, "--length", "-T", help="Palindrome length T (>= 3)."),
    hidden: int = typer.Option(None, "--hidden", help="Hidden units."),
    layers: int = typer.Option(None, "--layers", help="GCN layers k (receptive field k hops)."),
    readout: str = typer.Option(None, "--readout", help="GCN readout: last, mean, sum or max."),
    init: str = typer.Option(None, "--init",
                             help="auto, xavier, orthogonal (rnn), forget or chrono (lstm)."),
    pos_dim: int = typer.Option(None, "--pos-dim", help="GCN positional-encoding size."),
    one_hot: bool = typer.Option(None, "--one-hot/--scalar", help="Digit features."),
    steps: int = Steps, batch_size: int = BatchSize, lr: float = Lr, optimizer: str = Optimizer,
    max_norm: float = MaxNorm, max_time: float = MaxTime, seed: int = Seed,
    device: str = Device, eval_every: int = EvalEvery,
    target: float = typer.Option(None, "--target", help="Stop once held-out accuracy >= this."),
    out_dir: Path = Out, config: Path = Config, resume: bool = Resume, as_json: bool = Json,
    compile_: bool = Compile,
) -> None:
    """Digit palindromes (seed §1): predict the last digit from the first T-1."""
    from sgtk.tasks.palindrome import PalindromeConfig, PalindromeTask

    def go():
        cfg = layered(PalindromeConfig, "task", "palindrome", config, dict(
            model=model, length=length, hidden=hidden, layers=layers, readout=readout,
            init=init, pos_dim=pos_dim, one_hot=one_hot))
        task = PalindromeTask(cfg)
        flags = dict(steps=steps, batch_size=batch_size, lr=lr, optimizer=optimizer,
                     max_norm=max_norm, max_time=max_time, seed=seed, device=device,
                     eval_every=eval_every, target=target, compile=compile_)
        run("palindrome", task, flags, config, out_dir, resume, as_json,
            {"model": cfg.model, "task_config": vars(cfg)}, ("loss", "accuracy"))

    guarded(go)
