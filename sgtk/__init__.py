"""sgtk: sequences as path graphs, next to native graphs.

Every dataset yields a ``torch_geometric.data.Batch``; recurrent cells read its nodes in
position order, graph layers propagate over its edges, and one Trainer runs them all.

The main classes are importable from here (``sgtk.load``, ``sgtk.Trainer``, ``sgtk.TextTask``,
...). They load on first use, so ``import sgtk`` (and ``sgtk --help``) imports no torch.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from sgtk.errors import SgtkError

try:  # one source of the version: the package metadata (pyproject.toml)
    __version__ = version("sgtk")
except PackageNotFoundError:  # a bare checkout on sys.path, never installed
    __version__ = "0+unknown"

# name -> the module that defines it, imported on first access (PEP 562).
_LAZY = {
    "load": "sgtk.inference.load",
    "Loaded": "sgtk.inference.loaded",
    "Trainer": "sgtk.train.trainer",
    "TrainConfig": "sgtk.train.train_config",
    "Task": "sgtk.train.task",
    "PalindromeConfig": "sgtk.tasks.palindrome_config",
    "PalindromeTask": "sgtk.tasks.palindrome",
    "TextConfig": "sgtk.tasks.text_config",
    "TextTask": "sgtk.tasks.text",
    "MoleculeConfig": "sgtk.tasks.molecule_config",
    "MoleculeTask": "sgtk.tasks.molecules",
    "export_run": "sgtk.inference.export",
}

if TYPE_CHECKING:
    from sgtk.inference.export import export_run
    from sgtk.inference.load import load
    from sgtk.inference.loaded import Loaded
    from sgtk.tasks.molecule_config import MoleculeConfig
    from sgtk.tasks.molecules import MoleculeTask
    from sgtk.tasks.palindrome import PalindromeTask
    from sgtk.tasks.palindrome_config import PalindromeConfig
    from sgtk.tasks.text import TextTask
    from sgtk.tasks.text_config import TextConfig
    from sgtk.train.task import Task
    from sgtk.train.train_config import TrainConfig
    from sgtk.train.trainer import Trainer

__all__ = [
    "Loaded",
    "MoleculeConfig",
    "MoleculeTask",
    "PalindromeConfig",
    "PalindromeTask",
    "SgtkError",
    "Task",
    "TextConfig",
    "TextTask",
    "TrainConfig",
    "Trainer",
    "__version__",
    "export_run",
    "load",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sgtk' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later accesses skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
