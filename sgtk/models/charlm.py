"""Character language models over causal sequence graphs: a 2-layer LSTM (with a
fast sampling stepper) and every other registry model as :class:`CharNet`, each with a
:class:`Decoder` that feeds it one character at a time for sampling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch

from sgtk.errors import SgtkError
from sgtk.graphs.builders import sequence_edges
from sgtk.graphs.views import from_sequence, path_graph_batch, to_sequence
from sgtk.models import registry

State = tuple[Tensor, Tensor]
# The stepper's (h, c): each [L, B, n] (as forward_tokens returns them) or a list of one
# [B, n] per layer (as the stepper returns them).
StepState = tuple[Tensor | list[Tensor], Tensor | list[Tensor]]


class CharLSTM(nn.Module):
    """Embedding (or one-hot) -> stacked ``nn.LSTM`` -> dropout -> linear head over the vocab."""

    def __init__(
        self,
        vocab_size: int,
        hidden: int = 384,
        layers: int = 2,
        embed: int = 64,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.vocab_size = vocab_size
        self.embed = nn.Embedding(vocab_size, embed) if embed > 0 else None
        self.lstm = nn.LSTM(
            embed if embed > 0 else vocab_size,
            hidden,
            layers,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, vocab_size)

    def forward_tokens(self, tokens: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """``tokens`` [B, T] -> (logits [B, T, V], carried (h, c))."""
        if self.embed is not None:
            x = self.embed(tokens)
        else:
            x = nn.functional.one_hot(tokens, self.vocab_size).float()
        out, state = self.lstm(x, state)
        return self.head(self.drop(out)), state

    def stepper(
        self,
    ) -> Callable[[Tensor, StepState], tuple[Tensor, tuple[list[Tensor], list[Tensor]]]]:
        """A function for one character per stream: ``(tokens [B], (h, c))`` -> (logits
        [B, V], new (h, c)), the same maths as ``forward_tokens`` with T=1, for inference:
        it runs without autograd, over weights prepared (and detached) once.

        Written as plain matmuls: a oneDNN LSTM call costs about 1 ms of setup per layer,
        which would dominate sampling. Per layer and step it makes 8 ATen calls: the gates go
        into a scratch buffer kept per batch size, whose gate slices are made once, so no
        call is spent on slicing; what it returns is always fresh.
        """
        with torch.no_grad():
            layers: list[tuple[Tensor, Tensor, Tensor]] = []
            for k in range(self.lstm.num_layers):
                w_ih = getattr(self.lstm, f"weight_ih_l{k}")
                w_hh = getattr(self.lstm, f"weight_hh_l{k}")
                bias = getattr(self.lstm, f"bias_ih_l{k}") + getattr(self.lstm, f"bias_hh_l{k}")
                # Contiguous transposes: matvecs here are memory-bound and read these row by row.
                layers.append((w_ih.t().contiguous(), w_hh.t().contiguous(), bias))
            # The first layer's input projection depends on the token alone: one table lookup
            # (embedding @ W_ih^T + both biases, [V, 4H]).
            inputs = (
                self.embed.weight
                if self.embed is not None
                else torch.eye(self.vocab_size, device=self.head.weight.device)
            )
            table = torch.addmm(layers[0][2], inputs, layers[0][0])
            head_w, head_b = self.head.weight.detach(), self.head.bias.detach()
        n = self.lstm.hidden_size
        scratch: dict[int, list[tuple[Tensor, ...]]] = {}

        def buffers(batch: int) -> list[tuple[Tensor, ...]]:
            if batch not in scratch:  # gates, sigmoid(gates), its i, f, o slices, g, tanh(g)
                scratch[batch] = []
                for _ in layers:
                    gates, act = table.new_empty(batch, 4 * n), table.new_empty(batch, 4 * n)
                    i, f, o = act[:, :n], act[:, n : 2 * n], act[:, 3 * n :]
                    g, tanh_g = gates[:, 2 * n : 3 * n], table.new_empty(batch, n)
                    scratch[batch].append((gates, act, i, f, o, g, tanh_g))
            return scratch[batch]

        @torch.no_grad()
        def step(
            tokens: Tensor, state: StepState
        ) -> tuple[Tensor, tuple[list[Tensor], list[Tensor]]]:
            hs: list[Tensor] = []
            cs: list[Tensor] = []
            x = tokens  # each layer's output, the next one's input (layer 0 uses the table)
            for k, ((w_ih_t, w_hh_t, bias), bufs) in enumerate(zip(layers, buffers(len(tokens)))):
                gates, act, i, f, o, g, tanh_g = bufs
                if k == 0:
                    torch.index_select(table, 0, tokens, out=gates)
                else:
                    torch.addmm(bias, x, w_ih_t, out=gates)
                gates.addmm_(state[0][k], w_hh_t)
                torch.sigmoid(gates, out=act)  # i, f, o; g is the tanh below
                torch.tanh(g, out=tanh_g)
                c = torch.addcmul(f * state[1][k], i, tanh_g)
                x = o * torch.tanh(c)
                hs.append(x)
                cs.append(c)
            # per-layer lists: stacking each step costs time
            return torch.addmm(head_b, x, head_w.t()), (hs, cs)

        return step

    def forward(self, batch: Batch) -> Tensor:
        """Per-node next-token logits [N, V] for a batch of causal path graphs."""
        tokens, _ = to_sequence(batch)
        return from_sequence(batch, self.forward_tokens(tokens)[0])


class CharNet(nn.Module):
    """Any registry model as a character LM: embedding -> backbone -> per-node head.

    Graph, attention and hybrid backbones propagate over the causal ``graph`` of each window
    (``path``: node t sees tokens t-k..t after k layers; ``complete``: a GPT-style decoder);
    recurrent ones read the window in order.
    """

    def __init__(
        self,
        vocab_size: int,
        model: str = "gcn",
        hidden: int = 256,
        layers: int = 4,
        embed: int = 64,
        graph: str = "path",
        dropout: float = 0.0,
    ):
        super().__init__()
        spec = registry.get(model)
        self.model, self.graph = model, graph
        self.recurrent = spec.family == "recurrent"
        self.embed = nn.Embedding(vocab_size, embed)
        self.stack = spec.build(embed, hidden, layers)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, batch: Batch) -> Tensor:
        """Per-node next-token logits [N, V]."""
        edges = None if self.recurrent else sequence_edges(batch, self.graph, directed=True)
        return self.head(self.drop(self.stack(batch, self.embed(batch.x), edges)))


class Decoder:
    """Feeds a char model one character per stream: :meth:`start` reads the prefixes, then
    each :meth:`step` reads one new token per stream and returns the next logits [B, V];
    :meth:`select` keeps (and repeats) streams by index, as a beam search needs."""

    def start(self, ids: Tensor) -> Tensor:  # ids [B, T] -> logits [B, V] after the last
        raise NotImplementedError

    def step(self, tokens: Tensor) -> Tensor:  # tokens [B] -> logits [B, V]
        raise NotImplementedError

    def select(self, rows: Tensor) -> None:
        raise NotImplementedError


class LSTMDecoder(Decoder):
    """A :class:`CharLSTM`: the carried (h, c), one stepper call per character."""

    def __init__(self, model: CharLSTM):
        self.model, self.stepper = model, model.stepper()

    def start(self, ids: Tensor) -> Tensor:
        logits, (h, c) = self.model.forward_tokens(ids)
        self.state: StepState = (list(h), list(c))  # per layer, as the stepper returns them
        return logits[:, -1]

    def step(self, tokens: Tensor) -> Tensor:
        logits, self.state = self.stepper(tokens, self.state)
        return logits

    def select(self, rows: Tensor) -> None:
        self.state = ([h[rows] for h in self.state[0]], [c[rows] for c in self.state[1]])


def _take(state: Any, rows: Tensor) -> Any:
    return tuple(_take(s, rows) for s in state) if isinstance(state, tuple) else state[rows]


class RecurrentDecoder(Decoder):
    """A :class:`CharNet` over recurrent cells (GRU, RNN, LSTM): each cell's state carried from
    one character to the next, so the context is the whole text so far."""

    def __init__(self, model: CharNet):
        self.model = model
        self.cells = [model.stack.cell, *model.stack.more]

    def _run(self, ids: Tensor, states: list[Any] | None) -> Tensor:
        x = self.model.embed(ids)
        new = []
        for k, cell in enumerate(self.cells):
            x, state = cell(x, None if states is None else states[k])
            new.append(state)
        self.states = new
        return self.model.head(x[:, -1])

    def start(self, ids: Tensor) -> Tensor:
        return self._run(ids, None)

    def step(self, tokens: Tensor) -> Tensor:
        return self._run(tokens[:, None], self.states)

    def select(self, rows: Tensor) -> None:
        self.states = [_take(s, rows) for s in self.states]


class WindowDecoder(Decoder):
    """A graph, attention or hybrid :class:`CharNet`: it was trained on windows of ``context``
    characters, each a causal graph from position 0, so each step reads the last ``context``
    characters as such a window (a sliding window; nothing carries over)."""

    def __init__(self, model: CharNet, context: int):
        self.model, self.context = model, context

    def _logits(self) -> Tensor:
        window = self.tokens
        logits = self.model(path_graph_batch(window, directed=True))
        return logits.view(window.shape[0], window.shape[1], -1)[:, -1]

    def start(self, ids: Tensor) -> Tensor:
        self.tokens = ids[:, -self.context :]
        return self._logits()

    def step(self, tokens: Tensor) -> Tensor:
        self.tokens = torch.cat([self.tokens, tokens[:, None]], dim=1)[:, -self.context :]
        return self._logits()

    def select(self, rows: Tensor) -> None:
        self.tokens = self.tokens[rows]


def decoder_for(model: nn.Module, context: int | None = None) -> Decoder:
    """The decoder of ``model``: carried state for recurrent models, a sliding window of
    ``context`` characters (the run's ``seq_length``) for the others."""
    if isinstance(model, CharLSTM):
        return LSTMDecoder(model)
    if isinstance(model, CharNet) and model.recurrent:
        return RecurrentDecoder(model)
    if isinstance(model, CharNet):
        if context is None or context < 1:
            raise SgtkError(
                f"a {model.model} text model reads windows of a fixed length: pass the "
                "context (the run's seq_length) to sample from it"
            )
        return WindowDecoder(model, context)
    raise SgtkError(f"{type(model).__name__} is not a char model: pass a text run")
