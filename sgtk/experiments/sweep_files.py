"""The files a compare sweep keeps beside its runs, read and checked in one place.

``sweep.json`` holds the settings every run of the sweep shares and which runs it holds; each
finished run's folder holds ``row.json`` and ``curve.json``. A file that cannot be read is one
line naming it and the fix, never a traceback, and never skipped: a resume or a merge that
dropped a row would report a sweep that was not run.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from sgtk.errors import SgtkError
from sgtk.io.files import atomic_write_bytes

SWEEP_FILE = "sweep.json"
# Which runs a sweep holds, beside its settings: a resume may add runs (more seeds, lengths),
# a merge may not mix them. The shard (I/N) only says how the runs were split.
RUN_KEYS = ("models", "lengths", "layers", "graph", "seeds")
# What differs between two trainings of one run on two machines; the results do not.
TIMING = ("seconds", "cpu_seconds", "threads")
# What produced a sweep (code, versions, machine): recorded, never compared on resume or merge.
PRODUCED_BY = "produced_by"


def _fix_row(path: Path) -> str:
    return f"delete {path.parent} and rerun the sweep with `resume` to train that run again"


def read_json(path: Path, what: str, fix: str) -> Any:
    """``path`` parsed, or one line naming it and ``fix``. ``what``: row, curve or sweep."""
    why: str | None
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        why = "not UTF-8 text"
    except json.JSONDecodeError as e:
        why = f"not JSON: {e.msg} at line {e.lineno}"
    else:
        why = _shape_problem(value, what)
        if why is None:
            return value
    raise SgtkError(f"{path} is corrupt ({why}): {fix}")


def _shape_problem(value: Any, what: str) -> str | None:
    if what == "curve":
        numbers = isinstance(value, list) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value
        )
        return None if numbers else "not a list of numbers"
    if not isinstance(value, dict):
        return "not a JSON object"
    if what == "row" and not all(isinstance(value.get(k), str) for k in ("name", "task")):
        return "no run name or task"
    if what == "sweep" and not isinstance(value.get("task"), str):
        return "no task"
    return None


def read_row(path: Path) -> dict[str, Any]:
    return read_json(path, "row", _fix_row(path))


def read_curve(path: Path) -> list[float]:
    fix = (
        f"delete it (the plots then leave that run's curve out), or delete {path.parent} and "
        "rerun the sweep with `resume` to train that run again"
    )
    return read_json(path, "curve", fix)


def read_sweep_file(out_dir: Path) -> dict[str, Any] | None:
    """The sweep.json of ``out_dir``; None where there is none."""
    path = Path(out_dir) / SWEEP_FILE
    if not path.exists():
        return None
    fix = "delete it, then rerun that sweep with `resume` and its original settings to rewrite it"
    return read_json(path, "sweep", fix)


def sweep_record(sweep: Any) -> dict[str, Any]:
    """What sweep.json holds: the settings, and under ``runs`` which runs and which shard."""
    runs = {k: getattr(sweep, k) for k in RUN_KEYS} | {"shard": list(sweep.shard)}
    return json.loads(json.dumps({**sweep.settings(), "runs": runs}))


def produced_by(command: str | None = None) -> dict[str, Any]:
    """The sgtk version and git commit, the library versions, the machine and the command."""
    import sys

    from sgtk.train.machine import machine, versions

    argv = command if command is not None else " ".join(sys.argv)
    return {**versions(), **machine(), "command": argv}


def write_sweep_file(sweep: Any, out_dir: Path) -> None:
    """sweep.json: the record of :func:`sweep_record`, and what produced it."""
    record = {**sweep_record(sweep), PRODUCED_BY: produced_by()}
    data = json.dumps(record, indent=1).encode()
    atomic_write_bytes(Path(out_dir) / SWEEP_FILE, data)


def _first_difference(a: dict[str, Any], b: dict[str, Any], skip=()) -> str | None:
    for key in sorted(set(a) | set(b)):
        if key not in skip and a.get(key, "absent") != b.get(key, "absent"):
            return key
    return None


def _shown(value: Any) -> str:
    return "absent" if value == "absent" else json.dumps(value)


def _defaults(sweep: Any) -> dict[str, Any]:
    """Each setting's default, as sweep.json would hold it: what a sweep.json written before
    that setting existed ran with."""
    import dataclasses

    values = {}
    for f in dataclasses.fields(sweep):
        if f.default is not dataclasses.MISSING:
            values[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            values[f.name] = f.default_factory()
    return json.loads(json.dumps(values))


def check_resume(sweep: Any, out_dir: Path) -> None:
    """A sweep is resumed with the settings it was started with (more runs may be added); a
    setting its sweep.json lacks (added to sgtk since) counts as that setting's default."""
    written = read_sweep_file(out_dir)
    if written is None:
        return
    now = sweep_record(sweep)
    saved = {**{k: v for k, v in _defaults(sweep).items() if k in now}, **written}
    key = _first_difference(saved, now, skip=("runs", PRODUCED_BY))
    if key is not None:
        was, wants = _shown(written.get(key, "absent")), _shown(now.get(key, "absent"))
        raise SgtkError(
            f"{out_dir} holds a sweep with other settings ({key}: {was} in its sweep.json, "
            f"{wants} now): resume with the same settings, or choose another `out_dir`"
        )


