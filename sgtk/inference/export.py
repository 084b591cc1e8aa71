"""Exports: a run's best model as ``model.safetensors`` plus ``config.json``.

Neither file can hold code, so an export from anywhere is safe to load. ``load_model_files``
reads a run folder (its ``best.pt``, loaded with ``weights_only=True``), a ``best.pt`` itself,
or an export folder, and returns the same thing for each; a folder that holds both a
``best.pt`` and an export is refused rather than guessed at, and weights that are not finite
are refused, so nothing downstream prints NaN. An export is never written into a run folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from sgtk.errors import SgtkError
from sgtk.io.files import atomic_write_bytes
from sgtk.train.checkpoint import load_checkpoint
from sgtk.train.finite import require_finite

WEIGHTS, CONFIG = "model.safetensors", "config.json"
EXPORT_FORMAT = 1


@dataclass
class ModelFiles:
    task: str  # "text", "molecules", ...
    config: dict[str, Any]  # the run's model config (vocabulary, target scaling, sizes)
    state: dict[str, Tensor]  # the weights
    source: str  # the file they came from, for messages


def is_export(path: Path | str) -> bool:
    return (Path(path) / WEIGHTS).is_file()


def load_export(directory: Path | str) -> ModelFiles:
    """An export folder written by :func:`export_run` (``generate`` and ``predict`` use it)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    directory = Path(directory)
    weights, config_path = directory / WEIGHTS, directory / CONFIG
    for path in (weights, config_path):
        if not path.is_file():
            raise SgtkError(f"{directory} has no {path.name}: pass a folder from `sgtk export`")
    try:
        meta = json.loads(config_path.read_text(encoding="utf-8"))
        task, config = meta["task"], meta["config"]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise SgtkError(f"{config_path} is not an sgtk export config ({e}): re-export") from None
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as e:
        raise SgtkError(f"{weights} is truncated or corrupt ({e}): re-export the run") from None
    return ModelFiles(task, config, state, str(weights))


def require_device(device: torch.device | str) -> torch.device:
    """``device`` if a tensor can be made there, else one line (never blamed on a file)."""
    dev = torch.device(device)
    if dev.type == "cpu":
        return dev
    try:
        torch.empty(1, device=dev)
    except (RuntimeError, AssertionError, AttributeError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SgtkError(
            f"--device {dev} cannot be used on this machine ({reason}): use --device cpu"
        ) from None
    return dev


def load_model_files(
    path: Path | str, device: torch.device | str = "cpu", task: str | None = None
) -> ModelFiles:
    """A run folder, its ``best.pt``, or an export folder; with ``task``, only that task's.

    The weights are read onto the CPU (the caller moves the model), after ``device`` is checked
    usable, so a device this machine lacks is never reported as a corrupt file.
    """
    require_device(device)
    files = _load_model_files(Path(path))
    if task is not None and files.task != task:
        raise SgtkError(
            f"{files.source} is a {files.task!r} model, not a {task} model: pass a run "
            f"from `sgtk train {task}` or its export"
        )
    require_finite(files.state, files.source)
    return files


def _load_model_files(path: Path) -> ModelFiles:
    if path.is_file() and path.name in (WEIGHTS, CONFIG):
        path = path.parent  # a file of an export folder: the folder is the model
    if path.is_dir() and is_export(path):
        if (path / "best.pt").is_file():
            raise SgtkError(
                f"{path} holds both best.pt and an export ({WEIGHTS}), so which model to use "
                f"is ambiguous: pass {path / 'best.pt'}, or move the export to its own folder"
            )
        return load_export(path)
    checkpoint = path / "best.pt" if path.is_dir() else path
    if path.is_dir() and not checkpoint.is_file():
        raise SgtkError(
            f"{path} has neither best.pt nor {WEIGHTS}: pass a run folder from `sgtk train` "
            "or a folder from `sgtk export`"
        )
    state = load_checkpoint(checkpoint, "cpu")
    if not isinstance(state, dict) or "model" not in state or "config" not in state:
        raise SgtkError(f"{checkpoint} is not a best.pt written by `sgtk train`: retrain")
    return ModelFiles(state.get("task", "?"), state["config"], state["model"], str(checkpoint))


def load_weights(model: nn.Module, files: ModelFiles) -> nn.Module:
    """``files.state`` into ``model``, or one line naming the file that does not fit."""
    try:
        model.load_state_dict({k: v.float() for k, v in files.state.items()})
    except RuntimeError as e:
        reason = str(e).strip().splitlines()
        detail = next((ln.strip() for ln in reason[1:] if ln.strip()), reason[0])
        raise SgtkError(
            f"{files.source} does not fit the model its config describes ({detail}): "
            "it was written by another sgtk version or edited; retrain or re-export"
        ) from None
    return model


def check_out(
    out: Path | str, inputs: list[Path], folders: list[Path], flag: str = "--out"
) -> None:
    """Refuse an output path that is one of ``inputs`` or lies in one of ``folders`` (a run or
    export folder, which holds one model's files and nothing else)."""
    out = Path(out).resolve()
    for path in inputs:
        same = out.exists() and path.exists() and out.samefile(path)
        if same or out == path.resolve():
            raise SgtkError(f"{flag} {out} is the input {path}: write to another file")
    for folder in folders:
        folder = folder.resolve()
        if out == folder or folder in out.parents:
            raise SgtkError(
                f"{flag} {out} is inside the model folder {folder}, which holds one model's "
                f"files only: write it elsewhere, e.g. {folder.parent / (folder.name + '-export')}"
            )


def model_folder(path: Path | str) -> Path:
    """The run or export folder a model path names (itself, or the folder of its file)."""
    path = Path(path)
    return path if path.is_dir() else path.parent


def export_run(run: Path | str, out: Path | str) -> list[Path]:
    """Write ``out/model.safetensors`` and ``out/config.json`` from a run's best model.

    ``out`` may not be the run folder or lie inside it (an export there would sit beside
    ``best.pt``), nor be another run's folder.
    """
    from safetensors.torch import save

    files = load_model_files(run)
    check_out(out, [], [model_folder(run)])
    if (Path(out) / "best.pt").exists():
        raise SgtkError(f"--out {out} holds a run (best.pt): export to a folder of its own")
    try:
        config_text = json.dumps(
            {"format": EXPORT_FORMAT, "task": files.task, "config": files.config}, indent=1
        )
    except TypeError as e:
        raise SgtkError(f"{files.source} holds a config that is not plain data ({e})") from None
    # safetensors refuses shared or strided storage: give each tensor its own copy.
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in files.state.items()}
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SgtkError(f"--out {out} is a file: choose a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SgtkError(f"cannot create --out {out} ({e.strerror or e}): choose another") from None
    atomic_write_bytes(out / WEIGHTS, save(tensors, metadata={"task": files.task}))
    atomic_write_bytes(out / CONFIG, config_text.encode())
    return [out / WEIGHTS, out / CONFIG]
