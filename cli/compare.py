"""`sgtk compare rnn-vs-gcn` and `sgtk compare merge`: parse, call sgtk.experiments, render."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer

from sgtk.experiments.sweep import defaults_help as dflt
from sgtk.tasks.registry import TASK_NAMES
from sgtk_cli.common import guarded, out
from sgtk_cli.compare_args import command_flags, parse_list, parse_shard
from sgtk_cli.compare_show import render, run_one

app = typer.Typer(help="Compare recurrent and graph models on the same data.", no_args_is_help=True)


Opt = typer.Option
PROTOCOL_HELP = (
    "fair (choose on val) or assignment (Xavier, scalar inputs, RMSProp, 10,000 steps, "
    "last step reported)."
)
CARRY_HELP = "Text: carry the LSTM state across val windows."


@app.command("rnn-vs-gcn")
def rnn_vs_gcn(
    task: str = Opt(TASK_NAMES[0], "--task", help=f"{', '.join(TASK_NAMES)} or all."),
    config: Path = Opt(None, "--config", help="A TOML of compare.toml's tables, over its values."),
    lengths: str = Opt(None, "--lengths", help=f"Sequence lengths T. {dflt('lengths')}"),
    models: str = Opt(None, "--models", help=f"Models, or model@graph. {dflt('models')}"),
    graph: str = Opt(
        None, "--graph", help="Graph models' graph: path, window:K, dilated, complete."
    ),
    layers: str = Opt(None, "--layers", help=f"Depths k, or auto (reach). {dflt('layers')}"),
    seeds: int = Opt(None, "--seeds", help=f"Seeds per configuration. {dflt('seeds')}"),
    steps: int = Opt(None, "--steps", help=f"Step budget of every run. {dflt('steps')}"),
    max_time: float = Opt(None, "--max-time", help="Time budget of every run (s)."),
    max_cpu_time: float = Opt(
        None, "--max-cpu-time", help="CPU-time budget of every run (s), whatever the load."
    ),
    params: int = Opt(None, "--params", help=f"Parameter budget (±10 %). {dflt('params')}"),
    threads: int = Opt(None, "--threads", help=f"Threads per run; 0: torch's. {dflt('threads')}"),
    jobs: int = Opt(None, "--jobs", help=f"Runs side by side; 0: one per core. {dflt('jobs')}"),
    tune_lr: str = Opt(None, "--tune-lr", help="Pick each model's LR on val, e.g. 3e-4,1e-3."),
    init: str = Opt(None, "--init", help="Recurrent init: auto (orthogonal/chrono) or xavier."),
    protocol: str = Opt(None, "--protocol", help=PROTOCOL_HELP),
    carry_state: bool = Opt(None, "--carry-state/--no-carry-state", help=CARRY_HELP),
    data: Path = Opt(None, "--data", help="The task's data: a text file or a molecule CSV."),
    text_data: Path = Opt(None, "--text-data", help="Text file [tinyshakespeare corpus]."),
    molecule_data: Path = Opt(None, "--molecule-data", help="Molecule CSV [nci-tpsa]."),
    target_col: str = Opt(None, "--target-col", help=f"CSV target column. {dflt('target_col')}"),
    sets: list[str] = Opt(None, "--set", help="key=value or task.key=value, last (repeatable)."),
    shard: str = Opt(None, "--shard", help="Run every N-th run, from the I-th: I/N."),
    resume: bool = Opt(False, "--resume", help="Skip finished runs in --out."),
    out_dir: Path = Opt(Path("runs/compare"), "--out", help="Output directory."),
) -> None:
    """Train recurrent and graph models on matched budgets; write tables, results, plots and
    report.md. Defaults come from configs/compare.toml, then --config, then the flags.

    Examples:

      sgtk compare rnn-vs-gcn --lengths 6,10 --seeds 2

      sgtk compare rnn-vs-gcn --models lstm,gcn,gcn@dilated,transformer --layers auto

      sgtk compare rnn-vs-gcn --config my_compare.toml --task text --data input.txt
    """
    from sgtk.experiments.compare import ALL, make_sweeps, prepare
    from sgtk.experiments.report import write_report

    def go():
        sweeps = make_sweeps(
            task, config, data, sets or (), seeds=seeds, steps=steps, init=init, jobs=jobs,
            carry_state=carry_state, max_time=max_time, max_cpu_time=max_cpu_time,
            threads=threads, protocol=protocol,
            tune_lr=parse_list(tune_lr, "--tune-lr", float),
            shard=parse_shard(shard) if shard else None,
            text_data=str(text_data) if text_data else None,
            molecule_data=str(molecule_data) if molecule_data else None, target_col=target_col,
            models=None if models is None else [m.strip() for m in models.split(",") if m.strip()],
            lengths=parse_list(lengths, "--lengths"), params=params, graph=graph,
            layers=parse_list(layers, "--layers", allow=("auto",)),
        )  # fmt: skip
        where = [out_dir / s.task if task == ALL else out_dir for s in sweeps]
        runners = [prepare(s, w, resume) for s, w in zip(sweeps, where, strict=True)]
        outcomes = [run_one(runner) for runner in runners]
        command = "sgtk " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        out.print(f"report: {write_report(out_dir, outcomes, command)}")

    guarded(go, FLAGS)


# The library names compare's settings as Sweep does: `models`, `shard`, `out`, `overrides`.
FLAGS = command_flags(rnn_vs_gcn, out="--out", overrides="--set")


@app.command("merge")
def merge(
    dirs: list[Path] = typer.Argument(..., help="compare --out folders (shards) to merge."),
    out_dir: Path = Opt(..., "--out", help="Where the merged results go."),
) -> None:
    """Rebuild tables, results.json/csv and plots from several sweeps' run folders.

    Example: sgtk compare merge runs/shard0 runs/shard1 --out runs/compare
    """
    from sgtk.experiments.report import merge as merge_dirs

    def go():
        for outcome in merge_dirs(dirs, out_dir):
            render(outcome)

    guarded(go, FLAGS)
