"""Entry point: `sgtk train|generate|compare|plot|bench|models|predict|export`."""

from __future__ import annotations

import sys
from typing import Any

import typer

from sgtk import __version__
from sgtk_cli import bench, compare, export, generate, models, plot, predict, train
from sgtk_cli.common import err
from sgtk_cli.help import annotate

app = typer.Typer(
    help="sgtk: sequences as path graphs. Recurrent cells, graph nets and attention on one "
    "view, under one Trainer.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},  # inherited by every command
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sgtk {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """sgtk: sequences as path graphs, next to native graphs."""


app.add_typer(train.app, name="train")
app.command("generate")(generate.generate)
app.add_typer(compare.app, name="compare")
app.add_typer(plot.app, name="plot")
app.command("bench")(bench.bench)
app.command("models")(models.models)
app.add_typer(predict.app, name="predict")
app.command("export")(export.export)


def command() -> Any:
    """The click command tree, with defaults, choices and examples filled into its help."""
    return annotate(typer.main.get_command(app))


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; a usage mistake (unknown command, bad flag) is one line and exit 2."""
    try:
        code = command().main(args=argv, prog_name="sgtk", standalone_mode=False)
    except Exception as e:
        # Click's usage errors, raised from Typer's bundled copy of Click.
        if not (hasattr(e, "format_message") and hasattr(e, "exit_code")):
            raise
        ctx = getattr(e, "ctx", None)
        if type(e).__name__ == "NoArgsIsHelpError":
            # Typer's rich help prints itself while the error is built; plain click's is the
            # message. Print it only in the second case, so the help shows once.
            if e.format_message().strip():
                typer.echo(e.format_message())
            sys.exit(0)
        where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        err.print(f"[bold red]error:[/] {e.format_message()}{where}", soft_wrap=True)
        sys.exit(e.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
