"""`sgtk train TASK`: one command per row of the task registry.

A command's options come from its config dataclasses: every field whose metadata has a
``help`` is a flag (``flag``, ``short`` and ``negative`` name it, the last with or without
its dashes; ``panel`` places it in ``--help``); the rest are reached with
``--set section.key=value``. Nothing here imports torch, so ``--help`` stays fast.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any

import typer

from sgtk.tasks.registry import TASK_REGISTRY, TaskSpec
from sgtk.train.train_config import TrainConfig
from sgtk_cli.common import flag_of, guarded
from sgtk_cli.run_options import RUN_OPTIONS
from sgtk_cli.train_run import TrainRequest, train

app = typer.Typer(
    help=f"Train a model on a task ({', '.join(TASK_REGISTRY)}).", no_args_is_help=True
)

_TYPES: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool}


def _cli_type(f: dataclasses.Field) -> type:
    """The option's type: the field's own, ``str`` for a list (``0.5,1,2``), ``Path`` for a
    path; ``X | None`` is ``X``, since every option defaults to None (take the config's)."""
    text = str(f.type)
    if f.metadata.get("path"):
        return Path
    if text.startswith("list"):
        return str
    return _TYPES[text.split("|")[0].strip()]


def field_options(cls: type) -> list[tuple[dataclasses.Field, inspect.Parameter]]:
    """The fields of ``cls`` that are flags, each with its keyword parameter for Typer."""
    made = []
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if "help" not in meta:
            continue
        names = [flag_of(f)]
        kind = _cli_type(f)
        if kind is bool:
            negative = meta.get("negative") or "no-" + names[0][2:]
            names = [f"{names[0]}/--{negative.removeprefix('--')}"]
        if meta.get("short"):
            names.append(meta["short"])
        option = typer.Option(None, *names, help=meta["help"], rich_help_panel=meta.get("panel"))
        kw = inspect.Parameter.KEYWORD_ONLY
        made.append((f, inspect.Parameter(f.name, kw, default=option, annotation=kind | None)))
    return made


def make_command(spec: TaskSpec) -> Any:
    task_fields = field_options(spec.config_class())
    train_fields = field_options(TrainConfig)
    flags = {f.name: flag_of(f) for f, _ in task_fields + train_fields}
    flags |= {p.name: p.default.param_decls[0] for p in RUN_OPTIONS}  # config: --config
    flags["run_dir"] = flags["out_dir"]  # what the library (the Trainer) names a run's folder

    def command(ctx: typer.Context, **params: Any) -> None:
        request = TrainRequest(
            task=spec.name,
            task_values={f.name: params[f.name] for f, _ in task_fields},
            train_values={f.name: params[f.name] for f, _ in train_fields},
            run={p.name: params[p.name] for p in RUN_OPTIONS},
            ctx=ctx,
        )
        guarded(lambda: train(request), flags)

    context = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    context = context.replace(annotation=typer.Context)
    parameters = [p for _, p in task_fields + train_fields] + RUN_OPTIONS
    command.__signature__ = inspect.Signature([context, *parameters])  # type: ignore[attr-defined]
    command.__doc__ = spec.summary[:1].upper() + spec.summary[1:] + "."
    command.__name__ = spec.name
    return command


for _spec in TASK_REGISTRY.values():
    app.command(_spec.name)(make_command(_spec))
