"""`sgtk bench`: each hot path beside its reference, with targets."""

from __future__ import annotations

import typer
from rich.table import Table

from sgtk_cli.common import err, guarded, out, print_json


def bench(
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    quick: bool = typer.Option(False, "--quick", help="Smaller sizes (under a minute on CPU)."),
    as_json: bool = typer.Option(False, "--json", help="Print the table as one JSON object."),
) -> None:
    """Time every hot path against its reference in the same process."""
    import torch

    from sgtk.bench import rows_as_dicts, run_bench
    from sgtk.train.trainer import resolve_device

    def go():
        dev = resolve_device(device)
        name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
        with err.status(f"benchmarking on {name}…"):
            rows = run_bench(
                dev, quick, on_row=lambda r: err.print(f"[dim]{r.name}: {r.ratio:.3f}x[/]")
            )
        if as_json:
            print_json(
                {"device": name, "threads": torch.get_num_threads(), "rows": rows_as_dicts(rows)}
            )
            return
        table = Table(
            title=f"sgtk bench on {name} ({torch.get_num_threads()} threads)", title_justify="left"
        )
        for col in ("name", "ours", "reference", "ratio", "target", ""):
            table.add_column(col, justify="left" if col == "name" else "right")
        for r in rows:
            table.add_row(
                r.name,
                f"{r.ours:.4g} {r.unit}",
                f"{r.reference:.4g} {r.unit}",
                f"{r.ratio:.3f}x",
                r.target,
                "[green]✓[/]" if r.ok else "[red]✗[/]",
            )
        out.print(table)

    guarded(go)
