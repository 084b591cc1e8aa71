"""Entry point: `sgtk train|generate|compare|plot|bench`."""

from __future__ import annotations

import typer

from cli import compare, generate, plot, train

app = typer.Typer(
    help="sgtk: sequences as path graphs. Train RNNs, LSTMs and GCNs under one Trainer.",
    no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
app.add_typer(train.app, name="train")
app.command("generate")(generate.generate)
app.add_typer(compare.app, name="compare")
app.add_typer(plot.app, name="plot")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
