"""`sgtk compare rnn-vs-gcn` and `sgtk compare merge`: parse, call sgtk.experiments, render."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sgtk.errors import SgtkError
from sgtk_cli.common import err, guarded, out

app = typer.Typer(help="Compare recurrent and graph models on the same data.", no_args_is_help=True)
TASKS_ALL = ("palindrome", "text", "molecules")


def _list(text: str | None, flag: str, kind=int, allow=()) -> list | None:
    if text is None:
        return None
    try:
        values = [
            v.strip() if v.strip() in allow else kind(v) for v in text.split(",") if v.strip()
        ]
    except ValueError:
        raise SgtkError(
            f"{flag} {text!r} is not a comma-separated list of {kind.__name__}s "
            f"(e.g. {flag} {'5,10' if kind is int else '3e-4,1e-3'})"
        ) from None
    if not values:
        raise SgtkError(f"{flag} is empty: give at least one value (e.g. {flag} 5,10)")
    return values


@app.command("rnn-vs-gcn")
def rnn_vs_gcn(
    task: str = typer.Option("palindrome", "--task", help="palindrome, text, molecules or all."),
    lengths: str = typer.Option(None, "--lengths", help="Palindrome lengths [5,10,15,20,25]."),
    models: str = typer.Option(
        None, "--models", help="Models, or model@graph [rnn,lstm,gcn; text lstm,gcn]."
    ),
    graph: str = typer.Option(
        None, "--graph", help="Graph of the graph models: path, window:K, dilated, complete."
    ),
    layers: str = typer.Option(
        None, "--layers", help="Graph depths k, or auto (reach of the graph) [4,auto]."
    ),
    seeds: int = typer.Option(None, "--seeds", help="Seeds per configuration [3]."),
    steps: int = typer.Option(None, "--steps", help="Step budget of every run."),
    max_time: float = typer.Option(None, "--max-time", help="Time budget of every run (s)."),
    params: int = typer.Option(None, "--params", help="Parameter budget of every model (±10 %)."),
    threads: int = typer.Option(None, "--threads", help="Torch threads per run [1]; 0: torch's."),
    jobs: int = typer.Option(
        None, "--jobs", help="Runs side by side, one process each [0: one per core]."
    ),
    tune_lr: str = typer.Option(
        None, "--tune-lr", help="Pick each model's LR on val, e.g. 3e-4,1e-3,3e-3."
    ),
    init: str = typer.Option(
        None, "--init", help="Recurrent init: auto (orthogonal/chrono) or xavier."
    ),
    protocol: str = typer.Option(
        None,
        "--protocol",
        help="fair (choose on val) or assignment (Xavier, scalar inputs, RMSProp, "
        "10,000 steps, last step reported).",
    ),
    carry_state: bool = typer.Option(
        None,
        "--carry-state/--no-carry-state",
        help="Text: carry the LSTM state across val windows.",
    ),
    data: Path = typer.Option(None, "--data", help="Text file (text) or CSV (molecules)."),
    text_data: Path = typer.Option(None, "--text-data", help="Text file [tinyshakespeare corpus]."),
    molecule_data: Path = typer.Option(None, "--molecule-data", help="Molecule CSV [nci-tpsa]."),
    target_col: str = typer.Option(None, "--target-col", help="Molecule CSV target column [expt]."),
    shard: str = typer.Option(None, "--shard", help="Run every N-th run, from the I-th: I/N."),
    resume: bool = typer.Option(False, "--resume", help="Skip finished runs in --out."),
    out_dir: Path = typer.Option(Path("runs/compare"), "--out", help="Output directory."),
) -> None:
    """Train recurrent and graph models on matched budgets; write tables, results and plots.

    Examples:

      sgtk compare rnn-vs-gcn --lengths 6,10 --seeds 2

      sgtk compare rnn-vs-gcn --init xavier --models rnn,lstm --lengths 10,15,20,25

      sgtk compare rnn-vs-gcn --models lstm,gcn,gcn@dilated,transformer --layers auto

      sgtk compare rnn-vs-gcn --task all --seeds 1 --steps 200 --text-data input.txt
    """
    from sgtk.experiments.report import write_report
    from sgtk.experiments.sweep import Sweep, parse_shard

    def go():
        if task != "all" and task not in TASKS_ALL:
            raise SgtkError(f"unknown task {task!r}: choose one of {', '.join(TASKS_ALL)}, all")
        tasks = TASKS_ALL if task == "all" else (task,)
        given = {"--models": models, "--layers": layers, "--lengths": lengths, "--params": params,
                 "--graph": graph}  # fmt: skip
        if task == "all" and any(v is not None for v in given.values()):
            flags = ", ".join(k for k, v in given.items() if v is not None)
            raise SgtkError(f"{flags} cannot apply to every task: drop it, or run one --task")
        common = dict(
            seeds=seeds, steps=steps, init=init, carry_state=carry_state, max_time=max_time,
            threads=threads, jobs=jobs, protocol=protocol,
            tune_lr=_list(tune_lr, "--tune-lr", float),
            shard=parse_shard(shard) if shard else None,
            text_data=str(text_data or (data if task == "text" else None) or "") or None,
            molecule_data=str(molecule_data or (data if task == "molecules" else None) or "")
            or None, target_col=target_col,
        )  # fmt: skip
        sweeps = [
            Sweep.from_config(
                t,
                **common,
                models=None
                if models is None
                else [m.strip() for m in models.split(",") if m.strip()],
                lengths=_list(lengths, "--lengths"),
                layers=_list(layers, "--layers", allow=("auto",)),
                params=params,
                graph=graph,
            )
            for t in tasks
        ]
        from sgtk.experiments.compare import prepare

        runners = [
            prepare(s, out_dir / s.task if task == "all" else out_dir, resume) for s in sweeps
        ]
        outcomes = [_run_one(runner) for runner in runners]
        if task == "all":
            command = "sgtk " + " ".join(shlex.quote(a) for a in sys.argv[1:])
            out.print(f"report: {write_report(out_dir, outcomes, command)}")

    guarded(go)


def _run_one(runner):
    from sgtk.experiments.compare import run_sweep
    from sgtk.experiments.report import finish

    sweep, where = runner.sweep, runner.out_dir
    total = len(sweep.runs())
    with Progress(
        TextColumn(f"[bold]compare {sweep.task}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} runs"),
        TextColumn("{task.fields[last]}"),
        TimeElapsedColumn(),
        console=err,
    ) as progress:
        bar = progress.add_task(sweep.task, total=total, last="")

        def on_run(i, n, row, skipped):
            from sgtk.experiments.stats import HEADLINE

            value = row.get(HEADLINE[sweep.task][0])
            shown = f"{value:.3f}" if value is not None else "–"
            done = " (finished before)" if skipped else ""
            progress.update(bar, completed=i, last=f"{row['name']}: {shown}{done}")

        try:
            rows, curves = run_sweep(runner, on_run=on_run)
        except BaseException:  # a stop or an error is one line: the bar leaves no other
            progress.live.transient = True
            raise
    outcome = finish(sweep.task, rows, curves, where)
    _render(outcome)
    return outcome


def _render(outcome) -> None:
    for title, header, cells in outcome.tables:
        table = Table(title=title, title_justify="left")
        for i, h in enumerate(header):
            table.add_column(h, justify="left" if i == 0 else "right")
        for row in cells:
            table.add_row(*row)
        out.print(table)
    out.print(f"results: {outcome.out_dir / 'results.json'}, {outcome.out_dir / 'results.csv'}")
    out.print("plots: " + ", ".join(str(p) for p in outcome.pngs))
    for note in outcome.notes:
        out.print(note)


@app.command("merge")
def merge(
    dirs: list[Path] = typer.Argument(..., help="compare --out folders (shards) to merge."),
    out_dir: Path = typer.Option(..., "--out", help="Where the merged results go."),
) -> None:
    """Rebuild tables, results.json/csv and plots from several sweeps' run folders.

    Example: sgtk compare merge runs/shard0 runs/shard1 --out runs/compare
    """
    from sgtk.experiments.report import merge as merge_dirs

    def go():
        for outcome in merge_dirs(dirs, out_dir):
            _render(outcome)

    guarded(go)
