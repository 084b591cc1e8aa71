"""A trained model opened for use: :class:`Loaded`, and the palindrome classifier.

Each task's loaded model is a subclass naming its task class; :func:`sgtk.load` picks the one
whose task wrote the files. The text model is in :mod:`sgtk.inference.generate`, the molecule
predictor in :mod:`sgtk.inference.predict`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from sgtk.errors import SgtkError
from sgtk.inference.model_files import ModelFiles, load_model_files, load_weights
from sgtk.tasks.palindrome import PalindromeConfig, PalindromeTask
from sgtk.train.task import Task


class Loaded:
    """A model with what it needs to be used: ``model`` (in eval mode, on ``device``),
    ``config`` (the model config its run saved), ``task_config`` and ``source`` (the file
    read). Open one with :func:`sgtk.load`, or a task's class with a path or ``ModelFiles``."""

    task: ClassVar[type[Task]]  # the task class whose runs this opens

    def __init__(self, source: Path | str | ModelFiles, device: torch.device | str = "cpu"):
        files = source if isinstance(source, ModelFiles) else self.read(source, device)
        if files.task != self.task.name:
            raise SgtkError(
                f"{files.source} is a {files.task!r} model, not a {self.task.name} model: "
                f"open it with sgtk.load"
            )
        self.config: dict[str, Any] = files.config
        self.source, self.device = files.source, torch.device(device)
        self.check(files)
        self.model: nn.Module = load_weights(self.build(files), files).to(self.device).eval()

    @classmethod
    def read(cls, path: Path | str, device: torch.device | str) -> ModelFiles:
        return load_model_files(path, device, task=cls.task.name)

    @property
    def task_name(self) -> str:
        return str(self.task.name)

    @property
    def task_config(self) -> dict[str, Any]:
        return dict(self.config.get("task_config") or {})

    def check(self, files: ModelFiles) -> None:
        """Refuse files this version cannot use, in one line (before anything is built)."""

    def build(self, files: ModelFiles) -> nn.Module:
        raise NotImplementedError

    @property
    def model_name(self) -> str:
        """The registry name of the model (``gcn``, ``lstm``, ...)."""
        return str(self.config.get("model") or self.task_config.get("model", "?"))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.model_name} from {self.source}>"


def config_from(cls: type, saved: dict[str, Any], source: str) -> Any:
    """A task config dataclass from its saved fields (fields added since take their
    defaults; fields since removed are ignored)."""
    if not saved:
        raise SgtkError(
            f"{source} holds no task config, so its model cannot be rebuilt: retrain it with "
            "this sgtk, or export it from its run folder"
        )
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in saved.items() if k in names})


DIGITS = frozenset("0123456789")


class LoadedPalindrome(Loaded):
    """A palindrome classifier: reads the first T-1 digits, predicts the last (the first)."""

    task = PalindromeTask

    def build(self, files: ModelFiles) -> nn.Module:
        self.palindromes = PalindromeTask(
            config_from(PalindromeConfig, files.task_config, files.source)
        )
        return self.palindromes.build_model()

    @property
    def length(self) -> int:
        """T: the model reads T-1 digits."""
        return int(self.palindromes.config.length)

    def _digits(self, sequences: list[str] | list[list[int]] | Tensor) -> Tensor:
        want = self.length - 1
        if isinstance(sequences, Tensor):
            digits = sequences.long()
        else:
            if isinstance(sequences, str):
                sequences = [sequences]  # one sequence, not a list of one-digit ones
            digits = torch.tensor(
                [self._row(i, s, want) for i, s in enumerate(sequences)], dtype=torch.long
            ).view(-1, want)
        if not len(digits):
            raise SgtkError(f"no sequences: pass at least one of {want} digits")
        if digits.dim() != 2 or digits.shape[1] != want:
            raise SgtkError(f"pass a [N, {want}] tensor of digits (got {list(digits.shape)})")
        if digits.min() < 0 or digits.max() > 9:
            bad = int(torch.nonzero((digits < 0) | (digits > 9))[0, 0])
            raise SgtkError(
                f"sequence {bad} holds {digits[bad].tolist()}: sequences are digits 0-9"
            )
        return digits

    def _row(self, i: int, seq: object, want: int) -> list[int]:
        """Sequence ``i`` as ``want`` digits, or one line naming it and what is wrong."""
        shown = repr(seq) if len(repr(seq)) <= 40 else repr(seq)[:37] + "..."
        items: list[Any] = list(seq) if isinstance(seq, str | list | tuple | Tensor) else []
        if not isinstance(seq, str) and hasattr(seq, "tolist"):  # a tensor or NumPy array
            items = list(seq.tolist())
        ok = bool(items) and all(
            d in DIGITS if isinstance(d, str) else
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 9
            for d in items
        )  # fmt: skip
        if not ok:
            raise SgtkError(
                f"sequence {i} ({shown}) is not digits: sequences are digits 0-9, as a string "
                "'01234' or a list [0, 1, 2, 3, 4]"
            )
        row = [int(d) for d in items]
        if len(row) != want:
            raise SgtkError(
                f"sequence {i} ({shown}) has {len(row)} digits: this model reads {want} digits "
                f"(a palindrome of length {self.length} without its last digit)"
            )
        return row

    @torch.no_grad()
    def probabilities(self, sequences: list[str] | list[list[int]] | Tensor) -> Tensor:
        """[N, 10]: the probability of each last digit."""
        digits = self._digits(sequences)
        padded = torch.cat([digits, torch.zeros_like(digits[:, :1])], dim=1)  # a dummy target
        batch = self.palindromes.data.to_batch(padded, self.device)
        return torch.softmax(self.model(batch).float(), -1).cpu()

    def predict(self, sequences: list[str] | list[list[int]] | Tensor) -> list[int]:
        """The predicted last digit of each sequence of T-1 digits ("123456789" or a list)."""
        return self.probabilities(sequences).argmax(-1).tolist()

    @torch.no_grad()
    def evaluate(self, split: str = "test") -> dict[str, float]:
        """Accuracy and loss on the task's own ``val`` or ``test`` palindromes."""
        if split == "test":
            return self.palindromes.report(self.model, self.device)
        if split == "val":
            return self.palindromes.evaluate(self.model, self.device)
        raise SgtkError(f"split {split!r}: choose val or test")
