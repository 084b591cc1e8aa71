"""`sgtk predict molecules`: a trained run (or its export) on new SMILES or a CSV."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from sgtk_cli.common import err, guarded, out

app = typer.Typer(help="Predict with a trained model.", no_args_is_help=True)


@app.command()
def molecules(
    checkpoint: Path = typer.Option(
        ..., "--checkpoint", help="A `sgtk train molecules` run folder, or an `sgtk export` one."
    ),
    smiles: list[str] = typer.Option(
        None, "--smiles", help="SMILES to predict; more may follow: --smiles CCO c1ccccc1O."
    ),
    more: list[str] = typer.Argument(
        None,
        metavar="SMILES",
        help="More SMILES (after --smiles, or alone).",
        show_default=False,
    ),
    data: Path = typer.Option(None, "--data", help="A CSV (or .csv.gz) of SMILES to predict."),
    smiles_col: str = typer.Option("smiles", "--smiles-col", help="SMILES column of --data."),
    delimiter: str = typer.Option(None, "--delimiter", help="CSV delimiter of --data: , ; or tab."),
    out_file: Path = typer.Option(None, "--out", help="Write the --data predictions here."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
) -> None:
    """Predict a molecular property in the target's units."""
    from sgtk.errors import SgtkError
    from sgtk.inference.export import check_out, model_folder
    from sgtk.inference.predict import MoleculePredictor, predict_csv, require_some
    from sgtk.train.trainer import resolve_device

    def go():
        given = [*(smiles or []), *(more or [])]
        if bool(given) == bool(data):
            raise SgtkError("pass either --smiles S [S ...] or --data FILE.csv --out PREDS.csv")
        if given and (out_file is not None or delimiter is not None):  # nothing would use them
            flag = "--out" if out_file is not None else "--delimiter"
            raise SgtkError(f"{flag} is for --data FILE.csv; --smiles predictions are printed")
        if data is not None and out_file is None:
            raise SgtkError("--data needs --out PREDS.csv: where to write the predictions")
        if data is not None:  # before the model is read: a refusal is the only line
            check_out(out_file, [data], [model_folder(checkpoint)])
        predictor = MoleculePredictor(checkpoint, resolve_device(device))
        model_line = f"[dim]model: {predictor.source}[/]"  # after a refusal, never before it
        if data is not None:
            rows, failed = predict_csv(predictor, data, smiles_col, out_file, delimiter)
            err.print(model_line)
            out.print(f"wrote {out_file}: {rows} rows, {failed} without a prediction")
            return
        preds = predictor.predict(given)
        failed = require_some(preds, "SMILES")
        err.print(model_line)
        table = Table(title=f"predicted {predictor.target}", title_justify="left")
        table.add_column("SMILES")
        table.add_column(predictor.target, justify="right")
        problems = any(p.problem for p in preds)
        if problems:
            table.add_column("problem", style="red")
        for p in preds:
            value = "" if p.value is None else f"{p.value:.4f}"
            table.add_row(p.smiles, value, *([p.problem] if problems else []))
        out.print(table)
        if failed:
            err.print(f"{failed} of {len(preds)} SMILES could not be predicted (see problem)")

    guarded(go, FLAGS)


# The library's field names as this command's flags (errors print the flag).
FLAGS = {"checkpoint": "--checkpoint", "data": "--data", "smiles_col": "--smiles-col",
         "delimiter": "--delimiter", "out": "--out", "device": "--device"}  # fmt: skip
