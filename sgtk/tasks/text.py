"""Character language modelling (Karpathy's char-rnn) with the same Trainer as every other task.

The protocol (README, "Text splits"): the model is chosen on ``val_loss`` (val, 90-95 % of the
text), and ``report`` gives ``test_loss`` (95-100 %) and ``heldout_loss`` (the whole last
10 %, nanoGPT's "val") once, for the chosen model. Every model is scored on the same
non-overlapping ``seq_length`` windows, each read from a cold state, so an LSTM and a GCN see
the same context; ``carry_state`` lets a recurrent model carry its state across consecutive
windows instead (recorded in config.toml).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Batch

from sgtk.data.memory import check_memory, sequence_batch_bytes
from sgtk.data.text import (
    STREAMS,
    TextData,
    TrainStreams,
    Vocab,
    corpus_path,
    read_text,
    text_batch,
)
from sgtk.errors import SgtkError
from sgtk.graphs.views import from_sequence, to_sequence
from sgtk.models.charlm import CharLSTM, CharNet, State
from sgtk.models.registry import get, uses_layers
from sgtk.tasks.registry import check_graph
from sgtk.tasks.sweep_hooks import SweepHooks
from sgtk.tasks.text_config import TextConfig
from sgtk.tasks.text_samples import SampleWriter
from sgtk.train import distributed as dist
from sgtk.train.callbacks import Callback
from sgtk.train.run_dir import text_fingerprint
from sgtk.train.task import Task
from sgtk.train.train_config import TrainConfig

EVAL_WINDOWS = 256  # windows per evaluation batch


def build_char_model(vocab_size: int, cfg: dict[str, Any]) -> nn.Module:
    if get(cfg["model"]).carries_state:
        return CharLSTM(vocab_size, cfg["hidden"], cfg["layers"], cfg["embed"], cfg["dropout"])
    return CharNet(
        vocab_size,
        cfg["model"],
        cfg["hidden"],
        cfg["layers"],
        max(cfg["embed"], 1),
        cfg.get("graph", "path"),
        cfg["dropout"],
    )


class TextTask(SweepHooks, Task):
    """Next-character prediction on random train windows; losses in nats per character."""

    name = "text"
    metric = "val_loss"
    mode = "min"

    def __init__(self, config: TextConfig, text: str | None = None):
        config.validate()
        self.config = config
        source = Path(config.data).name if config.data else config.corpus
        if text is None:
            path = Path(config.data) if config.data else corpus_path(config.corpus, config.root)
            text = read_text(path)
        # Of the text as read, not the file: a pipe cannot be read twice.
        self.data_fingerprint = text_fingerprint(source, text)
        self.data = TextData(text, config.seq_length)
        self.vocab: Vocab = self.data.vocab
        self.counts = self.data.char_counts()
        self.vocab = Vocab(self.vocab.chars, self.counts)
        self.samples: SampleWriter | None = None
        # Truncated BPTT (carry_train_state): the read heads and the state carried between steps.
        self.streams: TrainStreams | None = None
        self.train_state: State | None = None
        self.reset: Tensor | None = None
        self.saved_streams: dict[str, Any] = {}

    def fingerprint(self) -> dict[str, Any]:
        return self.data_fingerprint

    # ---- a compare sweep's questions (SweepHooks) -------------------------------------
    @classmethod
    def sweep_values(cls, sweep: Any, run: Any, hidden: int) -> dict[str, Any]:
        depth = {"layers": max(run.layers, 1)} if uses_layers(run.model) else {}
        return dict(
            model=run.model,
            hidden=hidden,
            sample_length=0,
            carry_state=sweep.carry_state and get(run.model).carries_state,
            graph=run.graph,
            **depth,
        )

    @classmethod
    def for_sweep(cls, config: TextConfig, shared: str) -> TextTask:
        return cls(config, text=shared)

    @classmethod
    def load_shared(cls, sweep: Any) -> str:
        """The text every run reads: the sweep's file, else the default corpus."""
        return read_text(sweep.text_data or corpus_path("tinyshakespeare"))

    def split_sizes(self) -> dict[str, int]:
        return {f"n_{s}": len(getattr(self.data, s)) for s in ("train", "val", "test")}

    @staticmethod
    def derived_metrics(row: dict[str, Any]) -> dict[str, Any]:
        """Bits per character from nats, where a row of an older version has only the loss."""
        if row.get("test_bpc") is None and row.get("test_loss") is not None:
            return {"test_bpc": round(row["test_loss"] / math.log(2), 4)}
        return {}

    def model_config(self) -> dict[str, Any]:
        c = self.config
        return {
            "model": c.model,
            "hidden": c.hidden,
            "layers": c.layers,
            "embed": c.embed,
            "dropout": c.dropout,
            "graph": check_graph(c.graph, c.model, "text"),
            "vocab": self.vocab.chars,
            "char_counts": self.counts,
        }

    def build_model(self) -> nn.Module:
        return build_char_model(len(self.vocab), self.model_config())

    def check_memory(self, batch_size: int) -> None:
        c = self.config
        graph = self.model_config().get("graph", "path")  # complete: seq_length² edges
        per_node = c.seq_length if graph == "complete" else 2
        if graph.startswith("window:"):
            per_node = 2 * int(graph.split(":")[1])
        edges = batch_size * c.seq_length * per_node
        need = sequence_batch_bytes(batch_size, c.seq_length, c.hidden, c.layers, c.embed)
        need += edges * (20 + (4 * c.hidden if graph != "path" else 0))  # + messages [E, H]
        check_memory(
            need,
            f"a batch of {batch_size} windows of {c.seq_length} characters "
            f"(hidden {c.hidden}, {c.layers} layers, {graph} graph)",
            "lower `batch_size` or `seq_length`",
        )

    # ---- training data ----------------------------------------------------------------
    def train_batch(
        self, batch_size: int, generator: torch.Generator, device: torch.device
    ) -> Batch:
        if self.config.carry_train_state:
            return self._stream_batch(batch_size, generator, device)
        n, t = len(self.data.train) - 1, self.config.seq_length
        starts = torch.randint(0, n - t + 1, (batch_size,), generator=generator)
        inputs, targets = self.data.windows(starts, self.data.train)
        return text_batch(inputs, targets, device)

    def _stream_batch(
        self, batch_size: int, generator: torch.Generator, device: torch.device
    ) -> Batch:
        if dist.world_size() > 1:
            raise SgtkError(
                "carry_train_state trains in one process (each step depends on the last): "
                "train in one process (`devices` 1) or set `carry_train_state` = false"
            )
        if self.streams is None or len(self.streams.starts) != batch_size:
            self.streams, self.train_state = TrainStreams(self.data, batch_size, generator), None
            if len(self.saved_streams.get("starts", ())) == batch_size:  # a resumed run
                self.streams.load_state_dict(self.saved_streams)
                self.train_state = self.saved_streams.get("state")
        inputs, targets, self.reset = self.streams.next()
        return text_batch(inputs, targets, device)

    def _carried_logits(self, model: nn.Module, batch: Batch) -> Tensor:
        """The LSTM read from the state the previous step left, minus streams that wrapped."""
        lstm = getattr(model, "_orig_mod", model)  # torch.compile's wrapper
        if not isinstance(lstm, CharLSTM):
            raise SgtkError(f"carry_train_state needs a CharLSTM, not {type(lstm).__name__}")
        tokens, _ = to_sequence(batch)
        state = self.train_state
        if state is not None and self.reset is not None and bool(self.reset.any()):
            keep = (~self.reset).to(state[0].device, state[0].dtype)[None, :, None]
            state = (state[0] * keep, state[1] * keep)
        logits, (h, c) = lstm.forward_tokens(tokens, state)
        self.train_state = (h.detach(), c.detach())
        return from_sequence(batch, logits)

    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        if self.config.carry_train_state and model.training:
            logits = self._carried_logits(model, batch)
        else:
            logits = model(batch)
        loss = F.cross_entropy(logits.float(), batch.y)
        return loss, {"bpc": loss.item() / math.log(2)}

    # ---- evaluation -------------------------------------------------------------------
    @torch.no_grad()
    def split_loss(
        self, model: nn.Module, device: torch.device, split: str, max_chars: int | None = None
    ) -> tuple[float, int]:
        """(summed nats, characters scored) over ``split``'s evaluation windows."""
        model = getattr(model, "module", model)
        inputs, targets = self.data.eval_windows(split, max_chars)
        if self.config.carry_state:
            if not isinstance(model, CharLSTM):  # carry_state is checked against CARRY_MODELS
                raise SgtkError(f"carry_state needs a CharLSTM, not {type(model).__name__}")
            return self._carried_loss(model, inputs, targets, device), targets.numel()
        total = 0.0
        for i in range(0, len(inputs), EVAL_WINDOWS):
            batch = text_batch(inputs[i : i + EVAL_WINDOWS], targets[i : i + EVAL_WINDOWS], device)
            total += F.cross_entropy(model(batch).float(), batch.y, reduction="sum").item()
        return total, targets.numel()

    def _carried_loss(
        self, model: CharLSTM, inputs: Tensor, targets: Tensor, device: torch.device
    ) -> float:
        """The same windows, laid out as ``STREAMS`` runs of consecutive windows; the state
        after window j is the start state of window j+1 in its stream."""
        streams = STREAMS if len(inputs) >= STREAMS else 1
        per, t = len(inputs) // streams, inputs.shape[1]
        inputs = inputs.view(streams, per, t).to(device)
        targets = targets.view(streams, per, t).to(device)
        state: State | None = None
        total = 0.0
        for j in range(per):
            logits, state = model.forward_tokens(inputs[:, j], state)
            total += F.cross_entropy(
                logits.flatten(0, 1).float(), targets[:, j].reshape(-1), reduction="sum"
            ).item()
        return total

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        total, count = self.split_loss(model, device, "val", self.config.eval_chars)
        loss = dist.mean(total / count)
        return {"val_loss": loss, "val_bpc": loss / math.log(2)}

    def report(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """Test figures of the chosen model. ``heldout`` pools the val and test windows,
        which tile the last 10 % of the text (up to STREAMS - 1 windows at each split end)."""
        val, n_val = self.split_loss(model, device, "val")
        test, n_test = self.split_loss(model, device, "test")
        heldout = (val + test) / (n_val + n_test)
        out = {"test_loss": test / n_test, "heldout_loss": heldout}
        out |= {k.replace("loss", "bpc"): v / math.log(2) for k, v in out.items()}
        return {k: round(v, 4) for k, v in out.items()}

    def state_dict(self) -> dict[str, Any]:
        if self.streams is None:
            return {}
        return {**self.streams.state_dict(), "state": self.train_state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.saved_streams = dict(state)

    def callbacks(self, run_dir: Path | None) -> list[Callback]:
        """samples.md in the run folder: the writer of the samples :meth:`on_eval` draws."""
        path = Path(run_dir) / "samples.md" if run_dir is not None else None
        self.samples = SampleWriter(path, self.config.sample_every)
        return [self.samples]

    def fit_to_budget(
        self, config: TrainConfig, given: frozenset[str] | set[str] = frozenset()
    ) -> tuple[TrainConfig, str]:
        """Under ``max_time``, hidden and batch from a probe (:mod:`sgtk.tasks.text_budget`)."""
        from sgtk.tasks.text_budget import budget_fitted

        return budget_fitted(self.config, config, len(self.vocab), given)

    def on_eval(self, model: nn.Module, device: torch.device, step: int) -> dict[str, Any]:
        """Samples at each evaluation (or every ``sample_every`` steps) into samples.md, as
        as the UvA DL 2019 assignment's Listing 1: blocks headed by step and temperature."""
        model = getattr(model, "module", model)
        c = self.config
        if not isinstance(model, CharLSTM) or c.sample_length <= 0 or c.sample_count <= 0:
            return {}
        if self.samples is None:  # outside a Trainer run: samples drawn, none written
            self.samples = SampleWriter(None, c.sample_every)
        blocks = self.samples.draw(model, self.vocab, step, c, device)
        # One sample in metrics.jsonl too, at tau = 1 where it was drawn.
        texts = next((t for tau, t in blocks if tau == 1.0), blocks[0][1] if blocks else None)
        return {"sample": texts[0]} if texts else {}
