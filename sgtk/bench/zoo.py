"""``sgtk bench`` rows for the model zoo: sequence-graph builders and the transformer on the
complete causal graph, each against the fastest thing a careful user would write.

Kept apart from :mod:`sgtk.bench.suite` (which calls :func:`zoo_rows` lazily) so that each
file stays short. Every row times ours and its reference alternately in the same process.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sgtk.bench.core import Row, Sizes, make_row, time_pair

GRAPH_ROWS = ("window:4", "dilated", "complete")


def graph_build_row(spec: str, s: Sizes, device: torch.device) -> Row:
    """A causal ``spec`` graph Batch from cold caches (no template, no cached structure) vs
    ``Batch.from_data_list``, PyG's documented batching (what its ``DataLoader`` calls), given
    every sequence's ``edge_index`` for free: the reference builds nothing, it only batches."""
    from torch_geometric.data import Batch, Data

    from sgtk.graphs import builders as graphs

    steps = s.lm_seq  # a text window: where complete graphs are used
    x = F.one_hot(torch.randint(0, 10, (s.batch, steps)), 10).float().to(device)
    one = graphs.uniform_edges(spec, 1, steps, True, device).clone()

    def ours():
        graphs.clear_caches()  # the cost of the first step of a new shape
        built = graphs.sequence_graph_batch(x, spec)
        # Dropped with the result, as the reference's batch is: the cache would otherwise keep
        # a 4 MB edge list (complete graph) alive across the reference's run, which pushes the
        # next one out of the malloc heap into fresh page-faulting memory (measured ~10x).
        graphs.clear_caches()
        return built

    def ref():
        return Batch.from_data_list([Data(x=x[i], edge_index=one) for i in range(s.batch)])

    built, want = ours(), ref()
    for key in ("x", "edge_index", "batch", "ptr"):
        assert torch.equal(built[key], want[key]), key
    del built, want  # nor may these stay alive while timing, for the same reason
    a, b = time_pair(ours, ref, device, s.repeats * 5)
    name = f"{spec} graph Batch {s.batch}x T={steps}, cold caches"
    return make_row(name, a * 1e3, b * 1e3, "ms", "Batch.from_data_list", 1 / 20)


class TorchGPT(nn.Module):
    """The reference: the same blocks as ``transformer`` on the complete causal graph, as
    ``nn.TransformerEncoder`` (pre-norm, GELU, 4x FFN, no dropout, ``batch_first``, no nested
    tensors) given ``is_causal=True``: its attention then runs fused causal SDPA, no mask."""

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


def transformer_step_row(steps: int, s: Sizes, device: torch.device) -> Row:
    """One Adam step of ``transformer`` over the complete causal graph (dense causal SDPA) vs
    :class:`TorchGPT` of the same parameter count, same windows, same precision (fp32).

    Why the reference is the fastest a careful user would write: ``nn.TransformerEncoder``
    is torch's own encoder, and with ``is_causal=True`` its attention is the fused causal
    SDPA kernel (flash or memory-efficient where the device has one), with no mask built."""
    from sgtk.data.text import text_batch
    from sgtk.models.attention import num_heads
    from sgtk.models.charlm import CharNet

    vocab, hidden, layers = 65, s.lm_hidden, 2
    ours = CharNet(vocab, "transformer", hidden, layers, embed=hidden, graph="complete")
    ref = TorchGPT(vocab, hidden, layers, num_heads(hidden))
    sizes = [sum(p.numel() for p in m.parameters()) for m in (ours, ref)]
    assert sizes[0] == sizes[1], sizes
    ours, ref = ours.to(device), ref.to(device)
    tokens = torch.randint(0, vocab, (s.lm_batch, steps), device=device)
    target = torch.randint(0, vocab, (s.lm_batch, steps), device=device)
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
    name = f"transformer train step B={s.lm_batch} T={steps} H={hidden} L={layers}"
    name += f", {sizes[0]:,} params"
    return make_row(name, a * 1e3, b * 1e3, "ms", "nn.TransformerEncoder, is_causal", 1.3)


def zoo_rows(s: Sizes, device: torch.device) -> list[Row]:
    """Every row of this module, for ``sgtk.bench.suite.run_bench`` (the GRU's rows are on the
    size curve, :func:`sgtk.bench.recurrent.recurrent_rows`)."""
    long = 4 * s.lm_seq  # T=256 beside the text window's T=64
    return [
        *(graph_build_row(g, s, device) for g in GRAPH_ROWS),
        *(transformer_step_row(t, s, device) for t in (s.lm_seq, long)),
    ]
