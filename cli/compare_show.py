"""How `sgtk compare` shows a sweep: a progress bar while its runs train, then its tables,
files and notes."""

from __future__ import annotations

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sgtk_cli.common import err, out


def run_one(runner):
    """Train the runner's runs under a progress bar, then write and show its results."""
    from sgtk.experiments.compare import run_sweep
    from sgtk.experiments.report import finish
    from sgtk.experiments.stats import headline

    sweep, key = runner.sweep, headline(runner.sweep.task)[0]
    columns = (TextColumn(f"[bold]compare {sweep.task}"), BarColumn(),
               TextColumn("{task.completed}/{task.total} runs"),
               TextColumn("{task.fields[last]}"), TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=err) as progress:
        bar = progress.add_task(sweep.task, total=len(sweep.runs()), last="")

        def on_run(i, n, row, skipped):
            value = row.get(key)
            shown = f"{value:.3f}" if value is not None else "–"
            done = " (finished before)" if skipped else ""
            progress.update(bar, completed=i, last=f"{row['name']}: {shown}{done}")

        try:
            rows, curves = run_sweep(runner, on_run=on_run)
        except BaseException:  # a stop or an error is one line: the bar leaves no other
            progress.live.transient = True
            raise
    outcome = finish(sweep.task, rows, curves, runner.out_dir)
    render(outcome)
    return outcome


def render(outcome) -> None:
    """The tables, the files written and the notes of one task's sweep."""
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
