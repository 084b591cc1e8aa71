"""What a compare sweep runs: its settings (configs/compare.toml), its runs, each run's task."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sgtk.errors import SgtkError
from sgtk.train.config import default_config

TASKS = ("palindrome", "text", "molecules")
# Models without a depth k: one row per (length, seed), whatever --layers says.
RECURRENT = ("rnn", "lstm", "gru")
INITS = ("auto", "xavier")
PROTOCOLS = ("fair", "assignment")
# The course assignment's own setup, to reproduce its figures beside the fair protocol's:
# Xavier init, scalar digit inputs, RMSProp, 10,000 steps, no early stop, and the model of the
# last step reported (not the val-chosen one). Flags given still override the steps and init.
ASSIGNMENT = dict(init="xavier", steps=10_000, target=None, patience=0, unreachable_steps=0)


def has_depth(model: str) -> bool:
    """Whether ``--layers`` sets the model's depth (its reach in hops)."""
    from sgtk.models.registry import uses_layers

    return uses_layers(model)


def auto_depth(model: str, graph: str, length: int) -> int:
    """``--layers auto``: the fewest rounds after which the last of the T-1 input nodes has
    heard from the first (path T-2, window:K ceil((T-2)/K), dilated ceil(log2 T)+1, capped at
    T-2). Complete: 2, since one round of averaging over every earlier node is a bag of
    digits; a second lets GCN's degree weights tell positions apart. A hybrid's LSTM already
    reaches every node, so it gets one graph round."""
    from sgtk.graphs.builders import parse_graph
    from sgtk.models.registry import get

    path = max(length - 2, 1)
    kind, k = parse_graph(graph)
    if get(model).family == "hybrid":
        return 1
    if kind == "window":
        return max(math.ceil(path / k), 1)
    if kind == "dilated":
        return min(math.ceil(math.log2(length)) + 1, path)
    if kind == "complete":
        return min(2, path)
    return path


def parse_entry(entry: str, graph: str, task: str) -> dict[str, str]:
    """One ``--models`` entry: ``gcn`` (on ``--graph``) or ``gcn@dilated``, checked against
    the registry. Returns its model, the graph it runs on (resolved from ``auto``; for
    molecules, the view it reads) and its label: the model, with ``@graph`` when that is not
    the model's own graph. Recurrent cells walk the sequence: ``--graph`` passes them by."""
    from sgtk.models.registry import check_graph, check_model

    model, at, own = (part.strip() for part in entry.partition("@"))
    spec = check_model(model, task)
    if not at and spec.family == "recurrent":
        own = "auto"
    resolved = check_graph(own if at else (own or graph), model, task)
    if task not in ("palindrome", "text"):
        view = {"graph": "bonds", "smiles": "smiles"}[str(spec.molecule_view)]
        return {"model": model, "graph": view, "label": model}
    label = model if resolved == spec.default_graph else f"{model}@{resolved}"
    return {"model": model, "graph": resolved, "label": label}


