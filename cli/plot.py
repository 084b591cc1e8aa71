"""`sgtk plot grads`: the vanishing-gradient picture of seed Q1.1."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer

from sgtk_cli.common import guarded, out

app = typer.Typer(help="Figures that explain the models.", no_args_is_help=True)


@app.command()
def grads(
    length: int = typer.Option(100, "--length", "-T", help="Palindrome length."),
    trained: bool = typer.Option(False, "--trained", help="Also train each model first."),
    steps: int = typer.Option(1000, "--steps", help="Training steps with --trained."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    out_file: Path = typer.Option(Path("runs/grads.png"), "--out", help="PNG to write."),
) -> None:
    """Plot ||dL/dh_t|| over t for the RNN and the LSTM, untrained (and trained)."""
    import torch

    from sgtk.experiments.grads import grad_norms, plot_grad_norms
    from sgtk.tasks.palindrome import PalindromeConfig, PalindromeTask
    from sgtk.train.trainer import TrainConfig, Trainer

    def go():
        curves = {}
        for model in ("rnn", "lstm"):
            for init in ("xavier", "auto"):
                task = PalindromeTask(PalindromeConfig(model=model, length=length, init=init))
                torch.manual_seed(seed)
                name = f"{model} ({task.config.resolved_init()})"
                curves[f"{name} untrained"] = grad_norms(task.build_model(), task.data)
                if trained:
                    with tempfile.TemporaryDirectory() as tmp:
                        trainer = Trainer(
                            task,
                            TrainConfig(steps=steps, seed=seed, eval_every=max(steps // 5, 1)),
                            tmp,
                        )
                        trainer.fit()
                        curves[f"{name} trained"] = grad_norms(trainer.model, task.data)
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out.print(f"wrote {plot_grad_norms(curves, out_file, length)}")

    guarded(go)
