"""`sgtk compare rnn-vs-gcn`: a sweep with a table, plots and a results file."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sgtk.errors import SgtkError
from sgtk_cli.common import err, guarded, out

app = typer.Typer(help="Compare recurrent and graph models on the same data.", no_args_is_help=True)


def _ints(text: str, flag: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SgtkError(
            f"{flag} {text!r} is not a comma-separated list of integers (e.g. {flag} 5,10,15)"
        ) from None
    if not values:
        raise SgtkError(f"{flag} is empty: give at least one value (e.g. {flag} 5,10)")
    return values


@app.command("rnn-vs-gcn")
def rnn_vs_gcn(
    task: str = typer.Option("palindrome", "--task", help="palindrome, text or molecules."),
    lengths: str = typer.Option("5,10,15,20,25", "--lengths", help="Palindrome lengths."),
    models: str = typer.Option(
        None,
        "--models",
        help="Comma-separated models (default: "
        "rnn,lstm,gcn; text: lstm,gcn; molecules: gcn,lstm,gcn-smiles).",
    ),
    layers: str = typer.Option("4", "--layers", help="GCN depths k, e.g. 2,4,8."),
    seeds: int = typer.Option(3, "--seeds", help="Seeds per configuration."),
    steps: int = typer.Option(None, "--steps", help="Steps per run (default per task)."),
    data: Path = typer.Option(None, "--data", help="Text file (text) or CSV (molecules)."),
    target_col: str = typer.Option("expt", "--target-col", help="CSV target column."),
    out_dir: Path = typer.Option(Path("runs/compare"), "--out", help="Output directory."),
) -> None:
    """Train RNN/LSTM and GCN models side by side; write results.json/csv and PNG plots."""
    from sgtk.experiments.compare import Sweep, run_sweep, summarise, write_results
    from sgtk.experiments.plots import plot_sweep

    def go():
        default_models = {
            "palindrome": "rnn,lstm,gcn",
            "text": "lstm,gcn",
            "molecules": "gcn,lstm,gcn-smiles",
        }.get(task, "")
        names = [
            m.strip()
            for m in (models if models is not None else default_models).split(",")
            if m.strip()
        ]
        sweep = Sweep(
            task=task,
            lengths=_ints(lengths, "--lengths"),
            models=names,
            layers=_ints(layers, "--layers"),
            seeds=seeds,
            steps=steps,
            text_data=str(data) if data and task == "text" else None,
            molecule_data=str(data) if data and task == "molecules" else None,
            molecule_target=target_col,
        )
        sweep.validate()
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SgtkError(
                f"cannot write to {out_dir} ({e.strerror}): choose a writable --out"
            ) from None
        total = len(sweep.runs())
        with Progress(
            TextColumn("[bold]compare {task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} runs"),
            TextColumn("{task.fields[last]}"),
            TimeElapsedColumn(),
            console=err,
        ) as progress:
            bar = progress.add_task(task, total=total, last="")

            def on_run(i, n, row):
                shown = row.get("test_accuracy") or row.get("val_bpc") or row.get("test_rmse")
                length = f" T={row['length']}" if task == "palindrome" else ""
                progress.update(
                    bar,
                    completed=i,
                    last=f"{row['model']}{length} "
                    f"k={row['layers']} seed={row['seed']}: {shown:.3f}",
                )

            rows, curves = run_sweep(sweep, on_run)
        write_results(rows, out_dir)
        pngs = plot_sweep(task, rows, curves, out_dir)
        key = {"palindrome": "test_accuracy", "text": "val_bpc", "molecules": "test_rmse"}[task]
        out.print(_table(summarise(rows, key), key, task))
        out.print(f"results: {out_dir / 'results.json'}, {out_dir / 'results.csv'}")
        out.print("plots: " + ", ".join(str(p) for p in pngs))

    guarded(go)


def _table(stats, key: str, task: str) -> Table:
    from sgtk.experiments.compare import GRAPH_MODELS

    labels = sorted({(m, k) for m, _, k in stats})
    lengths = sorted({t for _, t, _ in stats})
    table = Table(title=f"{key} (mean ± std over seeds)", title_justify="left")
    table.add_column("model")
    for t in lengths:
        table.add_column(f"T={t}" if task == "palindrome" else key, justify="right")
    for model, k in labels:
        cells = []
        for t in lengths:
            s = stats.get((model, t, k))
            cells.append(f"{s[0]:.3f} ± {s[1]:.3f}" if s else "")
        table.add_row(f"{model} k={k}" if model in GRAPH_MODELS else model, *cells)
    return table
