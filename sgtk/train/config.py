"""Run configuration: TOML defaults per task, overridden by command-line flags."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from sgtk.errors import SgtkError
from sgtk.train.checkpoint import atomic_write_bytes


def read_toml(path: Path) -> dict[str, Any]:
    from sgtk.data.io import check_readable  # a directory or an unreadable file: one line

    path = check_readable(path, "--config")
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise SgtkError(f"config file {path} does not exist: check the --config path") from None
    except tomllib.TOMLDecodeError as e:
        raise SgtkError(f"config file {path} is not valid TOML ({e}): fix it") from None


def default_config(name: str) -> dict[str, Any]:
    """The shipped defaults ``configs/<name>.toml`` (installed as ``sgtk.configs``)."""
    resource = resources.files("sgtk.configs").joinpath(f"{name}.toml")
    if not resource.is_file():
        raise SgtkError(f"sgtk ships no configs/{name}.toml: reinstall sgtk")
    return tomllib.loads(resource.read_text(encoding="utf-8"))


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def dumps_toml(data: dict[str, Any]) -> str:
    """A small TOML writer for flat tables of scalars (``None`` is left out, as TOML has none)."""
    top = [
        f"{k} = {_value(v)}" for k, v in data.items() if v is not None and not isinstance(v, dict)
    ]
    tables = [f"\n[{k}]\n" + dumps_toml(v) for k, v in data.items() if isinstance(v, dict)]
    return "\n".join(top) + ("\n" if top else "") + "".join(tables)


def write_toml(path: Path, data: dict[str, Any]) -> None:
    atomic_write_bytes(Path(path), dumps_toml(data).encode())
