"""Graph-level readouts and positional features for path graphs."""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch_geometric.data import Batch
from torch_geometric.nn import global_add_pool, global_max_pool, global_mean_pool

from sgtk.choices import READOUTS
from sgtk.errors import SgtkError
from sgtk.graphs.views import last_node_index


def readout(h: Tensor, batch: Batch, how: str) -> Tensor:
    """One row per graph. ``last`` takes each graph's last node: the node a next-token target
    depends on. ``mean``/``sum``/``max`` pool every node, which forgets positions."""
    if how == "last":
        return h[last_node_index(batch)]
    pool = {"mean": global_mean_pool, "sum": global_add_pool, "max": global_max_pool}.get(how)
    if pool is None:
        raise SgtkError(f"unknown readout {how!r}: choose one of {', '.join(READOUTS)}")
    return pool(h, batch.batch, size=batch.num_graphs)


def positional_encoding(positions: Tensor, dim: int) -> Tensor:
    """Sinusoidal features [N, dim] of integer node positions (Vaswani et al. 2017)."""
    freqs = torch.exp(
        torch.arange(0, dim, 2, device=positions.device) * (-math.log(10_000.0) / dim)
    )
    angles = positions.float().unsqueeze(-1) * freqs
    return torch.cat([angles.sin(), angles.cos()], dim=-1)[:, :dim]
