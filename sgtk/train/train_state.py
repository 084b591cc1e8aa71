"""The run files' schemas, written and read here only: ``checkpoint.pt`` (a :class:`TrainState`,
what a resume needs, versioned and checked key by key on load) and ``best.pt`` (the model
chosen on val and what rebuilds it: :func:`best_record`, :func:`read_best`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from sgtk.errors import SgtkError
from sgtk.train.checkpoint import fit_model_state, load_checkpoint, load_optimizer_state
from sgtk.train.finite import require_finite

VERSION = 1  # 0: checkpoints written before the schema (no version, task config or optimiser kind)

# key -> (accepted types, required in every version); the rest may be absent in version 0
_SCHEMA: dict[str, tuple[tuple[type, ...], bool]] = {
    "task": ((str,), True),
    "model": ((dict,), True),
    "optimizer": ((dict,), True),
    "data_rng": ((list, tuple), True),
    "torch_rng": ((torch.Tensor,), True),
    "task_state": ((list, tuple), True),
    "step": ((int,), True),
    "elapsed": ((int, float), True),
    "best": ((int, float, type(None)), True),
    "best_val": ((dict,), False),
    "train_sums": ((list, tuple, type(None)), False),
    "task_config": ((dict, type(None)), False),
    "optimizer_kind": ((str, type(None)), False),
    "cuda_rng": ((list, tuple), False),
    "cpu_seconds": ((int, float), False),
}
_NAMES = {
    str: "a string",
    dict: "a dict",
    list: "a list",
    tuple: "a list",
    int: "an integer",
    float: "a number",
    type(None): "None",
    torch.Tensor: "a tensor",
}


@dataclass
class TrainState:
    """The Trainer's state at one step: weights, optimiser, every generator, the loop's figures
    and the task config it ran under (a resume refuses another one)."""

    task: str
    model: dict[str, Any]
    optimizer: dict[str, Any]
    data_rng: list[torch.Tensor]  # one per rank
    torch_rng: torch.Tensor
    task_state: list[dict[str, Any]]  # one per rank
    step: int
    elapsed: float
    best: float | None
    best_val: dict[str, float] = field(default_factory=dict)
    train_sums: list[Any] | None = None  # per rank: [sums, count] since the last evaluation
    task_config: dict[str, Any] | None = None
    optimizer_kind: str | None = None
    cuda_rng: list[torch.Tensor] | None = None
    cpu_seconds: float = 0.0  # absent before max_cpu_time: a resume counts from there
    version: int = VERSION

    def to_dict(self) -> dict[str, Any]:
        state = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {k: v for k, v in state.items() if v is not None or k in ("best",)}

    @classmethod
    def from_dict(cls, state: Any, path: Path | str) -> TrainState:
        """Check every key of ``state`` (read from ``path``); a missing or mistyped one is one
        line naming the file and the key."""
        if not isinstance(state, dict):
            raise SgtkError(
                f"{path} is not an sgtk training checkpoint (it holds a {type(state).__name__}): "
                "point `run_dir` at a run folder that sgtk wrote"
            )
        version = state.get("version", 0)
        if not isinstance(version, int) or isinstance(version, bool) or version > VERSION:
            raise SgtkError(
                f"{path} has checkpoint version {version!r}, newer than this sgtk reads "
                f"({VERSION}): upgrade sgtk to resume it"
            )
        for key, (kinds, required) in _SCHEMA.items():
            if key not in state:
                if required:
                    raise SgtkError(
                        f"{path} lacks the key {key!r} that a resume needs: it is damaged or not "
                        "an sgtk checkpoint; resume from an earlier copy, or start a new run"
                    )
                continue
            value = state[key]
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                want = " or ".join(dict.fromkeys(_NAMES[k] for k in kinds))
                raise SgtkError(
                    f"{path}: key {key!r} is {type(value).__name__}, not {want}: the checkpoint "
                    "is damaged; resume from an earlier copy, or start a new run"
                )
        fields = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in state.items() if k in fields and k != "version"}
        made = cls(**known)
        made.version = version
        made.data_rng, made.task_state = list(made.data_rng), list(made.task_state)
        if made.optimizer_kind is None:  # version 0: guessed from the optimiser's state
            made.optimizer_kind = optimizer_kind_of(made.optimizer)
        return made


# Optimisers whose per-parameter state fits one another (see sgtk.train.optim): a resume may
# move within a family (adam -> adamw), never across (adam -> rmsprop fails at its first step).
FAMILIES = {"adam": "adam", "adamw": "adam", "rmsprop": "rmsprop", "sgd": "sgd", "momentum": "sgd"}
_STATE_KEYS = {"exp_avg": "adam", "square_avg": "rmsprop", "momentum_buffer": "sgd"}


def optimizer_kind_of(optimizer_state: dict[str, Any]) -> str | None:
    """The optimiser family that wrote ``optimizer_state``, as far as its state shows."""
    for per_param in (optimizer_state.get("state") or {}).values():
        if isinstance(per_param, dict):
            for key, kind in _STATE_KEYS.items():
                if key in per_param:
                    return kind
    return None


def check_optimizer(state: TrainState, wanted: str, path: Path | str) -> None:
    """Refuse, in one line, an ``optimizer`` whose state cannot take over the saved one."""
    saved = state.optimizer_kind
    if saved is None or FAMILIES.get(saved, saved) == FAMILIES.get(wanted, wanted):
        return
    raise SgtkError(
        f"`resume`: {path} was trained with `optimizer` {saved}, and its state cannot be "
        f"resumed by {wanted}: set `optimizer` to {saved}, or start a new run with "
        "another `run_dir`"
    )


def restore(
    state: TrainState,
    path: Path | str,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    data_gen: torch.Generator,
    task: Any,
    rank: int,
) -> None:
    """Load ``state`` (read from ``path``) into the parts of a run on process ``rank``: the
    weights, the optimiser, this rank's data generator and data position, torch's (and
    CUDA's) generators. A misfit is one line naming ``path``."""
    fit_model_state(model, {"model": state.model}, Path(path))
    load_optimizer_state(optimizer, state.optimizer, Path(path))
    try:
        data_gen.set_state(state.data_rng[rank])
        task.load_state_dict(state.task_state[rank])
        torch.set_rng_state(state.torch_rng)
    except (RuntimeError, TypeError, KeyError, ValueError, IndexError) as e:
        raise SgtkError(
            f"{path} holds a generator or data position that does not fit ({e}): "
            "resume from an earlier copy, or start a new run"
        ) from None
    if torch.cuda.is_available() and state.cuda_rng is not None:
        torch.cuda.set_rng_state_all(state.cuda_rng)


# best.pt's schema: the model chosen on val, what rebuilds it ("config": the task's model
# config and "task_config") and the step and metric value it was chosen at.
BEST_KEYS = ("task", "model", "step", "metric", "config")


def best_record(
    task: str, model: dict[str, Any], step: int, metric: float, config: dict[str, Any]
) -> dict[str, Any]:
    """A ``best.pt`` as :meth:`RunFolder.save_best` writes it and :func:`read_best` reads it."""
    return {"task": task, "model": model, "step": step, "metric": metric, "config": config}


def read_best(path: Path | str, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """A ``best.pt`` (or a run folder's), checked: it names its task and holds finite weights."""
    path = Path(path)
    if path.is_dir():
        path = path / "best.pt"
    best = load_checkpoint(path, map_location)
    if not isinstance(best.get("task"), str) or not isinstance(best.get("model"), dict):
        missing = "task" if not isinstance(best.get("task"), str) else "model"
        raise SgtkError(
            f"{path} lacks a valid {missing!r} key: it is damaged or not an sgtk checkpoint; "
            "point at a best.pt that sgtk wrote"
        )
    require_finite(best["model"], path)
    return best


def capture(
    run: Any,
    task: str,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    ranks: tuple[list[Any], list[Any], list[Any]],
    task_config: dict[str, Any],
    optimizer_kind: str,
) -> TrainState:
    """The state of a run at ``run.step`` (a :class:`~sgtk.train.loop.LoopState`); ``ranks``
    holds every rank's data generator state, task state and train sums."""
    data_rng, task_state, train_sums = ranks
    return TrainState(
        task=task,
        model=model.state_dict(),
        optimizer=optimizer.state_dict(),
        data_rng=data_rng,
        torch_rng=torch.get_rng_state(),
        task_state=task_state,
        train_sums=train_sums,
        step=run.step,
        elapsed=run.elapsed(),
        cpu_seconds=run.cpu_seconds(),
        best=run.best,
        best_val=run.best_val,
        task_config=task_config,
        optimizer_kind=optimizer_kind,
        cuda_rng=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    )
