"""The library speaks Python, the CLI speaks flags (issue 29).

Parses every module of ``sgtk/`` and fails on a string literal that spells a command-line
flag (``--lr``) anywhere but a docstring: a message names the config field instead
(`` `lr` `` or ``ConfigError("lr", ...)``) and ``cli.common.as_flags`` shows it as the
command's flag. The few places that must spell a flag are listed with the reason.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sgtk.errors import ConfigError, SgtkError
from sgtk_cli.common import as_flags

ROOT = Path(__file__).resolve().parents[1]
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
# file -> flags it may spell, and why
ALLOWED: dict[str, set[str]] = {
    # a benchmark row is named after the command it timed
    "sgtk/bench/suite.py": {"--help"},
    "sgtk/bench/text.py": {"--max-time"},
}


def _docstrings(tree: ast.AST) -> set[int]:
    kinds = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, kinds)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def _flag_metadata(tree: ast.AST) -> set[int]:
    """``metadata={"flag": "--data-root"}`` or ``{"negative": "--scalar"}``: a field's flags,
    read by the CLI alone."""
    return {
        id(value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Dict)
        for key, value in zip(node.keys, node.values, strict=True)
        if isinstance(key, ast.Constant) and key.value in ("flag", "negative")
    }


def flags_spelled(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    skip = _docstrings(tree) | _flag_metadata(tree)
    return [
        (node.lineno, flag)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
        for flag in FLAG.findall(node.value)
    ]


MODULES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "sgtk").rglob("*.py"))


@pytest.mark.parametrize("rel", MODULES)
def test_library_messages_name_fields_not_flags(rel: str) -> None:
    found = [(n, f) for n, f in flags_spelled(ROOT / rel) if f not in ALLOWED.get(rel, set())]
    assert not found, f"{rel} spells CLI flags (line, flag): {found}"


def test_scan_finds_a_flag_in_a_message(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text('"""Doc: --ok."""\nx = {"flag": "--fine"}\nraise ValueError("try --lr")\n')
    assert flags_spelled(module) == [(3, "--lr")]


def test_the_cli_shows_marked_fields_as_flags() -> None:
    e = SgtkError("runs/x holds a run: set `resume`, or choose another `out`")
    flags = {"resume": "--resume", "out": "--out"}
    assert as_flags(e, flags) == "runs/x holds a run: set --resume, or choose another --out"
    # a marked field without a flag keeps its name (a config key for --set)
    assert as_flags(SgtkError("`min_delta` must be >= 0"), {}) == "min_delta must be >= 0"


def test_the_cli_shows_the_error_field_as_its_flag_once() -> None:
    e = ConfigError("lr", "lr -1.0 must be positive, e.g. 1e-3 (lr scales every step)")
    assert as_flags(e, {"lr": "--lr"}) == (
        "--lr -1.0 must be positive, e.g. 1e-3 (lr scales every step)"
    )


def test_a_train_error_reaches_the_terminal_as_flags(tmp_path: Path) -> None:
    from sgtk_cli.main import app

    r = CliRunner().invoke(app, ["train", "palindrome", "--lr", "-1", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "--lr" in r.output and "`" not in r.output, r.output
