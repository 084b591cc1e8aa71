"""Every ``--help`` shows flags as flags and repeatable options by what one value is
(issue 30): ``--resume <bool>`` reads as if it took a value, ``--set <list[str]>`` as if it
took a Python list."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner


def _tree() -> click.Command:
    from sgtk_cli.main import command  # the annotated tree `sgtk` runs

    return command()


def _command_paths() -> list[tuple[str, ...]]:
    def walk(command: click.Command, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        subs = getattr(command, "commands", {})
        return [path] + [p for name, sub in subs.items() for p in walk(sub, (*path, name))]

    return walk(_tree(), ())


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "sgtk")
def test_help_shows_no_python_types(path: tuple[str, ...]) -> None:
    r = CliRunner().invoke(_tree(), [*path, "--help"], terminal_width=200)
    assert r.exit_code == 0, r.output
    for python_type in ("<bool>", "<list[", "<tuple["):
        assert python_type not in r.output, f"{' '.join(path)} --help shows {python_type}"
