"""What every `sgtk train TASK` shares: the run itself, from parsed values to the summary."""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from sgtk.errors import SgtkError
from sgtk_cli.common import default_run_dir, err, out, print_json, summary_table
from sgtk_cli.progress import RichProgress, progress_for
from sgtk_cli.tables import show_table
from sgtk_cli.train_launch import check_devices, command_line, launch_torchrun


@dataclass
class TrainRequest:
    """One `sgtk train TASK` as parsed: the values given (None: not given) and the command."""

    task: str
    task_values: dict[str, Any]
    train_values: dict[str, Any]
    run: dict[str, Any]
    ctx: typer.Context  # for the command line recorded in config.toml


def run_folder(request: TrainRequest) -> Path | None:
    """``--out``; under ``--resume`` without it, the newest unfinished run of the task."""
    from sgtk.train.resume_rules import newest_run

    given, resume = request.run["out_dir"], request.run["resume"]
    if given is not None or not resume:
        return given
    found = newest_run(request.task, "runs")
    if found is None:
        raise SgtkError(
            f"--resume without --out: runs/ holds no unfinished {request.task} run; "
            "pass --out RUN_DIR"
        )
    err.print(f"resuming {found} (the newest unfinished {request.task} run)")
    return found


def train(request: TrainRequest) -> dict:
    """Resolve the configs, build the task and the Trainer, run it under a progress bar,
    print the table (or the JSON line)."""
    from sgtk.tasks.registry import get_task
    from sgtk.train.resolve import resolve_layers
    from sgtk.train.resume_rules import edited_keys, run_layers

    run = request.run
    spec = get_task(request.task)
    out_dir = run_folder(request)
    layer: Any = run["config"]
    if run["resume"] and layer is None and out_dir is not None:
        layer = run_layers(out_dir, request.task)  # a resumed run keeps its own settings
        edited = edited_keys(out_dir, layer) if layer is not None else []
        if edited:
            err.print(
                f"note: {out_dir}/config.toml was edited ({', '.join(edited)}): a resume keeps "
                "the run's own settings, so pass a change as a flag or --set"
            )
    values = {k: str(v) if isinstance(v, Path) else v for k, v in request.task_values.items()}
    resolved = resolve_layers(
        spec, layer, values, request.train_values, run["overrides"] or (), "--set"
    )
    cfg, train_cfg = resolved.task, resolved.train
    train_cfg.validate()  # --print-config prints only a config that would run
    cfg.validate()
    check_devices(run["devices"], train_cfg.device)
    if run["devices"] > 1 and "WORLD_SIZE" not in os.environ:
        launch_torchrun(run["devices"])
    if run["print_config"]:
        from sgtk.train.config import dumps_toml

        tables = {"task": dataclasses.asdict(cfg), "train": dataclasses.asdict(train_cfg)}
        sys.stdout.write(dumps_toml(tables))
        raise typer.Exit(0)
    if run["resume"] and out_dir is not None:
        from sgtk.train.resume_rules import check_same_task

        check_same_task(out_dir, request.task, cfg)
    task = spec.task_class()(cfg)
    given = frozenset(resolved.given_keys())  # what a budget fit keeps (Task.fit_to_budget)
    return _fit(request, task, train_cfg, out_dir, spec, given)


def _fit(request: TrainRequest, task, train_cfg, out_dir, spec, given) -> dict:
    """The Trainer, as from Python, with the CLI's progress display and summary."""
    from sgtk.train.trainer import Trainer

    model = task.model_config().get("model", "")
    run_dir = out_dir or default_run_dir(request.task, model)
    is_main = int(os.environ.get("RANK", "0")) == 0
    # A redrawn bar on a terminal; plain lines in a log or a pipe; nothing on other ranks.
    show = ("loss", spec.headline.removeprefix("test_"))
    progress = progress_for(f"{request.task} {model}", err, show, train_cfg.max_time)
    trainer = Trainer(
        task,
        train_cfg,
        run_dir,
        callbacks=[progress] if is_main else [],
        command=command_line(request.ctx),
        progress=is_main,
        given=given,
    )
    try:
        result = trainer.fit(resume=request.run["resume"])
    finally:
        if isinstance(progress, RichProgress):
            progress.stop()
    if not is_main:
        return result
    if request.run["as_json"]:
        print_json(result)
    else:
        show_table(summary_table(f"{request.task} · {model}", result), out)
    return result
