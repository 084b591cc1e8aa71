"""`sgtk bench`: each hot path beside its reference, with targets on the ratio."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from sgtk_cli.common import err, guarded, out, print_json


def bench(
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    quick: bool = typer.Option(
        False, "--quick", help="Smaller sizes and no peak-memory row: under a minute."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the table as one JSON object."),
    plot: bool = typer.Option(False, "--plot", help="Plot the cells' ratio against H."),
    plot_file: Path = typer.Option(Path("bench.png"), "--plot-file", help="Where --plot writes."),
) -> None:
    """Time every hot path against its reference in the same process."""
    import torch

    from sgtk.bench.recurrent import plot_size_curve
    from sgtk.bench.suite import lstm_kernel_info, rows_as_dicts, run_bench
    from sgtk.train.trainer import resolve_device

    def go():
        dev = resolve_device(device)
        name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
        with err.status(f"benchmarking on {name}…"):
            rows = run_bench(
                dev, quick, on_row=lambda r: err.print(f"[dim]{r.name}: {r.ratio:.3f}x[/]")
            )
        kernel = lstm_kernel_info()
        if plot:
            plot_size_curve(rows, plot_file)
            err.print(f"size curve written to {plot_file}")
        if as_json:
            print_json(
                {
                    "device": name,
                    "threads": torch.get_num_threads(),
                    "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                    "lstm_kernel": kernel,
                    "rows": rows_as_dicts(rows),
                }
            )
            return
        table = Table(
            title=f"sgtk bench on {name} ({torch.get_num_threads()} threads, "
            f"LSTM loop: {kernel['loop']})",
            title_justify="left",
        )
        for col in ("name", "ours", "reference", "ratio", "target", ""):
            table.add_column(col, justify="left" if col == "name" else "right")
        for r in rows:
            table.add_row(
                r.name,
                f"{r.ours:.4g} {r.unit}",
                f"{r.reference:.4g} {r.unit} ({r.ref_name})",
                f"{r.ratio:.3f}x",
                r.target,
                "[green]✓[/]" if r.ok else "[red]✗[/]",
            )
        out.print(table)

    guarded(go)
