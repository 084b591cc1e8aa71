"""Rows of ``sgtk bench`` for the model zoo: sequence-graph builders and the attention model.

Kept apart from :mod:`sgtk.bench` (which calls these lazily) so that each file stays short.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sgtk.bench import Row, Sizes, make_row, time_pair

GRAPH_ROWS = ("window:4", "dilated", "complete")


def graph_build_row(spec: str, s: Sizes, device: torch.device) -> Row:
    """A causal ``spec`` graph Batch, built from cold caches, vs ``Batch.from_data_list``
    given each sequence's edges for free.

    Why the reference is the fastest a careful user would write: ``Batch.from_data_list`` is
    PyG's documented way to batch graphs (what its ``DataLoader`` calls), and it is handed
    one prebuilt ``edge_index`` shared by every sequence, so it does no graph building."""
    from torch_geometric.data import Batch, Data

    from sgtk import graphs, views

    steps = s.lm_seq  # a text window: where complete graphs are used
    x = F.one_hot(torch.randint(0, 10, (s.batch, steps)), 10).float().to(device)
    one = graphs.uniform_edges(spec, 1, steps, True, device)

    def ours():
        # Cold: every cache cleared, so this is the cost of the first step of a new shape.
        for cached in (graphs._template, graphs._uniform_edges, views._uniform_structure):
            cached.cache_clear()
        batch = views.path_graph_batch(x, directed=True)
        batch.edge_index = graphs.uniform_edges(spec, s.batch, steps, True, device)
        return batch

    def ref():
        return Batch.from_data_list([Data(x=x[i], edge_index=one) for i in range(s.batch)])

    built, want = ours(), ref()
    assert torch.equal(built.edge_index, want.edge_index)
    a, b = time_pair(ours, ref, device, s.repeats * 5)
    name = f"{spec} graph Batch {s.batch}x T={steps}, cold caches"
    return make_row(name, a * 1e3, b * 1e3, "ms", "Batch.from_data_list", 1 / 20)


class _TorchGPT(nn.Module):
    """The reference: the same blocks as ``transformer`` on the complete causal graph, as a
    dense masked ``nn.TransformerEncoder`` (pre-norm, GELU, 4x FFN, no dropout)."""

    def __init__(self, vocab: int, hidden: int, layers: int, heads: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.inp = nn.Linear(hidden, hidden)
        block = nn.TransformerEncoderLayer(
            hidden, heads, 4 * hidden, 0.0, "gelu", batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(hidden)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        from sgtk.nn import positional_encoding

        t = tokens.shape[1]
        pe = positional_encoding(torch.arange(t, device=tokens.device), self.inp.out_features)
        h = self.inp(self.embed(tokens)) + pe
        mask = nn.Transformer.generate_square_subsequent_mask(t, device=tokens.device)
        return self.head(self.norm(self.blocks(h, mask=mask, is_causal=True)))


def transformer_step_row(s: Sizes, device: torch.device) -> Row:
    """One training step of ``transformer`` (message passing over the complete causal graph)
    vs ``nn.TransformerEncoder`` of the same size on the same windows.

    Why the reference is the fastest a careful user would write: torch's encoder runs
    attention as dense ``scaled_dot_product_attention`` (``nn.MultiheadAttention`` without
    attention weights) under the causal mask, the fused kernel torch picks for the device,
    and ``batch_first`` avoids transposes."""
    from sgtk.data.text import text_batch
    from sgtk.models.attention import num_heads
    from sgtk.models.charlm import CharNet

    vocab, hidden, layers = 65, s.lm_hidden, 2
    ours = CharNet(vocab, "transformer", hidden, layers, embed=hidden, graph="complete")
    ref = _TorchGPT(vocab, hidden, layers, num_heads(hidden))
    sizes = [sum(p.numel() for p in m.parameters()) for m in (ours, ref)]
    assert sizes[0] == sizes[1], sizes
    ours, ref = ours.to(device), ref.to(device)
    tokens = torch.randint(0, vocab, (s.lm_batch, s.lm_seq), device=device)
    target = torch.randint(0, vocab, (s.lm_batch, s.lm_seq), device=device)
    batch = text_batch(tokens, target, device)

    def step(model, run):
        opt = torch.optim.Adam(model.parameters(), 1e-3)

        def go():
            loss = F.cross_entropy(run(), target.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()

        return go

    a, b = time_pair(
        step(ours, lambda: ours(batch)),
        step(ref, lambda: ref(tokens).reshape(-1, vocab)),
        device,
        s.repeats,
    )
    name = (
        f"transformer train step B={s.lm_batch} T={s.lm_seq} H={hidden} L={layers}, "
        f"{sizes[0]:,} params (no target; past 5x flags a regression)"
    )
    return make_row(name, a * 1e3, b * 1e3, "ms", "nn.TransformerEncoder, same size", 5.0)


def zoo_rows(s: Sizes, device: torch.device) -> list[Row]:
    """Every row of this module, for ``sgtk.bench.run_bench``."""
    return [*(graph_build_row(g, s, device) for g in GRAPH_ROWS), transformer_step_row(s, device)]
