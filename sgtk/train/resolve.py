"""One config resolver for every front end (``sgtk train``, ``Sweep``, Python).

Layers, each over the one before: the shipped ``configs/<task>.toml`` (its ``[train]`` over
``configs/train.toml``), a config file (``--config``, or a run's own record on resume), the
values given (``None``: not given), then ``section.key=value`` overrides. Every key is checked
against the config classes: an unknown one is one line with the closest key, a value of the
wrong kind one line naming it. Imports no torch.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sgtk.errors import ConfigError, SgtkError
from sgtk.train.config import (
    checked_kind,
    checked_values,
    default_config,
    did_you_mean,
    read_config_file,
)
from sgtk.train.train_config import TrainConfig

SECTIONS = ("task", "train")
Layer = Mapping[str, Mapping[str, Any]]  # {"task": {...}, "train": {...}}


@dataclass(frozen=True)
class Resolved:
    """The typed configs, and the keys (``"task.hidden"``) set above the shipped defaults."""

    task: Any
    train: TrainConfig
    given: frozenset[str]

    def given_keys(self) -> set[str]:
        """The bare names given (``{"hidden", "batch_size"}``), as the budget probe takes."""
        return {key.split(".", 1)[1] for key in self.given}


class TaskLike(Protocol):
    """What the resolver needs of a task: its name (``configs/<name>.toml``) and its config
    class. ``sgtk.tasks.registry.TaskSpec`` is one (this layer may not import it)."""

    @property
    def name(self) -> str: ...

    def config_class(self) -> type: ...


def config_classes(task: TaskLike) -> dict[str, type]:
    return {"task": task.config_class(), "train": TrainConfig}


def _value(raw: str, f: dataclasses.Field | None = None) -> Any:
    """A TOML value (``0.1``, ``true``, ``"a b"``, ``[1, 2]``); else the bare text as a string,
    or for a list field a comma-separated list (``0.5,1,2``)."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        pass
    return _listed(f, raw) if f is not None and str(f.type).startswith("list") else raw


def _listed(f: dataclasses.Field, raw: str) -> list[Any]:
    """``"0.5,1,2"`` -> ``[0.5, 1.0, 2.0]`` for a ``list[float]`` field, one line naming a
    bad item."""
    items = [item.strip() for item in raw.split(",")]
    if "float" not in str(f.type):
        return items
    try:
        return [float(item) for item in items]
    except ValueError:
        bad = next(item for item in items if not _is_number(item))
        raise ConfigError(
            f.name,
            f"{f.name} {raw}: {bad!r} is not a number; pass numbers separated by commas, "
            "e.g. 0.5,1,2",
        ) from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _as_given(cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values given (``None`` dropped), a comma-separated string for a list field split."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    return {
        key: _listed(fields[key], value)
        if key in fields and isinstance(value, str) and str(fields[key].type).startswith("list")
        else value
        for key, value in values.items()
        if value is not None
    }


def parse_overrides(
    items: Iterable[str], classes: Mapping[str, type], source: str = "overrides"
) -> dict[str, dict[str, Any]]:
    """``["train.weight_decay=0.1"]`` -> ``{"train": {"weight_decay": 0.1}, "task": {}}``."""
    fields = {
        f"{section}.{f.name}": f
        for section, cls in classes.items()
        for f in dataclasses.fields(cls)
    }
    parsed: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    for item in items:
        key, equals, raw = item.partition("=")
        key = key.strip()
        if not equals or "." not in key:
            raise SgtkError(
                f"{item!r} in {source} is not section.key=value: e.g. train.weight_decay=0.1"
            )
        if key not in fields:
            section = key.split(".", 1)[0]
            if section not in SECTIONS:
                raise SgtkError(
                    f"unknown section {section} in {source} ({item}): use task.KEY or train.KEY"
                )
            raise SgtkError(f"unknown key {key} in {source}: {did_you_mean(key, fields)}")
        section, name = key.split(".", 1)
        value, problem = checked_kind(fields[key].type, _value(raw.strip(), fields[key]))
        if problem:  # named as written: the user typed train.steps=1e3, not steps = 1000.0
            raise SgtkError(f"{key}={raw.strip()} in {source} {problem}")
        parsed[section][name] = value
    return parsed


def _validated(made: Mapping[str, Any], overridden: Mapping[str, Mapping[str, Any]], source: str):
    """A value out of range that came from ``overrides`` is one line naming it as written
    (``train.lr nan ... in --set``), not as the flag a front end would name."""
    for section, config in made.items():
        try:
            config.validate()
        except ConfigError as e:
            if e.field not in overridden[section]:
                continue  # the front end's own validate() names it as its flag
            field = e.field or ""
            written = f"{section}.{field}"
            message = str(e)
            if message.startswith(field):
                message = written + message[len(field) :]
            else:
                message = f"{written}: {message}"
            raise SgtkError(f"{message} (in {source})") from None


def _file_layer(config: Path | str | Layer | None, task: str) -> tuple[Layer, str]:
    if config is None:
        return {}, ""
    if isinstance(config, Mapping):
        return config, "the run's own config"
    return read_config_file(Path(config), task), str(config)


def resolve_layers(
    task: TaskLike,
    config: Path | str | Layer | None = None,
    task_values: Mapping[str, Any] | None = None,
    train_values: Mapping[str, Any] | None = None,
    overrides: Iterable[str] = (),
    source: str = "overrides",
) -> Resolved:
    """The configs of ``task``: shipped defaults <- ``config`` (a TOML file, or tables already
    read) <- the values given (``None`` skipped) <- ``overrides`` (``section.key=value``;
    ``source`` names them in messages, e.g. ``--set``)."""
    classes = config_classes(task)
    shipped = default_config(task.name)
    file, file_source = _file_layer(config, task.name)
    given_values = {"task": dict(task_values or {}), "train": dict(train_values or {})}
    overridden = parse_overrides(overrides, classes, source)
    made: dict[str, Any] = {}
    given: set[str] = set()
    for section, cls in classes.items():
        values = dict(shipped.get(section, {}))
        where = f"configs/{task.name}.toml"
        layers = (
            (file.get(section, {}), file_source),
            (_as_given(cls, given_values[section]), "the values"),
            (overridden[section], source),
        )
        for layer, layer_source in layers:
            if layer:
                # each layer checked on its own, so a message names the layer that is wrong
                checked_values(cls, section, layer_source, {**values, **layer})
                values.update(layer)
                given |= {f"{section}.{key}" for key in layer}
        made[section] = checked_values(cls, section, where, values)
    if any(overridden.values()):
        _validated(made, overridden, source)
    return Resolved(made["task"], made["train"], frozenset(given))


def resolve(
    task: TaskLike,
    config: Path | str | Layer | None = None,
    task_values: Mapping[str, Any] | None = None,
    train_values: Mapping[str, Any] | None = None,
    overrides: Iterable[str] = (),
    source: str = "overrides",
) -> tuple[Any, TrainConfig]:
    """``(task config, TrainConfig)`` for ``task``, layered as ``resolve_layers`` says.

    >>> from sgtk.tasks.registry import get_task
    >>> cfg, train = resolve(get_task("palindrome"), overrides=["train.lr=0.01", "task.length=7"])
    >>> (cfg.length, train.lr)
    (7, 0.01)
    """
    resolved = resolve_layers(task, config, task_values, train_values, overrides, source)
    return resolved.task, resolved.train
