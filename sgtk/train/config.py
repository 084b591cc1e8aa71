"""Run configuration: TOML defaults per task, overridden by command-line flags."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from sgtk.errors import SgtkError

MAX_CONFIG_BYTES = 1 << 20  # a config is a few lines; this stops /dev/zero or a wrong file


def read_toml(path: Path, field: str | None = "config") -> dict[str, Any]:
    """A TOML file, read once (a pipe cannot be read twice) and at most ``MAX_CONFIG_BYTES``.
    A problem is one line starting with ``field`` (a front end shows its flag, ``--config``)
    and the path; ``field=None`` says "TOML file" instead."""
    path = Path(path)
    what = field or "TOML file"

    def refuse(problem: str) -> SgtkError:
        return SgtkError(f"{what} {path} {problem}", field=field)

    if path.is_dir():
        raise refuse("is a directory, not a file: pass the file inside it")
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise refuse("does not exist: check the path") from None
    except OSError as e:
        raise refuse(f"cannot be read ({e.strerror or e}): check its permissions") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise refuse(
            f"is larger than {MAX_CONFIG_BYTES:,} bytes: a config is a few lines of TOML; "
            "check the path"
        )
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise refuse(f"is not UTF-8 text (bad byte at offset {e.start}): fix it") from None
    except tomllib.TOMLDecodeError as e:
        raise refuse(f"is not valid TOML ({e}): fix it") from None


def _shipped(name: str) -> dict[str, Any]:
    try:
        folder: Any = resources.files("sgtk.configs")
    except ModuleNotFoundError:  # a source checkout on sys.path, ahead of the installed copy
        folder = Path(__file__).resolve().parents[2] / "configs"
    resource = folder.joinpath(f"{name}.toml")
    if not resource.is_file():
        raise SgtkError(f"sgtk ships no configs/{name}.toml: reinstall sgtk")
    return tomllib.loads(resource.read_text(encoding="utf-8"))


def default_config(name: str) -> dict[str, Any]:
    """The shipped defaults ``configs/<name>.toml`` (installed as ``sgtk.configs``).

    A task's ``[train]`` table is laid over the shared ``configs/train.toml``, so each task
    file holds only what differs for it.
    """
    data = _shipped(name)
    if name != "train" and "task" in data:
        data["train"] = {**_shipped("train")["train"], **data.get("train", {})}
    return data


def _plain(value: Any) -> Any:
    """``value`` in TOML's types: ``None`` left out (TOML has no null), tuples as arrays,
    paths and other objects as strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def dumps_toml(data: dict[str, Any]) -> str:
    """TOML text of nested tables of scalars (``None`` is left out, as TOML has none); any
    string, newlines and quotes included, reads back with ``tomllib``."""
    import tomli_w

    return tomli_w.dumps(_plain(data))


def write_toml(path: Path, data: dict[str, Any]) -> None:
    from sgtk.io.files import atomic_write_bytes  # torch: not needed by `--help`

    atomic_write_bytes(Path(path), dumps_toml(data).encode())


def run_record(task_name: str, task_config: Any, train_config: Any, command: str) -> dict[str, Any]:
    """What a run's ``config.toml`` holds: a valid ``--config`` file that repeats the run.

    ``[task]`` and ``[train]`` are the resolved configs; ``[run]`` says what produced them
    (the task, the command line and the versions) and is ignored when read back.
    """
    import dataclasses
    import platform
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    run = {
        "task": task_name,
        "command": command,
        "sgtk": installed("sgtk"),
        "torch": installed("torch"),
        "torch_geometric": installed("torch-geometric"),
        "python": platform.python_version(),
    }
    as_dict = dataclasses.asdict if dataclasses.is_dataclass(task_config) else dict
    return {"run": run, "task": as_dict(task_config), "train": dataclasses.asdict(train_config)}


def did_you_mean(key: str, valid: Any) -> str:
    """``did you mean lr?`` for a near miss, else the list of valid keys."""
    import difflib

    close = difflib.get_close_matches(key, list(valid), n=1)
    return f"did you mean {close[0]}?" if close else f"valid keys are {', '.join(sorted(valid))}"


