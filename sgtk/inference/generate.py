"""A text model opened for sampling: any `sgtk train text` run or export, or the pretrained one.

Recurrent models carry their state from one character to the next; graph, attention and
hybrid models read a sliding window of their run's ``seq_length`` characters (see
:func:`sgtk.models.charlm.decoder_for`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from sgtk.data.text import Vocab, text_batch
from sgtk.errors import SgtkError
from sgtk.inference.loaded import Loaded, config_from
from sgtk.inference.model_files import ModelFiles, load_model_files
from sgtk.inference.quality import (
    LENGTH,
    NANOGPT_WINDOW,
    SAMPLES,
    word_validity,
    zero_state_window_loss,
)
from sgtk.models.charlm import CharLSTM
from sgtk.models.sampling import beam_texts, first_characters, sample
from sgtk.tasks.text import TextTask, build_char_model
from sgtk.tasks.text_config import TextConfig

PRETRAINED = Path(__file__).resolve().parents[1] / "pretrained" / "charlm-tinyshakespeare.pt"


class LoadedText(Loaded):
    """A character language model with its vocabulary and context."""

    task = TextTask

    def check(self, files: ModelFiles) -> None:
        missing = [k for k in ("model", "vocab", "hidden", "layers") if k not in files.config]
        if missing:
            raise SgtkError(
                f"{files.source} lacks {', '.join(missing)} in its config: it was saved "
                "without its model config; retrain it with `sgtk train text`"
            )

    def build(self, files: ModelFiles) -> nn.Module:
        cfg = files.config
        self.vocab = Vocab(cfg["vocab"], cfg.get("char_counts"))  # older models: no counts
        seq = self.task_config.get("seq_length")
        # The window a graph or attention model was trained on (None: a recurrent model).
        self.context: int | None = int(seq) if isinstance(seq, int) and seq > 0 else None
        return build_char_model(len(self.vocab), {"embed": 0, "dropout": 0.0, **cfg})

    @property
    def hidden(self) -> int:
        return int(self.config["hidden"])

    @property
    def layers(self) -> int:
        return int(self.config["layers"])

    def sample(
        self,
        prefix: str | None = None,
        length: int = 300,
        tau: float = 1.0,
        greedy: bool = False,
        top_k: int | None = None,
        seed: int | None = None,
        num_samples: int = 1,
        on_text: Callable[[str], None] | None = None,
    ) -> list[str]:
        """``num_samples`` texts: ``prefix`` (or a drawn first character) and ``length``
        characters more, sampled from softmax(logits / ``tau``); see
        :func:`sgtk.models.sampling.sample`."""
        if prefix is not None:
            self.vocab.encode(prefix)  # an unknown character: one line, before any work
        texts = sample(self.model, self.vocab, prefix, length, tau, greedy, top_k, seed,
                       num_samples, self.device, on_text, self.context)  # fmt: skip
        return [(prefix or "") + t for t in texts]

    def beam(
        self,
        prefix: str | None,
        length: int = 100,
        beam: int = 5,
        count: int = 1,
        seed: int | None = None,
    ) -> list[str]:
        """The ``count`` likeliest continuations a ``beam``-wide search finds, best first.

        Without a prefix (``None``) the search starts from one first character, drawn from
        ``seed`` as :meth:`sample` draws it (none when ``length`` is 0: nothing to search)."""
        if prefix is None:
            if not length:
                return [""]
            drawn = seed if seed is not None else torch.seed() % 2**31
            prefix = first_characters(self.vocab, 1, torch.Generator().manual_seed(drawn))[0]
        texts = beam_texts(
            self.model, self.vocab, prefix, length, beam, count, self.device, self.context
        )
        return [prefix + t for t in texts]

    def word_validity(
        self,
        corpus: str,
        taus: list[float],
        num_samples: int = SAMPLES,
        length: int = LENGTH,
        seed: int = 0,
        top_k: int | None = None,
        prefix: str | None = None,
    ) -> list[dict[str, float]]:
        """Per temperature, the share of the sampled words found in ``corpus`` (see
        :func:`sgtk.inference.quality.word_validity`)."""
        return word_validity(self.model, self.vocab, corpus, taus, num_samples, length, seed,
                             top_k, prefix, self.device, self.context)  # fmt: skip

    @torch.no_grad()
    def evaluate(self, text: str) -> dict[str, float]:
        """Loss (nats per character) and bits per character on ``text``, read as windows of
        the run's ``seq_length`` characters (64 where it has none), each from a cold state."""
        ids = self.vocab.encode(text)
        window = self.context or 64
        usable = (len(ids) - 1) // window * window
        if usable < 1:
            raise SgtkError(f"the text has {len(ids)} characters: pass at least {window + 1}")
        inputs = ids[:usable].view(-1, window)
        targets = ids[1 : usable + 1].view(-1, window)
        total = 0.0
        for i in range(0, len(inputs), 256):
            batch = text_batch(inputs[i : i + 256], targets[i : i + 256], self.device)
            total += F.cross_entropy(self.model(batch).float(), batch.y, reduction="sum").item()
        loss = total / usable
        return {"loss": loss, "bpc": loss / math.log(2), "characters": float(usable)}

    @torch.no_grad()
    def heldout_losses(self, corpus: str, name: str = "the corpus") -> dict[str, float | None]:
        """Nats per character on the held-out 10 % of ``corpus``, the text this model was
        trained on (nanoGPT's "val", split as the run split it), read two ways:

        - ``window_loss``: nanoGPT's protocol, :func:`~sgtk.inference.quality.
          zero_state_window_loss` (256-character windows, each from a zero state);
        - ``carried_loss``: ``heldout_loss`` as its run reports it with ``carry_state`` (an
          LSTM carrying its state across the run's ``seq_length`` windows); None for a model
          that carries none.

        ``characters``: how many the window loss scored. A text whose characters differ from
        the model's is not its training text, so it has no held-out part: one line."""
        task = self._task_on(corpus, name)
        ids = task.data.splits["heldout"]
        window_loss, scored = zero_state_window_loss(self.model, ids, NANOGPT_WINDOW, self.device)
        carried = None
        if task.config.carry_state:
            carried = float(task.report(self.model, self.device)["heldout_loss"])
        return {"window_loss": window_loss, "carried_loss": carried, "characters": float(scored)}

    def _task_on(self, corpus: str, name: str) -> TextTask:
        """The model's run task (its ``seq_length``) over ``corpus``, carrying state where
        the model can: its splits and evaluation windows are those ``heldout_loss`` reads."""
        chars = Vocab.from_text(corpus).chars  # the run's vocabulary is its text's characters
        if chars != self.vocab.chars:
            raise SgtkError(
                f"the characters of {name} differ from the model's ({len(chars)} against "
                f"{len(self.vocab)}): it is not the text the model was trained on, so it has "
                "no held-out part; pass the training text"
            )
        saved = config_from(TextConfig, self.task_config, self.source)
        carries = isinstance(self.model, CharLSTM)
        config = dataclasses.replace(saved, carry_state=carries, sample_length=0)
        return TextTask(config, text=corpus)