def check_same_sweep(dirs: list[Path]) -> None:
    """The folders are shards of one sweep per task: the same settings and runs, whatever
    their shard. One line names the first field that differs."""
    first: dict[str, tuple[Path, dict[str, Any]]] = {}
    for d in dirs:
        saved = read_sweep_file(d)
        if saved is None:
            raise SgtkError(
                f"{d} has no {SWEEP_FILE}, so merge cannot check it is a shard of the same "
                "sweep: rerun it with `resume` and its original settings to write one"
            )
        if saved["task"] not in first:
            first[saved["task"]] = (Path(d), saved)
            continue
        other, theirs = first[saved["task"]]
        key = _first_difference(theirs, saved, skip=("runs", PRODUCED_BY))
        runs_a, runs_b = theirs.get("runs") or {}, saved.get("runs") or {}
        if key is None and runs_a and runs_b:
            key = _first_difference(runs_a, runs_b, skip=("shard",))
            theirs, saved = runs_a, runs_b
        if key is not None:
            raise SgtkError(
                f"{other} and {d} are not shards of one sweep ({key}: "
                f"{_shown(theirs.get(key, 'absent'))} vs {_shown(saved.get(key, 'absent'))} in "
                "their sweep.json): merge only shards run with the same settings"
            )


def _same_results(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """The first field two rows of one run differ in, timing aside (NaN equals NaN)."""
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key, "absent"), b.get(key, "absent")
        both_nan = isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y)
        if key not in TIMING and x != y and not both_nan:
            return key
    return None


def read_rows(out_dirs: list[Path]) -> tuple[list[dict[str, Any]], dict[str, list[float]]]:
    """The finished runs' rows and curves under each ``DIR/runs``. A run found twice with the
    same results counts once; with different results it is refused, not dropped."""
    rows: dict[str, dict[str, Any]] = {}
    where: dict[str, Path] = {}
    curves: dict[str, list[float]] = {}
    for d in out_dirs:
        for done in sorted(Path(d).glob("runs/*/row.json")):
            row = read_row(done)
            name = row["name"]
            if name in rows:
                key = _same_results(rows[name], row)
                if key is not None:
                    raise SgtkError(
                        f"{where[name]} and {done} both hold run {name} with different results "
                        f"({key}): keep one of the two folders, then merge again"
                    )
                continue
            rows[name], where[name] = row, done
            curve = done.parent / "curve.json"
            if curve.exists():
                curves[name] = read_curve(curve)
    return list(rows.values()), curves
