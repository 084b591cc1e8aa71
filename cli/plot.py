"""`sgtk plot grads` (gradients over time), `sgtk plot run` (a run's curves) and `sgtk plot
horizon` (palindrome test accuracy against T, from finished runs), `sgtk plot zoo` (every
family's palindrome horizon, from compare sweeps)."""

from __future__ import annotations

from pathlib import Path

import typer

from sgtk_cli.common import guarded, out

app = typer.Typer(help="Figures that explain the models.", no_args_is_help=True)
# A sweep's files name the `compare rnn-vs-gcn` flag that rewrites them.
SWEEP_FLAGS = {"resume": "--resume"}
OUT_FLAG = {"out": "--out"}
FIGURE_HELP = "Figure to write: .png, .pdf or .svg."


@app.command()
def grads(
    length: int = typer.Option(100, "--length", "-T", help="Palindrome length."),
    trained: bool = typer.Option(False, "--trained", help="Also train each model first."),
    steps: int = typer.Option(1000, "--steps", help="Training steps with --trained."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    out_file: Path = typer.Option(Path("runs/grads.png"), "--out", help=FIGURE_HELP),
) -> None:
    """Plot ||dL/dh_t|| over t for the RNN and the LSTM, untrained (and trained).

    Example: sgtk plot grads --length 100 --trained
    """
    from sgtk.experiments.grads import grad_curves, plot_grad_norms
    from sgtk.io.figures import figure_format

    def go():
        figure_format(out_file)  # before any training
        curves = grad_curves(length, trained, steps, seed)
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out.print(f"wrote {plot_grad_norms(curves, out_file, length)}")

    guarded(go, {"length": "--length", "steps": "--steps", "seed": "--seed", "out": "--out"})


@app.command()
def run(
    run_dirs: list[Path] = typer.Argument(..., help="Run folders (with metrics.jsonl)."),
    out_file: Path = typer.Option(None, "--out", help=f"{FIGURE_HELP} [first run/curves.png]"),
) -> None:
    """Train and val curves of one or more runs in one PNG.

    Example: sgtk plot run runs/shakespeare runs/shakespeare-gcn --out curves.png
    """
    from sgtk.experiments.runplot import plot_runs

    def go():
        path = out_file or Path(run_dirs[0]) / "curves.png"
        out.print(f"wrote {plot_runs(run_dirs, path)['path']}")

    guarded(go, OUT_FLAG)


@app.command()
def horizon(
    run_dirs: list[Path] = typer.Argument(..., help="Finished palindrome run folders."),
    out_file: Path = typer.Option(Path("runs/memory_horizon.png"), "--out", help=FIGURE_HELP),
) -> None:
    """Test accuracy against T, one line per model and init (mean ± std over seeds).

    Example: sgtk plot horizon runs/horizon/* --out memory_horizon.png
    """
    from sgtk.experiments.horizon import plot_horizon

    def go():
        drawn = plot_horizon(run_dirs, out_file)
        for setup, by_t in drawn["points"].items():
            cells = ", ".join(f"T={t}: {m:.3f} ± {s:.3f} (n={n})" for t, (m, s, n) in by_t.items())
            out.print(f"{setup}: {cells}")
        out.print(f"wrote {drawn['path']}")

    guarded(go, OUT_FLAG)


@app.command()
def zoo(
    sweep_dirs: list[Path] = typer.Argument(..., help="compare --out folders (palindromes)."),
    out_file: Path = typer.Option(Path("runs/zoo_horizon.png"), "--out", help=FIGURE_HELP),
) -> None:
    """Every model family's palindrome horizon (longest T with test accuracy >= 0.99).

    Example: sgtk plot zoo runs/zoo --out zoo_horizon.png
    """
    from sgtk.experiments.zoo_plot import horizon_rows, horizon_table, plot_zoo_horizon
    from sgtk.io.figures import figure_format

    def go():
        figure_format(out_file)  # before the table is printed
        rows = horizon_rows(sweep_dirs)
        out.print(horizon_table(rows), markup=False)
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out.print(f"wrote {plot_zoo_horizon(rows, out_file)['path']}")

    guarded(go, {**SWEEP_FLAGS, **OUT_FLAG})
