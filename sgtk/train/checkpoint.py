"""Checkpoints that are written atomically and loaded without running code."""

from __future__ import annotations

import io
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from sgtk.errors import SgtkError
from sgtk.io.files import atomic_write_bytes


def save_checkpoint(obj: dict[str, Any], path: Path) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(Path(path), buf.getvalue())


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load with ``weights_only=True``: tensors and plain containers only, never code."""
    path = Path(path)
    if not path.is_file():
        raise SgtkError(
            f"no checkpoint at {path}: train a run first, or point at a run directory that has one"
        )
    try:
        with warnings.catch_warnings():  # torch's pickle-protocol notes: not the user's concern
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise SgtkError(
            f"refusing to load {path}: it is not a checkpoint sgtk wrote, or it holds more than "
            f"weights ({_first_sentence(e)}); only load checkpoints that sgtk wrote"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as e:
        raise SgtkError(
            f"checkpoint {path} is truncated or corrupt ({_first_sentence(e)}): restore it from "
            "a copy, or train a new run into another `run_dir`"
        ) from None


def _first_sentence(error: BaseException, limit: int = 80) -> str:
    """torch's reason, cut to its first sentence: its full text is a paragraph of advice
    about ``weights_only`` and zip internals that would bury the one line."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    text = text.split(". ")[0].rstrip(".")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fit_model_state(model: torch.nn.Module, checkpoint: dict[str, Any], path: Path) -> None:
    """Load ``checkpoint["model"]`` into ``model``; a misfit is one line naming ``path``."""
    theirs, ours = checkpoint.get("model"), model.state_dict()
    if not isinstance(theirs, dict):
        raise SgtkError(f"{path} holds no model weights: point at a checkpoint that sgtk wrote")
    from sgtk.nn import upgrade_state_dict

    theirs = upgrade_state_dict(model, theirs)  # keys of earlier versions, renamed as on load
    missing = sorted(ours.keys() - theirs.keys())
    extra = sorted(theirs.keys() - ours.keys())
    resized = [k for k in ours.keys() & theirs.keys() if ours[k].shape != theirs[k].shape]
    if resized:
        k = sorted(resized)[0]
        why = f"{k} is {list(theirs[k].shape)} there, {list(ours[k].shape)} here"
    elif missing:
        why = f"it lacks {len(missing)} weight(s) such as {missing[0]}"
    elif extra:
        why = f"it has {len(extra)} unknown weight(s) such as {extra[0]}"
    else:
        try:
            model.load_state_dict(theirs)
            return
        except RuntimeError as e:
            why = str(e).strip().splitlines()[-1].strip()
    raise SgtkError(
        f"{path} does not fit this model ({why}): it was written for another model or size; "
        "pass the options of the run that wrote it, or choose another checkpoint"
    )


def load_model_state(
    model: torch.nn.Module,
    path: Path,
    task: str | None = None,
    map_location: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Load the weights of the checkpoint at ``path`` into ``model`` and return the checkpoint.

    A checkpoint of another ``task``, or of another model or size, is one line naming ``path``.
    """
    checkpoint = load_checkpoint(path, map_location)
    if task is not None and checkpoint.get("task") != task:
        raise SgtkError(
            f"{path} is a {checkpoint.get('task')!r} checkpoint, not {task!r}: "
            f"use it with `sgtk train {checkpoint.get('task')}`, or choose another checkpoint"
        )
    fit_model_state(model, checkpoint, Path(path))
    return checkpoint


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: Any, path: Path) -> None:
    try:
        optimizer.load_state_dict(state)
    except (ValueError, KeyError) as e:
        raise SgtkError(
            f"{path} holds optimiser state that does not fit ({e}): resume with the "
            "`optimizer` of the run that wrote it"
        ) from None
