"""The run folder, the unit of trust: the one place that creates, checks, resumes and reads it.

A run folder holds ``manifest.json`` (written once at the start: the resolved configs, a
fingerprint of every input, the versions and the command line), ``config.toml``,
``metrics.jsonl``, ``checkpoint.pt`` (a :class:`TrainState`) and ``best.pt``. A fresh run never
replaces another run's files, a resume refuses changed data or a changed task, and no file
written here ever holds non-finite weights.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from sgtk.errors import SgtkError
from sgtk.io.files import atomic_write_bytes
from sgtk.train.checkpoint import load_checkpoint, save_checkpoint
from sgtk.train.config_changes import as_plain, differences, task_changed
from sgtk.train.fingerprint import file_fingerprint, text_fingerprint
from sgtk.train.finite import require_finite
from sgtk.train.machine import machine, versions
from sgtk.train.metrics import MetricsLog
from sgtk.train.train_state import BEST_KEYS, TrainState, best_record, check_optimizer, read_best

MANIFEST = "manifest.json"
CHECKPOINT, BEST, LAST = "checkpoint.pt", "best.pt", "last.pt"
# Files that mean "a run lives here": a fresh run refuses a folder holding any of them.
ARTEFACTS = (
    MANIFEST,
    CHECKPOINT,
    BEST,
    LAST,
    "metrics.jsonl",
    "row.json",
    "model.safetensors",
)
MAX_MANIFEST_BYTES = 4 << 20
PLACE_KEYS = ("root",)  # task config keys that say where the data is, not what it is
__all__ = [
    "RunFolder",
    "as_plain",
    "differences",
    "BEST_KEYS",
    "best_record",
    "file_fingerprint",
    "read_best",
    "read_last",
    "keep_last",
    "text_fingerprint",
]


class RunFolder:
    """One run folder; every read and write of its run files goes through here."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.manifest_path = self.path / MANIFEST
        self.checkpoint_path = self.path / CHECKPOINT
        self.best_path = self.path / BEST
        self.metrics = MetricsLog(self.path / "metrics.jsonl")

    # ---- the start of a run --------------------------------------------------------------
    def open(
        self,
        resume: bool,
        command: str,
        step: int,
        task: str,
        task_config: Any,
        train_config: Any,
        fingerprint: Callable[[], dict[str, Any]],
    ) -> str | None:
        """Start a run here: check the folder is writable; a resume adds itself to the
        manifest (or writes a new one where it is missing) and cuts ``metrics.jsonl`` back to
        ``step``; a fresh run refuses a folder holding any run and writes the manifest. Then
        ``config.toml`` (the resolved configs). Returns a line for the user, or None."""
        from sgtk.train.config import run_record, write_toml

        self.check_writable()
        note = None
        if resume and self.read_manifest() is None:  # deleted, or a run from before manifests
            manifest = self.start(task, as_plain(task_config), train_config, fingerprint(), command)
            self._write_manifest({**manifest, "rebuilt_at_step": step})
            note = (
                f"note: {self.manifest_path} was missing: written anew at step {step} with the "
                "data as it is now, so a change to the data before this resume goes unseen"
            )
        elif resume:
            self.record_resume(command, step, train_config)
        else:
            self.check_fresh()  # never overwrite a run, finished or not
            self.start(task, as_plain(task_config), train_config, fingerprint(), command)
        write_toml(self.path / "config.toml", run_record(task, task_config, train_config, command))
        if resume:
            self.metrics.truncate_after(step)
        return note

    def check_writable(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise SgtkError(
                f"cannot write to output directory {self.path} "
                f"({e.strerror or e}): choose a writable `run_dir`"
            ) from None

    def check_fresh(self) -> None:
        """Refuse, in one line, a fresh run into a folder that holds any run's files."""
        held = [name for name in ARTEFACTS if (self.path / name).exists()]
        if held:
            hint = "set `resume` to continue it, or " if CHECKPOINT in held else ""
            raise SgtkError(
                f"{self.path} already holds a run ({', '.join(held)}): {hint}choose another "
                "`run_dir`; sgtk never overwrites a run"
            )

    def start(
        self, task: str, task_config: Any, train_config: Any, fingerprint: dict, command: str
    ) -> dict[str, Any]:
        """Write the manifest of a fresh run (atomically) and return it."""
        manifest = {
            "format": 1,
            "task": task,
            "task_config": as_plain(task_config),
            "train_config": as_plain(train_config),
            "fingerprint": as_plain(fingerprint),
            "versions": versions(),
            "machine": machine(),
            "command": command,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "resumes": [],
        }
        self._write_manifest(manifest)
        return manifest

    # ---- a resume ------------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any] | None:
        """The manifest, or None for a folder written before manifests; damage is one line."""
        path = self.manifest_path
        if not path.is_file():
            return None
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_MANIFEST_BYTES + 1)
            if len(data) > MAX_MANIFEST_BYTES:
                raise ValueError(f"larger than {MAX_MANIFEST_BYTES} bytes")
            manifest = json.loads(data)
            if not isinstance(manifest, dict) or not isinstance(manifest.get("task"), str):
                raise ValueError("not a manifest object")
        except (OSError, ValueError) as e:
            raise SgtkError(
                f"{path} is damaged ({e}): restore it from a copy, or start a new run with "
                "another `run_dir`"
            ) from None
        return manifest

    def saved_task_config(self) -> dict[str, Any] | None:
        manifest = self.read_manifest()
        return manifest.get("task_config") if manifest else None

    def check_same_run(
        self,
        task: str,
        task_config: Any,
        fingerprint: dict[str, Any] | None = None,
        state: TrainState | None = None,
    ) -> None:
        """Refuse a resume that would change the task, its config or its data, naming what
        changed. Without a manifest (an older run) the checkpoint's own task config is used."""
        manifest = self.read_manifest()
        saved_task = manifest["task"] if manifest else state.task if state else task
        if saved_task != task:
            raise SgtkError(
                f"{self.path} holds a {saved_task!r} run, not {task!r}: resume it with "
                f"`sgtk train {saved_task}`"
            )
        saved = manifest.get("task_config") if manifest else state.task_config if state else None
        # Where the data lives is no part of the task: its fingerprint checks the bytes.
        saved = {k: v for k, v in (saved or {}).items() if k not in PLACE_KEYS}
        changed = differences(saved, as_plain(task_config))
        if changed:
            raise task_changed(changed)
        if manifest is None or fingerprint is None:
            return
        then = manifest.get("fingerprint") or {}
        changed = differences(then, as_plain(fingerprint))
        if changed:
            name = then.get("file") or then.get("dataset") or "the data"
            raise SgtkError(
                f"`resume`: the data changed since this run started ({name}: "
                f"{', '.join(changed)}): restore it, or start a new run with another `run_dir`"
            )

    def record_resume(self, command: str, step: int, train_config: Any) -> None:
        """Add this resume (its command, step and train config) to the manifest."""
        manifest = self.read_manifest()
        if manifest is None:
            return
        manifest.setdefault("resumes", []).append(
            {"command": command, "step": step, "train_config": as_plain(train_config)}
        )
        self._write_manifest(manifest)

    def load_state(self, map_location: str | torch.device = "cpu") -> TrainState:
        """``checkpoint.pt`` as a checked :class:`TrainState`."""
        path = self.checkpoint_path
        if not path.exists():
            raise SgtkError(
                f"`resume` given, but {self.path} has no checkpoint.pt: drop `resume` to start "
                "a new run in another `run_dir`, or point `run_dir` at an earlier run"
            )
        return TrainState.from_dict(load_checkpoint(path, map_location), path)

    def resume_state(
        self,
        task: str,
        task_config: Any,
        fingerprint: dict[str, Any],
        optimizer: str,
        world_size: int,
        map_location: str | torch.device = "cpu",
    ) -> TrainState:
        """The checkpoint, once this resume is checked against the run: the same task, task
        config and data (the manifest), process count and optimiser family."""
        state = self.load_state(map_location)
        ckpt = self.checkpoint_path
        if state.task != task:
            raise SgtkError(
                f"{ckpt} is a {state.task!r} checkpoint, not {task!r}: resume it with "
                f"`sgtk train {state.task}`"
            )
        self.check_same_run(task, task_config, fingerprint, state)
        if len(state.data_rng) != world_size:
            raise SgtkError(
                f"{ckpt} was written by {len(state.data_rng)} process(es); "
                f"resume it with the same number (now {world_size})"
            )
        check_optimizer(state, optimizer, ckpt)
        return state

    # ---- writes --------------------------------------------------------------------------
    def save_state(self, state: TrainState) -> None:
        require_finite(state.model, self.checkpoint_path)
        save_checkpoint(state.to_dict(), self.checkpoint_path)

    def save_best(self, best: dict[str, Any]) -> None:
        require_finite(best["model"], self.best_path)
        save_checkpoint(best, self.best_path)

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        text = json.dumps(manifest, indent=1, sort_keys=False, allow_nan=False) + "\n"
        atomic_write_bytes(self.manifest_path, text.encode())


def read_last(run_dir: Path | str, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The last step's model of a run: ``checkpoint.pt`` while it runs, ``last.pt`` once a
    sweep kept it (see :func:`keep_last`), as ``{"task": ..., "model": ..., "step": ...}``;
    checked like :func:`read_best`."""
    folder = RunFolder(run_dir)
    path = folder.checkpoint_path
    if not path.exists() and (folder.path / LAST).exists():
        path = folder.path / LAST
    state = TrainState.from_dict(load_checkpoint(path, map_location), path)
    require_finite(state.model, path)
    return {"task": state.task, "model": state.model, "step": state.step}


def keep_last(run_dir: Path | str, keep: bool) -> None:
    """Close a finished run's training state: ``checkpoint.pt`` becomes ``last.pt`` when the
    last step's model is the one reported (``keep``), else it is removed (best.pt stays)."""
    folder = RunFolder(run_dir)
    if keep and folder.checkpoint_path.exists():
        folder.checkpoint_path.replace(folder.path / LAST)
    folder.checkpoint_path.unlink(missing_ok=True)
