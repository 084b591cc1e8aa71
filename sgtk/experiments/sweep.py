"""A compare sweep: its settings, read from configs/compare.toml (their one source), and the
typed runs (:class:`RunSpec`) they make. Which task, model or protocol a run is, it asks the
registries; nothing here tests a name."""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sgtk.errors import SgtkError
from sgtk.experiments.protocols import Protocol, get_protocol
from sgtk.experiments.run_spec import RunSpec, auto_depth, has_depth, parse_entry, run_name
from sgtk.tasks.registry import TASK_REGISTRY, TaskSpec, get_task
from sgtk.train.config import default_config, read_toml

INITS = ("auto", "xavier")


def compare_defaults() -> dict[str, dict[str, Any]]:
    """configs/compare.toml: one table of sweep settings per task."""
    return default_config("compare")


def defaults_help(key: str) -> str:
    """What ``--help`` shows as ``key``'s default, read from compare.toml: one value, or each
    task's (``palindrome 3, text 2, molecules 3``)."""
    shown = {
        task: ",".join(map(str, v)) if isinstance(v, list) else str(v)
        for task, table in compare_defaults().items()
        if isinstance(table, dict) and (v := table.get(key)) is not None
    }
    if not shown:
        return ""
    if len(set(shown.values())) == 1 and len(shown) == len(TASK_REGISTRY):
        return f"Default: {next(iter(shown.values()))}."
    return "Default: " + ", ".join(f"{t} {v}" for t, v in shown.items()) + "."


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _unknown_keys(keys: set[str], valid: set[str], where: str) -> None:
    if not keys:
        return
    hints = []
    for key in sorted(keys):
        close = difflib.get_close_matches(key, valid, n=1)
        hints.append(f"{key} (did you mean {close[0]}?)" if close else key)
    raise SgtkError(
        f"unknown key(s) {', '.join(hints)} in {where}: valid keys are {', '.join(sorted(valid))}"
    )


