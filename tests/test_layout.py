import ast
import subprocess
import sys
from pathlib import Path

import pytest

from sgtk.tasks.registry import TASK_NAMES, get_task

ROOT = Path(__file__).resolve().parents[1]


def test_library_never_imports_the_cli():
    code = (
        "import sys, sgtk, sgtk.graphs.views, sgtk.nn, sgtk.models, sgtk.inference.generate, "
        "sgtk.bench.suite, "
        "sgtk.tasks.palindrome, sgtk.tasks.text, sgtk.tasks.molecules, "
        "sgtk.experiments.compare, sgtk.experiments.plots, sgtk.train.trainer; "
        "print(any(m.split('.')[0] in ('cli', 'sgtk_cli') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.parametrize("task", TASK_NAMES)
def test_every_config_key_is_known(task):
    """Each registered task's shipped defaults name only fields of its config classes."""
    import dataclasses

    from sgtk.train.config import default_config
    from sgtk.train.train_config import TrainConfig

    data = default_config(task)
    for section, klass in (("task", get_task(task).config_class()), ("train", TrainConfig)):
        names = {f.name for f in dataclasses.fields(klass)}
        assert set(data[section]) <= names
        klass(**data[section])


# ---- the import graph, read from the source --------------------------------------------------
# Bottom to top; a module may import its own layer and the layers below it, never above.
LAYERS = (
    ("sgtk.errors", "sgtk.choices", "sgtk.progress", "sgtk.io"),
    ("sgtk.graphs",),
    ("sgtk.nn", "sgtk.data"),
    ("sgtk.models",),
    ("sgtk.train",),
    ("sgtk.tasks",),
    ("sgtk.inference",),
    ("sgtk.experiments",),
    ("sgtk.bench",),
    ("sgtk", "sgtk.__main__", "sgtk_cli"),  # the package's front door and the CLI on top
)


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[0] == "cli":
        parts[0] = "sgtk_cli"
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, modules: set[str], package: str) -> set[str]:
    """Every sgtk module ``tree`` imports, at the top or inside a function (a lazy import is
    still a dependency), except under ``if TYPE_CHECKING``."""
    found: set[str] = set()
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node)
            for n in ast.walk(node)}  # fmt: skip
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                     for a in node.names]  # fmt: skip
        else:
            continue
        for name in names:
            while name and name not in modules:  # `import sgtk.a.b` -> the deepest known module
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    files = [*ROOT.joinpath("sgtk").rglob("*.py"), *ROOT.joinpath("cli").rglob("*.py")]
    modules = {_module_name(p): p for p in files}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = _imports(ast.parse(path.read_text()), set(modules), package) - {name}
    return graph


def layer_of(module: str) -> int:
    best = (-1, -1)  # (length of the matching prefix, layer)
    for layer, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best[0]:
                best = (len(prefix), layer)
    assert best[1] >= 0, f"{module} is in no layer: add its package to LAYERS"
    return best[1]


def test_every_module_has_a_layer():
    for module in import_graph():
        layer_of(module)


def test_no_module_imports_a_higher_layer():
    wrong = sorted(
        f"{a} (layer {layer_of(a)}) imports {b} (layer {layer_of(b)})"
        for a, targets in import_graph().items()
        for b in targets
        if layer_of(b) > layer_of(a)
    )
    assert not wrong, "\n".join(wrong)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle():
    # A package's __init__ re-exporting its own modules is not a cycle between modules.
    graph = {a: {b for b in bs if not a.startswith(b + ".")} for a, bs in import_graph().items()}
    assert not _cycles(graph), _cycles(graph)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
