"""Character language models over causal path graphs: the seed's 2-layer LSTM and a GCN."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch
from torch_geometric.nn import GCNConv

from sgtk.nn import GCNLayer
from sgtk.views import from_sequence, to_sequence

State = tuple[Tensor, Tensor]


class CharLSTM(nn.Module):
    """Embedding (or one-hot) -> stacked ``nn.LSTM`` -> dropout -> linear head over the vocab."""

    def __init__(self, vocab_size: int, hidden: int = 384, layers: int = 2, embed: int = 64,
                 dropout: float = 0.0):
        super().__init__()
        self.vocab_size = vocab_size
        self.embed = nn.Embedding(vocab_size, embed) if embed > 0 else None
        self.lstm = nn.LSTM(embed if embed > 0 else vocab_size, hidden, layers,
                            batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, vocab_size)

    def forward_tokens(self, tokens: Tensor, state: State | None = None
                       ) -> tuple[Tensor, State]:
        """``tokens`` [B, T] -> (logits [B, T, V], carried (h, c))."""
        if self.embed is not None:
            x = self.embed(tokens)
        else:
            x = nn.functional.one_hot(tokens, self.vocab_size).float()
        out, state = self.lstm(x, state)
        return self.head(self.drop(out)), state

    def forward(self, batch: Batch) -> Tensor:
        """Per-node next-token logits [N, V] for a batch of causal path graphs."""
        tokens, _ = to_sequence(batch)
        return from_sequence(batch, self.forward_tokens(tokens)[0])


class CharGCN(nn.Module):
    """k graph convolutions over the causal path graph: node t sees tokens t-k..t only."""

    def __init__(self, vocab_size: int, hidden: int = 256, layers: int = 4, embed: int = 64,
                 conv: str = "gcn"):
        super().__init__()
        make = GCNLayer if conv == "gcn" else GCNConv
        self.embed = nn.Embedding(vocab_size, embed)
        self.inp = nn.Linear(embed, hidden)
        self.convs = nn.ModuleList(make(hidden, hidden) for _ in range(layers))
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, batch: Batch) -> Tensor:
        """Per-node next-token logits [N, V]."""
        h = self.inp(self.embed(batch.x))
        for conv in self.convs:
            h = h + torch.relu(conv(h, batch.edge_index))
        return self.head(h)