@dataclass(kw_only=True)
class Sweep:
    """One task's sweep. ``Sweep.from_config(task, **flags)`` fills it from compare.toml.

    The settings every task's table sets have no default here: compare.toml is their one
    source. Those only some tasks set default to what the others run with."""

    task: str
    models: list[str]  # names, or name@graph (gcn@dilated)
    layers: list[int | str]  # and "auto": auto_depth()
    seeds: int
    params: int
    steps: int
    batch_size: int
    eval_every: int
    patience: int
    threads: int  # torch intra-op threads for the sweep; 0: torch's default
    jobs: int  # runs side by side, one process each; 0: one per core (1 on a GPU)
    pilot_steps: int
    lengths: list[int] = field(default_factory=list)  # tasks swept by length only
    graph: str = "auto"  # the graph of every entry without @graph; auto: each model's own
    target: float | None = None
    min_delta: float = 0.0  # a val loss gain under this fraction does not reset the patience
    unreachable_steps: int = 0  # steps of a fixed k that cannot reach the first digit; 0: steps
    lr: dict[str, float] = field(default_factory=dict)
    tune_lr: list[float] = field(default_factory=list)
    init: str = "auto"
    protocol: str = "fair"  # a name in sgtk.experiments.protocols.PROTOCOLS
    text_data: str | None = None
    molecule_data: str | None = None
    target_col: str = "expt"
    smiles_col: str = "smiles"
    carry_state: bool = False
    max_time: float | None = None  # seconds per run, on top of the step budget
    max_cpu_time: float | None = None  # CPU seconds per run: a budget load does not shrink
    shard: tuple[int, int] = (0, 1)

    @classmethod
    def from_config(
        cls,
        task: str,
        config: Path | str | dict[str, Any] | None = None,
        overrides: list[str] | tuple[str, ...] = (),
        **flags: Any,
    ) -> Sweep:
        """compare.toml's table for ``task``, under ``config`` (a file shaped like
        compare.toml, or with its tables under ``[compare]``; or the tables read), the
        protocol's settings, ``flags`` (None: not given), then ``overrides``
        (``key=value`` or ``<task>.key=value``, ``--set``). An unknown key is one line with
        the closest valid one."""
        get_task(task)
        values = copy.deepcopy(compare_defaults().get(task, {}))
        names = {f.name for f in dataclasses.fields(cls)} - {"task"}
        if config is not None:
            where = "the `config` tables" if isinstance(config, dict) else f"`config` {config}"
            tables = config if isinstance(config, dict) else read_toml(Path(config))
            if isinstance(tables.get("compare"), dict):  # a [compare.<task>] section
                tables = tables["compare"]
            _unknown_keys(set(tables) - set(TASK_REGISTRY), set(TASK_REGISTRY), where)
            layer = tables.get(task, {})
            _unknown_keys(set(layer) - names, names, f"[{task}] of {where}")
            values.update(_checked(layer, f"in [{task}] of {where}"))
        set_here = parse_overrides(overrides, task, names)
        values.update(set_here)
        protocol = set_here.get("protocol") or flags.get("protocol") or values.get("protocol")
        protocol = protocol or "fair"
        values.update(get_protocol(protocol, task).sweep_values)
        values.update(_checked({k: v for k, v in flags.items() if v is not None}, "given"))
        values.update(set_here)  # --set is the last word, over the protocol's and the flags
        _unknown_keys(set(values) - names, names, f"[{task}] of compare.toml")
        required = {f.name for f in dataclasses.fields(cls) if _required(f)} - {"task"}
        if required - set(values):
            raise SgtkError(
                f"configs/compare.toml sets no {', '.join(sorted(required - set(values)))} for "
                f"{task}: add them to its [{task}] table (every task's table sets them)"
            )
        sweep = cls(task=task, **values)
        sweep.validate()
        return sweep

    @property
    def spec(self) -> TaskSpec:
        return get_task(self.task)

    @property
    def rules(self) -> Protocol:
        """The protocol object its runs are trained and read under."""
        return get_protocol(self.protocol, self.task)

    def validate(self) -> None:
        if not self.models:
            raise SgtkError("`models` is empty: name at least one model, e.g. rnn,gcn")
        self.entries()  # every model and graph known to the registry, else one line
        for name, value in (("threads", self.threads), ("jobs", self.jobs)):
            if value < 0:
                raise SgtkError(f"`{name}` {value} must be >= 0 (0: the default)")
        if self.unreachable_steps < 0 or not self.min_delta >= 0:
            raise SgtkError("`unreachable_steps` and `min_delta` in compare.toml must be >= 0")
        for name in ("max_time", "max_cpu_time"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise SgtkError(f"`{name}` {value} must be positive seconds")
        by_length = [t for t, s in TASK_REGISTRY.items() if s.by_length]
        if self.spec.by_length:
            if not self.lengths:
                raise SgtkError("`lengths` is empty: give at least one length, e.g. 5,10")
            if any(t < 3 for t in self.lengths):
                raise SgtkError(f"every {self.task} length must be >= 3 (check `lengths`)")
        if not self.layers or any(
            k != "auto" and (not isinstance(k, int) or k < 1) for k in self.layers
        ):
            raise SgtkError("`layers` needs positive layer counts or auto, e.g. 2,4,auto")
        if "auto" in self.layers and not self.spec.by_length:
            raise SgtkError(
                f"`layers` auto (k = T-2) applies to {', '.join(by_length)} only: give layer counts"
            )
        for name, value in (("seeds", self.seeds), ("params", self.params)):
            if value < 1:
                raise SgtkError(f"`{name}` {value} must be at least 1")
        if self.steps < 1 or self.batch_size < 1 or self.eval_every < 1:
            raise SgtkError("`steps`, `batch_size` and `eval_every` must be positive")
        if any(not (math.isfinite(lr) and lr > 0) for lr in self.tune_lr):
            raise SgtkError("`tune_lr` needs positive learning rates, e.g. 3e-4,1e-3,3e-3")
        self.rules  # noqa: B018  (a protocol the task allows, else one line)
        if self.init not in INITS:
            raise SgtkError(f"unknown `init` {self.init!r}: choose one of {', '.join(INITS)}")
        i, n = self.shard
        if not 0 <= i < n:
            raise SgtkError(f"`shard` {i}/{n} is out of range: use I/N with 0 <= I < N")

    def entries(self) -> list[RunSpec]:
        """Each distinct ``--models`` entry (see parse_entry)."""
        out: dict[str, RunSpec] = {}
        for entry in self.models:
            parsed = parse_entry(entry, self.graph, self.task)
            out.setdefault(parsed.label, parsed)
        return list(out.values())

    def depths(self, model: str, length: int, graph: str = "path") -> list[int]:
        """The layer counts ``model`` runs at on ``graph`` for ``length`` (auto: auto_depth)."""
        if not has_depth(model):
            return [0]
        out: list[int] = []
        for k in self.layers:  # validate(): int or auto
            depth = k if isinstance(k, int) else auto_depth(model, graph, length)
            if depth not in out:
                out.append(depth)
        return out

    def all_runs(self) -> list[RunSpec]:
        lengths = self.lengths if self.spec.by_length else [0]
        return [
            dataclasses.replace(e, length=t, layers=k, seed=s, name=run_name(e.label, t, k, s))
            for t in lengths
            for e in self.entries()
            for k in self.depths(e.model, t, e.graph)
            for s in range(self.seeds)
        ]

    def series(self, run: RunSpec) -> list[str]:
        """The table rows a run counts in: its label, per fixed k and for k=auto."""
        if not has_depth(run.model):
            return [run.label]
        out = [f"{run.label} k={k}" for k in self.layers if k == run.layers]
        if "auto" in self.layers and run.layers == auto_depth(run.model, run.graph, run.length):
            out.append(f"{run.label} k=auto")
        return out

    def runs(self) -> list[RunSpec]:
        """This shard's runs: every N-th of the whole sweep, starting at the I-th."""
        i, n = self.shard
        return self.all_runs()[i::n]

    def settings(self) -> dict[str, Any]:
        """What makes a run comparable with another: kept in sweep.json, checked on resume."""
        keep = dataclasses.asdict(self)
        for k in ("lengths", "seeds", "shard", "models", "layers", "graph", "jobs"):
            keep.pop(k)
        return keep


def parse_overrides(items: list[str] | tuple[str, ...], task: str, names: set[str]) -> dict:
    """``["patience=5", "text.seeds=2"]`` -> the values for ``task`` (TOML values; a bare word
    is a string). Another task's ``<task>.key`` is left to that task's sweep."""
    import tomllib

    out: dict[str, Any] = {}
    for item in items:
        key, equals, raw = (part.strip() for part in item.partition("="))
        if not equals or not key:
            raise SgtkError(f"`overrides` {item!r} is not key=value: e.g. patience=5")
        where, dot, name = key.rpartition(".")
        if dot and where not in TASK_REGISTRY:
            _unknown_keys({where}, set(TASK_REGISTRY), f"`overrides` {item}")
        if dot and where != task:
            continue
        _unknown_keys({name} - names, names, f"`overrides` {item}")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        out.update(_checked({name: value}, f"in `overrides` {item}", written=f"`overrides` {item}"))
    return out


def _checked(values: dict[str, Any], where: str, written: str | None = None) -> dict[str, Any]:
    """A layer of Sweep fields, type-checked before any folder is made: one line naming
    where a wrong kind was set (it would otherwise fail deep in a run)."""
    from sgtk.train.config import checked_kind

    kinds = {f.name: f.type for f in dataclasses.fields(Sweep)}
    out = {}
    for key, value in values.items():
        out[key], problem = checked_kind(kinds[key], copy.deepcopy(value))
        if problem:
            said = written or f"{key} = {value!r} {where}"
            raise SgtkError(f"{said} {problem}")
    return out
