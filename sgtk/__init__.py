"""sgtk: sequences as path graphs, next to native graphs.

Every dataset yields a ``torch_geometric.data.Batch``; recurrent cells read its nodes in
position order, graph layers propagate over its edges, and one Trainer runs them all.
"""

from importlib.metadata import PackageNotFoundError, version

from sgtk.errors import SgtkError

try:  # one source of the version: the package metadata (pyproject.toml)
    __version__ = version("sgtk")
except PackageNotFoundError:  # a bare checkout on sys.path, never installed
    __version__ = "0+unknown"
__all__ = ["SgtkError", "__version__"]