def load_text(
    path: Path | str | None = None, device: torch.device | str = "cpu"
) -> tuple[LoadedText, bool]:
    """A text run or export, or with no ``path`` the pretrained model shipped with sgtk
    (never a run found on disk). Returns (model, whether it is the pretrained one)."""
    return LoadedText(PRETRAINED if path is None else path, device), path is None


def load_char_model(
    checkpoint: Path | str | None = None, device: torch.device | str = "cpu"
) -> tuple[nn.Module, Vocab, str]:
    """(model, vocab, source) of a text run or export, or the pretrained model."""
    loaded, _ = load_text(checkpoint, device)
    return loaded.model, loaded.vocab, loaded.source


def export_char_model(run_dir: Path | str, dest: Path | str) -> Path:
    """Write a run's best char-LSTM to ``dest`` as a small half-precision checkpoint (how the
    pretrained model was made). ``dest`` is required: nothing writes inside the package."""
    from sgtk.inference.export import check_out, model_folder
    from sgtk.train.checkpoint import save_checkpoint

    files = load_model_files(run_dir, task=TextTask.name)
    check_out(dest, [Path(files.source)], [model_folder(files.source)], "dest")
    if not isinstance(LoadedText(files).model, CharLSTM):
        raise SgtkError(f"{files.source} is not a char-LSTM: export it with `sgtk export`")
    half = {k: v.half() if v.is_floating_point() else v for k, v in files.state.items()}
    state = {"task": files.task, "config": files.config, "model": half}
    save_checkpoint({**state, **{k: files.about.get(k) for k in ("step", "metric")}}, Path(dest))
    return Path(dest)