@dataclass
class Sweep:
    """One task's sweep. ``Sweep.from_config(task, **flags)`` fills it from compare.toml,
    which holds every default; those given here only keep a hand-made Sweep valid."""

    task: str
    models: list[str] = field(default_factory=list)  # names, or name@graph (gcn@dilated)
    lengths: list[int] = field(default_factory=list)  # palindromes only
    layers: list[int | str] = field(default_factory=lambda: [1])  # and "auto": auto_depth()
    graph: str = "auto"  # the graph of every entry without @graph; auto: each model's own
    seeds: int = 1
    params: int = 10_000
    steps: int = 100
    batch_size: int = 32
    eval_every: int = 100
    target: float | None = None
    patience: int = 0
    min_delta: float = 0.0  # a val loss gain under this fraction does not reset the patience
    unreachable_steps: int = 0  # steps of a fixed k that cannot reach the first digit; 0: steps
    threads: int = 0  # torch intra-op threads for the sweep; 0: torch's default
    jobs: int = 0  # runs side by side, one process each; 0: one per core (1 on a GPU)
    pilot_steps: int = 200
    lr: dict[str, float] = field(default_factory=dict)
    tune_lr: list[float] = field(default_factory=list)
    init: str = "auto"
    protocol: str = "fair"  # or "assignment" (ASSIGNMENT; palindromes only)
    text_data: str | None = None
    molecule_data: str | None = None
    target_col: str = "expt"
    smiles_col: str = "smiles"
    carry_state: bool = False
    max_time: float | None = None  # seconds per run, on top of the step budget
    shard: tuple[int, int] = (0, 1)

    @classmethod
    def from_config(cls, task: str, **flags: Any) -> Sweep:
        if task not in TASKS:
            raise SgtkError(f"unknown task {task!r}: choose one of {', '.join(TASKS)}")
        values = dict(default_config("compare").get(task, {}))
        if flags.get("protocol") == "assignment":
            values.update(ASSIGNMENT)
        values.update({k: v for k, v in flags.items() if v is not None})
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise SgtkError(
                f"unknown key(s) {', '.join(unknown)} in [{task}] of compare.toml: "
                f"valid keys are {', '.join(sorted(names))}"
            )
        sweep = cls(task=task, **{k: v for k, v in values.items() if k != "task"})
        sweep.validate()
        return sweep

    def validate(self) -> None:
        if not self.models:
            raise SgtkError("--models is empty: name at least one model, e.g. --models rnn,gcn")
        self.entries()  # every model and graph known to the registry, else one line
        for flag, value in (("--threads", self.threads), ("--jobs", self.jobs)):
            if value < 0:
                raise SgtkError(f"{flag} {value} must be >= 0 (0: the default)")
        if self.unreachable_steps < 0 or not self.min_delta >= 0:
            raise SgtkError("unreachable_steps and min_delta in compare.toml must be >= 0")
        if self.max_time is not None and not self.max_time > 0:
            raise SgtkError(f"--max-time {self.max_time} must be positive seconds")
        if self.task == "palindrome":
            if not self.lengths:
                raise SgtkError("--lengths is empty: give at least one length, e.g. --lengths 5,10")
            if any(t < 3 for t in self.lengths):
                raise SgtkError("every palindrome length must be >= 3 (check --lengths)")
        if not self.layers or any(
            k != "auto" and (not isinstance(k, int) or k < 1) for k in self.layers
        ):
            raise SgtkError("--layers needs positive layer counts or auto, e.g. --layers 2,4,auto")
        if "auto" in self.layers and self.task != "palindrome":
            raise SgtkError(
                "--layers auto (k = T-2) applies to palindromes only: give layer counts"
            )
        for name, value in (("--seeds", self.seeds), ("--params", self.params)):
            if value < 1:
                raise SgtkError(f"{name} {value} must be at least 1")
        if self.steps < 1 or self.batch_size < 1 or self.eval_every < 1:
            raise SgtkError("--steps, --batch-size and eval_every must be positive")
        if any(not (math.isfinite(lr) and lr > 0) for lr in self.tune_lr):
            raise SgtkError("--tune-lr needs positive learning rates, e.g. 3e-4,1e-3,3e-3")
        if self.protocol not in PROTOCOLS:
            raise SgtkError(
                f"unknown --protocol {self.protocol!r}: choose one of {', '.join(PROTOCOLS)}"
            )
        if self.protocol == "assignment" and self.task != "palindrome":
            raise SgtkError("--protocol assignment applies to palindromes only: drop it")
        if self.init not in INITS:
            raise SgtkError(f"unknown --init {self.init!r}: choose one of {', '.join(INITS)}")
        i, n = self.shard
        if not 0 <= i < n:
            raise SgtkError(f"--shard {i}/{n} is out of range: use I/N with 0 <= I < N")

    def entries(self) -> list[dict[str, str]]:
        """Each distinct ``--models`` entry as model, graph and label (see parse_entry)."""
        out: dict[str, dict[str, str]] = {}
        for entry in self.models:
            parsed = parse_entry(entry, self.graph, self.task)
            out.setdefault(parsed["label"], parsed)
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

    def all_runs(self) -> list[dict[str, Any]]:
        lengths = self.lengths if self.task == "palindrome" else [0]
        return [
            {**e, "length": t, "layers": k, "seed": s, "name": run_name(e["label"], t, k, s)}
            for t in lengths
            for e in self.entries()
            for k in self.depths(e["model"], t, e["graph"])
            for s in range(self.seeds)
        ]

    def series(self, run: dict[str, Any]) -> list[str]:
        """The table rows a run counts in: its label, per fixed k and for k=auto."""
        label = run.get("label", run["model"])
        if not has_depth(run["model"]):
            return [label]
        out = [f"{label} k={k}" for k in self.layers if k == run["layers"]]
        graph = run.get("graph", "path")
        if "auto" in self.layers and run["layers"] == auto_depth(
            run["model"], graph, run["length"]
        ):
            out.append(f"{label} k=auto")
        return out

    def runs(self) -> list[dict[str, Any]]:
        """This shard's runs: every N-th of the whole sweep, starting at the I-th."""
        i, n = self.shard
        return self.all_runs()[i::n]

    def settings(self) -> dict[str, Any]:
        """What makes a run comparable with another: kept in sweep.json, checked on resume."""
        keep = dataclasses.asdict(self)
        for k in ("lengths", "seeds", "shard", "models", "layers", "graph", "jobs"):
            keep.pop(k)
        return keep


