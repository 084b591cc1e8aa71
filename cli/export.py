"""`sgtk export RUN --out DIR`: model.safetensors, config.json and a model card (README.md),
loadable without the run or any code (`sgtk.load(DIR)`)."""

from __future__ import annotations

from pathlib import Path

import typer

from sgtk_cli.common import guarded, out


def export(
    run: Path = typer.Argument(..., help="A `sgtk train` run folder (or its best.pt)."),
    out_dir: Path = typer.Option(..., "--out", help="Folder to write the export into."),
) -> None:
    """Export a run's best model for `sgtk predict`, `sgtk generate` and `sgtk.load`."""
    from sgtk.inference.export import export_run

    def go():
        for path in export_run(run, out_dir):
            out.print(f"wrote {path}")

    # the run is RUN here; a library error names it as the checkpoint it is read from
    guarded(go, {"out": "--out", "checkpoint": "RUN"})