_TYPE_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _kinds(annotation: Any) -> tuple[type, ...]:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    names = [t.strip() for t in str(text).split("|")]
    return tuple(t for t in (int, float, bool, str) if t.__name__ in names)


def checked_values(cls: type, section: str, source: str, values: dict[str, Any]) -> Any:
    """``cls(**values)`` after checking every key and value type; a bad one is one line."""
    import dataclasses

    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise SgtkError(
            f"unknown key(s) {', '.join(unknown)} in [{section}] of {source}: "
            + did_you_mean(unknown[0], fields)
        )
    values = dict(values)
    for key, value in values.items():
        values[key], problem = checked_kind(fields[key].type, value)
        if problem:
            raise SgtkError(f"{key} = {value!r} in [{section}] of {source} {problem}")
    return cls(**values)


def checked_kind(annotation: Any, value: Any) -> tuple[Any, str | None]:
    """``(value, None)`` when ``value`` is of the annotated kind (an integer given for a
    number made a float), else ``(value, "must be an integer: fix the value")``. A
    ``list[...]`` is checked item by item; a kind not named here is not checked."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    text = str(text).replace(" ", "")
    if text.startswith("list[") and text.endswith("]") and value is not None:
        if not isinstance(value, list | tuple):
            return value, "must be a list, e.g. [1, 2]: fix the value"
        items = [checked_kind(text[5:-1], item) for item in value]
        bad = next((problem for _, problem in items if problem), None)
        return [item for item, _ in items], (f"holds a value that {bad}" if bad else None)
    if text.startswith("dict[") and text.endswith("]") and value is not None:
        if not isinstance(value, dict):
            return value, "must be a table, e.g. {rnn = 0.001}: fix the value"
        checked = {key: checked_kind(text[5:-1].split(",", 1)[-1], v) for key, v in value.items()}
        bad = next((problem for _, problem in checked.values() if problem), None)
        return {k: v for k, (v, _) in checked.items()}, (
            f"holds a value that {bad}" if bad else None
        )
    if text.startswith("tuple[") and text.endswith("]") and value is not None:
        parts = text[6:-1].split(",")
        if not isinstance(value, list | tuple) or len(value) != len(parts):
            return value, f"must be a list of {len(parts)} values: fix the value"
        items = [checked_kind(part, item) for part, item in zip(parts, value, strict=True)]
        bad = next((problem for _, problem in items if problem), None)
        return tuple(item for item, _ in items), (f"holds a value that {bad}" if bad else None)
    kinds = _kinds(text)
    if value is None or not kinds:
        return value, None
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        return (float(value) if kinds == (float,) else value), None  # `lr = 1` is 1.0
    if any(isinstance(value, k) and not (k is not bool and isinstance(value, bool)) for k in kinds):
        return value, None
    if int in kinds and isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        # TOML reads 1e3 and 1000.0 as decimals: say what to write instead
        return value, f"is not a whole number as written: write {int(value)}"
    return value, f"must be {' or '.join(_TYPE_NAMES[k] for k in kinds)}: fix the value"


def read_config_file(path: Path, task: str) -> dict[str, Any]:
    """A ``--config`` file for ``task``: tables ``[task]``/``[train]``, an optional ``[run]``."""
    data = read_toml(path)
    for name, value in data.items():
        if not isinstance(value, dict):
            raise SgtkError(
                f"{path}: `{name} = ...` must be a table such as [task] or [train]: "
                "see a run's config.toml for the layout"
            )
    unknown = sorted(set(data) - {"run", "task", "train"})
    if unknown:
        raise SgtkError(
            f"{path} has unknown table(s) [{'], ['.join(unknown)}]: use [task] and [train]"
        )
    written_for = data.get("run", {}).get("task")
    if written_for is not None and written_for != task:
        raise SgtkError(
            f"{path} is a {written_for!r} config, not {task!r}: "
            f"use it with `sgtk train {written_for}`"
        )
    return data
