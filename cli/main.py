"""Entry point: `sgtk train|generate|compare|plot|bench`."""

from __future__ import annotations

import sys

import typer

from sgtk_cli import bench, compare, export, generate, plot, predict, train
from sgtk_cli.common import err

app = typer.Typer(
    help="sgtk: sequences as path graphs. Train RNNs, LSTMs and GCNs under one Trainer.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(train.app, name="train")
app.command("generate")(generate.generate)
app.add_typer(compare.app, name="compare")
app.add_typer(plot.app, name="plot")
app.command("bench")(bench.bench)
app.add_typer(predict.app, name="predict")
app.command("export")(export.export)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; a usage mistake (unknown command, bad flag) is one line and exit 2."""
    try:
        code = app(args=argv, prog_name="sgtk", standalone_mode=False)
    except Exception as e:
        # Click's usage errors, raised from Typer's bundled copy of Click.
        if not (hasattr(e, "format_message") and hasattr(e, "exit_code")):
            raise
        ctx = getattr(e, "ctx", None)
        if type(e).__name__ == "NoArgsIsHelpError" and ctx is not None:
            typer.echo(ctx.get_help())
            sys.exit(0)
        where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        err.print(f"[bold red]error:[/] {e.format_message()}{where}", soft_wrap=True)
        sys.exit(e.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
