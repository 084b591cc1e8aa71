"""Exports: a run's best model as a folder that loads without the run or any code.

``model.safetensors`` (the weights), ``config.json`` (the task, the model config with its
vocabulary or target scaling, the task config, the sgtk version) and ``README.md``, a short
model card (task, model, data fingerprint, metric, command). :func:`sgtk.load` opens it; an
export is never written into a run folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sgtk.errors import ConfigError, SgtkError
from sgtk.inference.model_files import (
    CARD,
    CONFIG,
    EXPORT_FORMAT,
    WEIGHTS,
    ModelFiles,
    is_export,
    load_export,
    load_model_files,
    load_weights,
    require_device,
)
from sgtk.io.files import atomic_write_bytes
from sgtk.train.run_dir import RunFolder

__all__ = [
    "CARD",
    "CONFIG",
    "WEIGHTS",
    "ModelFiles",
    "check_export_out",
    "check_out",
    "export_run",
    "is_export",
    "load_export",
    "load_model_files",
    "load_weights",
    "model_folder",
    "require_device",
]


def check_out(out: Path | str, inputs: list[Path], folders: list[Path], field: str = "out") -> None:
    """Refuse an output path that is one of ``inputs`` or lies in one of ``folders`` (a run or
    export folder, which holds one model's files and nothing else)."""
    out = Path(out).resolve()
    for path in inputs:
        same = out.exists() and path.exists() and out.samefile(path)
        if same or out == path.resolve():
            raise ConfigError(field, f"{field} {out} is the input {path}: write to another file")
    for folder in folders:
        folder = folder.resolve()
        if out == folder or folder in out.parents:
            raise ConfigError(
                field,
                f"{field} {out} is inside the model folder {folder}, which holds one model's "
                f"files only: write it elsewhere, e.g. {folder.parent / (folder.name + '-export')}",
            )


def model_folder(path: Path | str) -> Path:
    """The run or export folder a model path names (itself, or the folder of its file)."""
    path = Path(path)
    return path if path.is_dir() else path.parent


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sgtk")
    except PackageNotFoundError:
        return "0+unknown"


def _test_figures(run: Path) -> dict[str, Any]:
    """The test figures of the run's final record, or {} (a stopped run, an older folder)."""
    try:
        records = RunFolder(run).metrics.read() if (run / "metrics.jsonl").is_file() else []
    except (SgtkError, OSError, ValueError):
        return {}
    final: dict[str, Any] = next((r for r in reversed(records) if r.get("final")), {})
    return {k: v for k, v in final.items() if k.startswith("test_")}


def _data(fingerprint: Any) -> str:
    if not isinstance(fingerprint, dict) or not fingerprint:
        return "not recorded"
    parts = [f"{k} {v[:12] if k == 'sha256' else v}" for k, v in fingerprint.items()]
    return ", ".join(parts)


def model_card(files: ModelFiles, about: dict[str, Any]) -> str:
    """A short README.md for an export: what it is, how it was made, how well it does."""
    from sgtk.tasks.registry import get_task

    spec = get_task(files.task)
    manifest = about.get("manifest") or {}
    cfg = {**files.task_config, **files.config}
    sizes = ", ".join(f"{k} {cfg[k]}" for k in ("hidden", "layers", "embed") if k in cfg)
    test = about.get("test") or {}
    headline = test.get(spec.headline)
    lines = [
        f"# sgtk {files.task} model: {cfg.get('model', '?')}",
        "",
        f"- task: {files.task} ({spec.summary})",
        f"- model: {cfg.get('model', '?')}" + (f" ({sizes})" if sizes else ""),
        f"- data: {_data(manifest.get('fingerprint'))}",
        f"- best checkpoint: step {about.get('step')}, selection metric {about.get('metric')}",
        f"- {spec.headline}: {f'{headline:.4g}' if isinstance(headline, float) else 'none'}",
        f"- command: `{manifest.get('command') or 'not recorded'}`",
        f"- sgtk {_version()}; in Python: `sgtk.load(path_to_this_folder)`",
        "",
    ]  # fmt: skip
    return "\n".join(lines)


def check_export_out(out: Path, task: str, config: dict[str, Any], run: str) -> None:
    """Refuse an ``out`` folder holding a file no export writes (a user's README.md, a run's
    best.pt), or the export of another run: an export replaces only its own earlier files."""
    if not out.is_dir():
        return
    names = sorted(p.name for p in out.iterdir())
    others = [n for n in names if n not in (WEIGHTS, CONFIG, CARD)]
    if others:
        more = f" and {len(others) - 1} more" if len(others) > 1 else ""
        raise ConfigError(
            "out",
            f"out {out} holds {others[0]}{more}, which an export does not write, so it would "
            "be mixed with or overwrite them: export to a new or empty folder",
        )
    if not names:
        return
    try:
        prev = json.loads((out / CONFIG).read_text(encoding="utf-8"))
        theirs = (prev["task"], prev.get("run"), prev["config"])
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(
            "out",
            f"out {out} holds {', '.join(names)} but no sgtk export config, so they are not "
            "an earlier export of this run: export to a new or empty folder",
        ) from None
    ours = (task, run, json.loads(json.dumps(config)))
    if theirs[0] != ours[0] or theirs[1] not in (None, run) or theirs[2] != ours[2]:
        raise ConfigError(
            "out",
            f"out {out} holds the export of another run ({theirs[0]} model from "
            f"{theirs[1] or 'an unrecorded run'}): export to a new or empty folder",
        )


def export_run(run: Path | str, out: Path | str) -> list[Path]:
    """Write ``out/model.safetensors``, ``out/config.json`` and ``out/README.md`` from a run's
    best model (or re-export an export).

    ``out`` may not be the run folder or lie inside it (an export there would sit beside
    ``best.pt``), nor hold anything but this run's earlier export (see
    :func:`check_export_out`).
    """
    from safetensors.torch import save

    files = load_model_files(run)
    check_out(out, [], [model_folder(run)])
    about = {k: v for k, v in files.about.items() if k != "manifest"}
    # The run an export came from, kept through re-exports: an export is only ever replaced
    # by one of the same run.
    about["run"] = about.get("run") or str(model_folder(files.source).resolve())
    check_export_out(Path(out), files.task, files.config, about["run"])
    manifest = files.about.get("manifest") or {}
    if manifest:
        about["manifest"] = {k: manifest.get(k) for k in ("fingerprint", "command", "versions")}
    if "test" not in about:
        about["test"] = _test_figures(model_folder(files.source))
    about = {k: v for k, v in about.items() if k not in ("format", "sgtk")}
    meta = {"format": EXPORT_FORMAT, "task": files.task, "config": files.config,
            "sgtk": _version(), **about}  # fmt: skip
    try:
        config_text = json.dumps(meta, indent=1, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise SgtkError(f"{files.source} holds a config that is not plain data ({e})") from None
    # safetensors refuses shared or strided storage: give each tensor its own copy.
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in files.state.items()}
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError("out", f"out {out} is a file: choose a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(
            "out", f"out {out} cannot be created ({e.strerror or e}): choose another folder"
        ) from None
    atomic_write_bytes(out / WEIGHTS, save(tensors, metadata={"task": files.task}))
    atomic_write_bytes(out / CONFIG, config_text.encode())
    atomic_write_bytes(out / CARD, model_card(files, about).encode())
    return [out / WEIGHTS, out / CONFIG, out / CARD]
