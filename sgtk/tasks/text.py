"""Character language modelling (seed §2) with the same Trainer as every other task."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Batch

from sgtk.data.text import TextData, Vocab, corpus_path, read_text, text_batch
from sgtk.errors import SgtkError
from sgtk.models.charlm import CharGCN, CharLSTM
from sgtk.models.predictor import check_sizes
from sgtk.train import distributed as dist
from sgtk.train.task import Task

TEXT_MODELS = ("lstm", "gcn", "pyg-gcn")


@dataclass
class TextConfig:
    model: str = "lstm"
    data: str | None = None
    corpus: str = "tinyshakespeare"
    root: str = "data"
    seq_length: int = 64
    hidden: int = 384
    layers: int = 2
    embed: int = 64
    dropout: float = 0.0
    eval_chars: int = 16384
    sample_length: int = 80

    def validate(self) -> None:
        if self.model not in TEXT_MODELS:
            raise SgtkError(
                f"unknown model {self.model!r} for text: choose one of {', '.join(TEXT_MODELS)}"
            )
        check_sizes(self.hidden, self.layers)
        if not 0 <= self.dropout < 1:
            raise SgtkError(f"--dropout {self.dropout} must be in [0, 1)")


def build_char_model(vocab_size: int, cfg: dict[str, Any]) -> nn.Module:
    if cfg["model"] == "lstm":
        return CharLSTM(vocab_size, cfg["hidden"], cfg["layers"], cfg["embed"], cfg["dropout"])
    return CharGCN(
        vocab_size,
        cfg["hidden"],
        cfg["layers"],
        max(cfg["embed"], 1),
        "gcn" if cfg["model"] == "gcn" else "pyg-gcn",
    )


class TextTask(Task):
    """Next-character prediction on random windows; ``val_loss`` is in nats per character.

    (Carrying the LSTM state across consecutive windows, truncated BPTT, was tried: on
    tinyshakespeare in 75 s it reached 1.72 against 1.58 for random windows.)
    """

    name = "text"
    metric = "val_loss"
    mode = "min"

    def __init__(self, config: TextConfig, text: str | None = None):
        config.validate()
        self.config = config
        if text is None:
            path = Path(config.data) if config.data else corpus_path(config.corpus, config.root)
            text = read_text(path)
        self.data = TextData(text, config.seq_length)
        self.vocab: Vocab = self.data.vocab

    def model_config(self) -> dict[str, Any]:
        c = self.config
        return {
            "model": c.model,
            "hidden": c.hidden,
            "layers": c.layers,
            "embed": c.embed,
            "dropout": c.dropout,
            "vocab": self.vocab.chars,
        }

    def build_model(self) -> nn.Module:
        return build_char_model(len(self.vocab), self.model_config())

    # ---- training data ----------------------------------------------------------------
    def train_batch(
        self, batch_size: int, generator: torch.Generator, device: torch.device
    ) -> Batch:
        n, t = len(self.data.train) - 1, self.config.seq_length
        starts = torch.randint(0, n - t + 1, (batch_size,), generator=generator)
        inputs, targets = self.data.windows(starts, self.data.train)
        return text_batch(inputs, targets, device)

    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        logits = model(batch)
        loss = F.cross_entropy(logits.float(), batch.y)
        return loss, {"bpc": loss.item() / math.log(2)}

    # ---- evaluation -------------------------------------------------------------------
    @torch.no_grad()
    def val_loss(
        self, model: nn.Module, device: torch.device, max_chars: int | None = None
    ) -> float:
        """Mean nats/char on the val split. The LSTM reads it as 16 contiguous streams with
        carried state; the GCN, whose context is k characters anyway, reads windows."""
        model = getattr(model, "module", model)
        if not isinstance(model, CharLSTM):
            inputs, targets = self.data.val_windows(max_chars)
            total = 0.0
            for i in range(0, len(inputs), 256):
                batch = text_batch(inputs[i : i + 256], targets[i : i + 256], device)
                total += F.cross_entropy(model(batch).float(), batch.y, reduction="sum").item()
            return total / targets.numel()
        val = self.data.val if max_chars is None else self.data.val[: max_chars + 1]
        streams = 16 if len(val) > 16 * (self.config.seq_length + 1) else 1
        per = (len(val) - 1) // streams
        ids = val[: streams * per + 1]
        inputs = ids[:-1].view(streams, per).to(device)
        targets = ids[1:].view(streams, per).to(device)
        state, total = None, 0.0
        for i in range(0, per, self.config.seq_length):
            logits, state = model.forward_tokens(inputs[:, i : i + self.config.seq_length], state)
            total += F.cross_entropy(
                logits.flatten(0, 1).float(),
                targets[:, i : i + self.config.seq_length].reshape(-1),
                reduction="sum",
            ).item()
        return total / targets.numel()

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        loss = dist.mean(self.val_loss(model, device, self.config.eval_chars))
        return {"val_loss": loss, "val_bpc": loss / math.log(2)}

    def on_eval(self, model: nn.Module, device: torch.device, step: int) -> dict[str, Any]:
        from sgtk.generate import sample

        model = getattr(model, "module", model)
        if not isinstance(model, CharLSTM) or self.config.sample_length <= 0:
            return {}
        start = "\n" if "\n" in self.vocab.chars else self.vocab.decode(self.data.train[:1])
        text = sample(
            model, self.vocab, start, self.config.sample_length, tau=1.0, seed=step, device=device
        )[0]
        return {"sample": text}

    def report(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        loss = self.val_loss(model, device)
        return {"val_loss": round(loss, 4), "val_bpc": round(loss / math.log(2), 4)}
