"""Reading a trained model's files: a run folder, its ``best.pt``, or an export folder.

Every read of a checkpoint goes through the run-folder module (:func:`sgtk.train.run_dir.
read_best`, ``weights_only=True``); an export holds ``model.safetensors`` and ``config.json``,
neither of which can hold code. Each source gives the same :class:`ModelFiles`. A folder that
holds both a ``best.pt`` and an export is refused rather than guessed at, and weights that are
not finite are refused, so nothing downstream prints NaN.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from sgtk.errors import ConfigError, SgtkError
from sgtk.io.files import check_readable
from sgtk.train.finite import require_finite
from sgtk.train.run_dir import RunFolder, read_best

WEIGHTS, CONFIG, CARD = "model.safetensors", "config.json", "README.md"
# 1: task and config only; 2: adds the sgtk version, the best step and metric, the manifest.
EXPORT_FORMAT = 2


@dataclass
class ModelFiles:
    task: str  # the task's registry name
    config: dict[str, Any]  # the model config (sizes, vocabulary, target scaling, task_config)
    state: dict[str, Tensor]  # the weights
    source: str  # the file they came from, for messages
    about: dict[str, Any] = field(default_factory=dict)  # step, metric, manifest: for cards

    @property
    def task_config(self) -> dict[str, Any]:
        """The task's config as the run resolved it ({} for models saved without one)."""
        return dict(self.config.get("task_config") or {})


def is_export(path: Path | str) -> bool:
    return (Path(path) / WEIGHTS).is_file()


def load_export(directory: Path | str) -> ModelFiles:
    """An export folder written by :func:`sgtk.inference.export.export_run` (any format)."""
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
        if not isinstance(task, str) or not isinstance(config, dict):
            raise TypeError("task or config of the wrong type")
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise SgtkError(f"{config_path} is not an sgtk export config ({e}): re-export") from None
    version = meta.get("format", 1)
    if not isinstance(version, int) or version > EXPORT_FORMAT:
        raise SgtkError(
            f"{config_path} is export format {version!r}, newer than this sgtk reads "
            f"({EXPORT_FORMAT}): upgrade sgtk (it was written by sgtk {meta.get('sgtk', '?')})"
        )
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as e:
        raise SgtkError(f"{weights} is truncated or corrupt ({e}): re-export the run") from None
    about = {k: v for k, v in meta.items() if k not in ("task", "config")}
    return ModelFiles(task, config, state, str(weights), about)


def require_device(device: torch.device | str) -> torch.device:
    """``device`` if a tensor can be made there, else one line (never blamed on a file)."""
    dev = torch.device(device)
    if dev.type == "cpu":
        return dev
    try:
        torch.empty(1, device=dev)
    except (RuntimeError, AssertionError, AttributeError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(
            "device", f"device {dev} cannot be used on this machine ({reason}): use cpu"
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
    if path.is_file() and path.name in (WEIGHTS, CONFIG, CARD):
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
    if not path.is_dir():
        check_readable(checkpoint, "checkpoint")  # its field: a front end names its option
        _require_checkpoint_file(checkpoint)
    best = read_best(checkpoint)
    config = best.get("config")
    if not isinstance(config, dict):
        if "optimizer" in best or "data_rng" in best:
            raise SgtkError(
                f"{checkpoint} is a resume checkpoint: pass the run folder (its best.pt)"
            )
        raise SgtkError(
            f"{checkpoint} is not an sgtk checkpoint or export (it holds no model config): "
            "pass a run folder, its best.pt, or an export folder"
        )
    manifest = (
        RunFolder(checkpoint.parent).read_manifest() if checkpoint.name == "best.pt" else None
    )
    config = dict(config)
    if manifest and not config.get("task_config"):  # a run trained from Python
        config["task_config"] = manifest.get("task_config") or {}
    about = {"step": best.get("step"), "metric": best.get("metric"), "manifest": manifest}
    return ModelFiles(best["task"], config, best["model"], str(checkpoint), about)


def _require_checkpoint_file(path: Path) -> None:
    """Refuse, before torch reads it, a file that is not a torch archive (a script, a log):
    torch would answer with its long weights_only advice, which is beside the point."""
    try:
        with path.open("rb") as f:
            head = f.read(4)
    except OSError:
        return  # check_readable has spoken; read_best reports anything else
    if head != b"PK\x03\x04":  # every checkpoint sgtk writes is a torch zip archive
        raise SgtkError(
            f"{path} is not an sgtk checkpoint or export: pass a run folder, its best.pt, "
            "or an export folder"
        )


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
