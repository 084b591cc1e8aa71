"""The registries are the only places a model or task name is tested (issue 29).

Parses every module of ``sgtk/`` and ``cli/`` and fails on a model or task name string used
as a branch: compared (``==``, ``!=``, ``in``, ``not in``), a ``case`` pattern, a key of a dict
literal (a branch table), or a tuple/list/set literal of two or more names (a hand-kept copy
of part of a registry). The two registries may do all of this; a task's own module may name
its own task.
"""

from __future__ import annotations

import ast
from pathlib import Path

from sgtk.models.registry import REGISTRY
from sgtk.tasks.registry import TASK_REGISTRY

ROOT = Path(__file__).resolve().parents[2]
MODELS = set(REGISTRY)
TASKS = set(TASK_REGISTRY)
REGISTRIES = {"sgtk/models/registry.py", "sgtk/tasks/registry.py"}
# Benchmarks keep their own reference labels (a row is named after what it measured).
SKIP_DIRS = ("sgtk/bench/",)
# Files owned by other helpers this session, each with the names it still tests; this list
# only shrinks (the test fails when a file here is clean, so the entry is dropped).
KNOWN: dict[str, int] = {}


def _own_task(rel: str) -> set[str]:
    """The task a module belongs to: its own name is no branch there."""

    def path(target: str) -> str:
        return target.split(":")[0].replace(".", "/") + ".py"

    return {
        name
        for name, spec in TASK_REGISTRY.items()
        if rel in (path(spec.task), path(spec.config))  # the task's module, its config's
    }


def _names(node: ast.AST | None, allowed: set[str]) -> list[str]:
    """The model or task names ``node`` spells: a string constant or a literal of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value] if node.value in (MODELS | TASKS) - allowed else []
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [n for elt in node.elts for n in _names(elt, allowed)]
    return []


def violations(source: str, allowed: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """``line: what`` for each name used as a branch in ``source``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        hits: list[str] = []
        if isinstance(node, ast.Compare):
            ops = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)
            if any(isinstance(op, ops) for op in node.ops):
                for side in (node.left, *node.comparators):
                    hits += _names(side, allowed)
        elif isinstance(node, ast.MatchValue):
            hits += _names(node.value, allowed)
        elif isinstance(node, ast.Dict):
            for key in node.keys:
                hits += _names(key, allowed)
        elif isinstance(node, ast.Tuple | ast.List | ast.Set):
            names = _names(node, allowed)
            if len(names) >= 2 and len(names) == len(node.elts):
                hits += names
        if hits:
            found.append(f"{getattr(node, 'lineno', '?')}: {type(node).__name__} {hits}")
    return found


def scan() -> dict[str, list[str]]:
    out = {}
    for folder in ("sgtk", "cli"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in REGISTRIES or rel.startswith(SKIP_DIRS):
                continue
            found = violations(path.read_text(encoding="utf-8"), _own_task(rel))
            if found:
                out[rel] = found
    return out


def test_no_model_or_task_name_is_tested_outside_its_registry():
    found = scan()
    new = {f: v for f, v in found.items() if f not in KNOWN or len(v) > KNOWN[f]}
    assert not new, "names tested outside the registries:\n" + "\n".join(
        f"{f}:{line}" for f, lines in new.items() for line in lines
    )
    cleaned = sorted(set(KNOWN) - set(found))
    assert not cleaned, f"drop these from KNOWN, they are clean now: {cleaned}"


def test_the_scanner_sees_every_kind_of_branch():
    source = """
if model == "lstm": pass
if cfg["model"] != "gcn": pass
if m in ("rnn", "lstm", "gru"): pass
RECURRENT = ("rnn", "lstm")
init = {"rnn": "orthogonal"}.get(m)
match task:
    case "palindrome": pass
"""
    kinds = [line.split(": ")[1].split()[0] for line in violations(source)]
    assert kinds.count("Compare") >= 3 and "Dict" in kinds and "MatchValue" in kinds
    assert "Tuple" in kinds
    clean = """
spec = get(model)
x = Predictor("gcn", 4, 2)
if spec.carries_state: pass
label = "lstm"
"""
    assert violations(clean) == []
    assert violations('if task == "palindrome": pass', {"palindrome"}) == []
