"""What ``--help`` shows: option panels, the resolved defaults, choices and examples.

The commands declare their options once, with ``None`` meaning "take it from the config".
This module fills in, from the shipped ``configs/<task>.toml`` and the model registry, what
each option defaults to and may be, so the help can never disagree with what a run uses. It
imports no torch, so ``sgtk --help`` starts fast.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from sgtk import choices
from sgtk.tasks.registry import models_for
from sgtk.train.config import default_config

TASK, MODEL, OPTIM, RUN, OUTPUT = "Task", "Model", "Optimisation", "Run", "Output"
PANELS = {
    MODEL: (
        "model hidden layers readout init pos_dim embed dropout graph one_hot "
        "carry_state params tune_lr"
    ),
    OPTIM: (
        "steps batch_size lr optimizer momentum weight_decay max_norm lr_schedule lr_decay "
        "lr_step max_time max_cpu_time target seed compile_"
    ),
    RUN: (
        "device devices eval_every checkpoint_every checkpoint_minutes resume config shard "
        "threads jobs protocol"
    ),
    OUTPUT: (
        "out_dir as_json logger print_config sample_every sample_count sample_tau sample_length"
    ),
}
PANEL_OF = {name: panel for panel, names in PANELS.items() for name in names.split()}

CHOICES: dict[str, tuple[str, ...]] = {
    "optimizer": choices.OPTIMIZERS,
    "lr_schedule": choices.SCHEDULES,
    "readout": choices.READOUTS,
    "init": choices.INITS,
    "logger": choices.LOGGERS,
}

EXAMPLES = {
    "train palindrome": [
        "sgtk train palindrome --model lstm --length 20",
        "sgtk train palindrome --model gcn --layers 4 --length 6 --json",
        "sgtk train palindrome --config runs/A/config.toml --out runs/B",
    ],
    "train text": [
        "sgtk train text --data ../shared/data/tinyshakespeare.txt --max-time 75",
        "sgtk train text --data notes.txt.gz --model gcn --layers 8",
        "sgtk train text --corpus tinyshakespeare --print-config",
    ],
    "train molecules": [
        "sgtk train molecules --model gcn",
        "sgtk train molecules --data mols.csv --smiles-col smiles --target-col y",
        "sgtk train molecules --dataset freesolv --model lstm --seed 1",
    ],
    "generate": [
        'sgtk generate --prefix "I am your" --tau 2',
        'sgtk generate --prefix "ROMEO:" --tau 0.5,1,2 --seed 1',
        "sgtk generate --checkpoint runs/shakespeare --length 400",
    ],
    "compare rnn-vs-gcn": [
        "sgtk compare rnn-vs-gcn",
        "sgtk compare rnn-vs-gcn --lengths 6,10 --seeds 2 --layers auto",
        "sgtk compare rnn-vs-gcn --task text --data ../shared/data/tinyshakespeare.txt",
    ],
    "bench": ["sgtk bench --quick", "sgtk bench --json --plot"],
    "predict molecules": [
        'sgtk predict molecules --checkpoint runs/M --smiles "CCO" "c1ccccc1O"',
        "sgtk predict molecules --checkpoint runs/M --data mols.csv --out preds.csv",
    ],
    "export": ["sgtk export runs/M --out exported/"],
    "models": ["sgtk models", "sgtk models --task molecules --json"],
    "plot run": ["sgtk plot run runs/A runs/B --out curves.png"],
    "plot grads": ["sgtk plot grads --length 100 --trained"],
}


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _examples(name: str) -> str:
    lines = EXAMPLES.get(name)
    if not lines:
        return ""
    return "[bold]Examples[/]\n\n" + "\n\n".join(f"  [cyan]{line}[/]" for line in lines)


def annotate(command: Any, path: tuple[str, ...] = ()) -> Any:
    """Walk the click command tree and fill in panels, defaults, choices and examples."""
    _flag_help_option(command)
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for param in command.params:  # the group's own: --version, --install-completion
            if getattr(param, "is_flag", False):
                param.display_type_rich = _no_type
        for name, sub in subcommands.items():
            annotate(sub, (*path, name))
        return command
    name = path[-1] if path else ""
    task = name if path[:1] == ("train",) else None
    defaults: dict[str, Any] = {}
    if task is not None:
        config = default_config(task)
        defaults = {**config.get("train", {}), **config.get("task", {})}
    if not command.epilog and "Examples" not in (command.help or ""):
        command.epilog = _examples(" ".join(path))
    for param in command.params:
        if param.help:  # help is rich markup: a literal [5,10] must not read as a tag
            param.help = escape(param.help)
        if getattr(param, "is_flag", False):
            # A flag takes no value: `--resume <bool>` would read as if it did.
            param.display_type_rich = _no_type
        elif getattr(param, "multiple", False):  # `--set <list[str]>`: show what one takes
            param.display_type_rich = _shown_type(f"<{param.metavar or 'value'}> ...")
        elif param.nargs == -1:  # an argument taking many: its name says what (`SMILES`)
            param.display_type_rich = _no_type
        if getattr(param, "rich_help_panel", None) is None and param.name in PANEL_OF:
            param.rich_help_panel = PANEL_OF[param.name]
        elif getattr(param, "rich_help_panel", None) is None and task is not None:
            param.rich_help_panel = TASK
        key = "compile" if param.name == "compile_" else param.name
        if param.default is None and key in defaults:
            param.show_default = _shown(defaults[key])
        allowed = models_for(task) if key == "model" and task else None
        if task is not None and key != "model":
            allowed = CHOICES.get(key)
        listed = allowed and param.help and all(a in param.help for a in allowed)
        if allowed and param.help and "Choices:" not in param.help and not listed:
            param.help = f"{param.help} Choices: {', '.join(allowed)}."
        if allowed:
            param._custom_shell_complete = _completer(tuple(allowed))
    return command


def _no_type(ctx: Any) -> None:
    return None


def _shown_type(text: str) -> Any:
    return lambda ctx: text


def _flag_help_option(command: Any) -> None:
    """``--help`` is made at display time: shown as a flag too, not ``--help <bool>``."""
    make = command.get_help_option

    def get_help_option(ctx: Any) -> Any:
        option = make(ctx)
        if option is not None:
            option.display_type_rich = _no_type
        return option

    command.get_help_option = get_help_option


def _completer(allowed: tuple[str, ...]) -> Any:
    """Shell completion of an option's values (``--optimizer <TAB>``) from its choices."""

    def complete(ctx: Any, param: Any, incomplete: str) -> list[str]:
        return [a for a in allowed if a.startswith(incomplete)]

    return complete
