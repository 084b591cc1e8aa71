"""What a resume keeps: a run's own settings (its manifest's, else its ``config.toml``'s), the
edits to ``config.toml`` it does not apply, which run a resume without a folder means, and
the rule that a resume never changes the task. Imports no torch until a run folder is read."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sgtk.errors import SgtkError
from sgtk.train.config import read_toml
from sgtk.train.config_changes import as_plain, differences, task_changed
from sgtk.train.resolve import Layer


def run_layers(run_dir: Path | str, task: str) -> Layer | None:
    """The ``[task]``/``[train]`` tables a run in ``run_dir`` was last trained with: from its
    manifest (task config and the latest resume's train config), else, for a run written
    before manifests, its ``config.toml``. None when the folder holds no run of ``task`` (the
    Trainer then refuses the resume, naming the run's task)."""
    from sgtk.train.run_dir import RunFolder  # torch: only on resume

    folder = RunFolder(run_dir)
    manifest = folder.read_manifest()
    if manifest is not None:
        if manifest["task"] != task:
            return None
        resumes = manifest.get("resumes") or [{}]
        train = resumes[-1].get("train_config") or manifest.get("train_config") or {}
        return {"task": manifest.get("task_config") or {}, "train": train}
    own = Path(run_dir) / "config.toml"
    if not own.is_file():
        return None
    record = read_toml(own, field=None)
    if record.get("run", {}).get("task") != task:
        return None
    return {"task": record.get("task", {}), "train": record.get("train", {})}


def edited_keys(run_dir: Path | str, layer: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The ``section.key`` values of the run's ``config.toml`` that differ from ``layer`` (the
    settings a resume takes from the manifest): edits a resume does not apply, which the user
    should hear of. An unreadable ``config.toml`` has none (it is rewritten as a record)."""
    try:
        record = read_toml(Path(run_dir) / "config.toml", field=None)
    except (OSError, SgtkError):
        return []

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, list | tuple) and isinstance(b, list | tuple):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        if isinstance(a, int | float) and isinstance(b, int | float):
            return float(a) == float(b)
        return a == b

    return [
        f"{section}.{key}"
        for section in ("task", "train")
        for key, value in (record.get(section) or {}).items()
        if key in (layer.get(section) or {}) and not same(value, layer[section][key])
    ]


def is_finished(run_dir: Path) -> bool:
    """Whether the run wrote its final test record (a stopped or crashed run did not)."""
    metrics = run_dir / "metrics.jsonl"
    try:
        lines = metrics.read_text(encoding="utf-8").strip().splitlines()
        return bool(lines) and bool(json.loads(lines[-1]).get("final"))
    except (OSError, ValueError):
        return False


def newest_run(task: str, root: Path | str = "runs") -> Path | None:
    """The most recently checkpointed unfinished run of ``task`` under ``root``, or None."""
    from sgtk.train.run_dir import CHECKPOINT

    candidates = []
    for checkpoint in Path(root).glob(f"*/{CHECKPOINT}"):
        folder = checkpoint.parent
        try:
            if run_layers(folder, task) is None or is_finished(folder):
                continue
            candidates.append((checkpoint.stat().st_mtime, str(folder), folder))
        except (OSError, SgtkError):  # a damaged run is not a candidate
            continue
    return max(candidates)[2] if candidates else None


def check_same_task(run_dir: Path | str, task: str, task_config: Any) -> None:
    """A resume may extend the run's budget, never change its task: one line if it would.
    Checked before the data is read (the Trainer checks the data's fingerprint as well)."""
    from sgtk.train.run_dir import RunFolder

    folder = RunFolder(run_dir)
    if folder.read_manifest() is not None:
        folder.check_same_run(task, task_config)
        return
    layers = run_layers(run_dir, task)
    changed = differences(dict(layers["task"]), as_plain(task_config)) if layers else []
    if changed:
        raise task_changed(changed)