def run_name(label: str, length: int, layers: int, seed: int) -> str:
    """``gcn-T25-k23-s0``; a model off its own graph adds it: ``gcn-dilated-T25-k6-s0``."""
    slug = label.replace("@", "-").replace(":", "")
    return f"{slug}-T{length}-k{layers}-s{seed}"


def parse_shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise SgtkError(f"--shard {text!r} is not I/N: use e.g. --shard 0/4") from None
    if not 0 <= i < n:
        raise SgtkError(f"--shard {text} is out of range: use I/N with 0 <= I < N")
    return i, n


def _fill(cls: type, defaults: dict[str, Any], **values: Any) -> Any:
    """``cls`` from a task's TOML defaults, overridden by ``values`` (keys it lacks dropped)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in {**defaults, **values}.items() if k in names})


def make_task(sweep: Sweep, run: dict[str, Any], hidden: int, shared: Any):
    """The task of one run at ``hidden`` units; ``shared`` is the text or the molecule set."""
    defaults = default_config(sweep.task).get("task", {})
    model, layers = run["model"], max(run["layers"], 1)
    if sweep.task == "palindrome":
        from sgtk.tasks.palindrome import PalindromeConfig, PalindromeTask

        cfg = _fill(
            PalindromeConfig,
            defaults,
            model=model,
            length=run["length"],
            layers=layers,
            hidden=hidden,
            init=sweep.init,
            graph=run.get("graph", "auto"),
            **({"one_hot": False} if sweep.protocol == "assignment" else {}),
        )
        return PalindromeTask(cfg)
    if sweep.task == "text":
        from sgtk.tasks import text
        from sgtk.tasks.text import TextConfig, TextTask

        depth = {"layers": layers} if has_depth(model) else {}
        carry = sweep.carry_state and model in getattr(text, "CARRY_MODELS", RECURRENT)
        cfg = _fill(
            TextConfig,
            defaults,
            model=model,
            hidden=hidden,
            sample_length=0,
            carry_state=carry,
            graph=run.get("graph", "auto"),
            **depth,
        )
        return TextTask(cfg, text=shared)
    from sgtk.tasks.molecules import MoleculeConfig, MoleculeTask

    cfg = _fill(
        MoleculeConfig, defaults, model=model, layers=layers, hidden=hidden, split_seed=run["seed"]
    )
    return MoleculeTask(cfg, shared)


def train_config(sweep: Sweep, run: dict[str, Any], lr: float, steps: int | None = None):
    """The same steps, batch and precision (float32) for every model of the sweep."""
    from sgtk.train.trainer import TrainConfig

    defaults = default_config(sweep.task).get("train", {})
    steps = steps or sweep.steps
    return _fill(
        TrainConfig,
        defaults,
        steps=steps,
        batch_size=sweep.batch_size,
        eval_every=min(sweep.eval_every, steps),
        checkpoint_every=steps,
        target=sweep.target,
        seed=run["seed"],
        lr=lr,
        max_time=sweep.max_time,
        cpu_bf16=False,
        **({"optimizer": "rmsprop"} if sweep.protocol == "assignment" else {}),
    )


def load_shared(sweep: Sweep) -> Any:
    """What every run of the sweep reads: the text, the molecule set, or nothing."""
    if sweep.task == "text":
        from sgtk.data.text import corpus_path, read_text

        return read_text(sweep.text_data or corpus_path("tinyshakespeare"))
    if sweep.task == "molecules":
        from sgtk.data.molecule_datasets import load_molecules
        from sgtk.tasks.molecules import GRAPH_VIEW

        augment = default_config("molecules").get("task", {}).get("augment", 0)
        variants = augment if set(sweep.models) - set(GRAPH_VIEW) else 0
        if sweep.molecule_data:
            return load_molecules(
                data=Path(sweep.molecule_data),
                smiles_col=sweep.smiles_col,
                target_col=sweep.target_col,
                variants=variants,
            )
        return load_molecules("nci-tpsa", variants=variants)
    return None
