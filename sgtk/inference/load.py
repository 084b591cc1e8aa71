"""``sgtk.load(path)``: any run folder, ``best.pt`` or export, of any task, ready to use."""

from __future__ import annotations

from pathlib import Path

import torch

from sgtk.errors import SgtkError
from sgtk.inference.generate import LoadedText
from sgtk.inference.loaded import Loaded, LoadedPalindrome
from sgtk.inference.loaded_task import LoadedTask
from sgtk.inference.model_files import load_model_files
from sgtk.inference.predict import MoleculePredictor
from sgtk.tasks.registry import TASK_REGISTRY

# One per task; each names the task class whose runs it opens.
LOADERS: tuple[type[Loaded], ...] = (LoadedPalindrome, LoadedText, MoleculePredictor)


def load(path: Path | str, device: torch.device | str = "cpu") -> Loaded:
    """The model in ``path`` (a run folder, its ``best.pt``, or an `sgtk export` folder), as
    the task's :class:`~sgtk.inference.loaded.Loaded`: ``.predict(sequences)`` for a palindrome
    model, ``.sample(prefix, length, tau)`` for a text model, ``.predict(smiles)`` for a
    molecule model, and for any other registered task a :class:`LoadedTask` that its own
    task rebuilds (``.evaluate(split)``); each has ``.model``, ``.config`` and
    ``.task_name``."""
    files = load_model_files(path, device)
    for loader in LOADERS:
        if loader.task.name == files.task:
            return loader(files, device)
    if files.task in TASK_REGISTRY:
        return LoadedTask.opening(files.task)(files, device)
    raise SgtkError(
        f"{files.source} is a {files.task!r} model, which this sgtk cannot open: upgrade sgtk"
    )
