"""``checkpoint.pt``'s one schema: what a resume needs, versioned and checked key by key on load."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from sgtk.errors import SgtkError

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
                "point --out at a run folder that sgtk wrote"
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
    """Refuse, in one line, an ``--optimizer`` whose state cannot take over the saved one."""
    saved = state.optimizer_kind
    if saved is None or FAMILIES.get(saved, saved) == FAMILIES.get(wanted, wanted):
        return
    raise SgtkError(
        f"--resume: {path} was trained with --optimizer {saved}, and its state cannot be "
        f"resumed by {wanted}: drop --optimizer (or pass --optimizer {saved}), or start a new "
        "run with another --out"
    )
