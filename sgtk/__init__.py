"""sgtk: sequences as path graphs, next to native graphs.

Every dataset yields a ``torch_geometric.data.Batch``; recurrent cells read its nodes in
position order, graph layers propagate over its edges, and one Trainer runs them all.
"""

from sgtk.errors import SgtkError

__version__ = "0.1.0"
__all__ = ["SgtkError", "__version__"]
