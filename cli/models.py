"""`sgtk models`: the model registry as a table (name, family, implementation, tasks)."""

from __future__ import annotations

import typer
from rich.table import Table

from sgtk_cli.common import guarded, out, print_json
from sgtk_cli.tables import show_table


def models(
    task: str = typer.Option(None, "--task", help="Only the models of this task."),
    as_json: bool = typer.Option(False, "--json", help="Print the table as one JSON object."),
) -> None:
    """List every model sgtk can train, from the one registry."""
    from sgtk.tasks.registry import HEADER, model_rows, models_for

    def go():
        names = set(models_for(task)) if task else None
        shown = [r for r in model_rows() if names is None or r[0] in names]
        if as_json:
            print_json({"models": [dict(zip(HEADER, r, strict=True)) for r in shown]})
            return
        table = Table(title=f"sgtk models{f' · {task}' if task else ''}")
        for h in HEADER:
            table.add_column(h)
        for r in shown:
            table.add_row(*r)
        show_table(table, out)

    guarded(go, {"task": "--task"})
