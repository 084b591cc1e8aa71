"""One model-agnostic training loop for every task and model in sgtk."""

from __future__ import annotations

import math
import signal
import threading
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from sgtk.errors import SgtkError
from sgtk.train import distributed as dist
from sgtk.train.checkpoint import load_checkpoint, save_checkpoint
from sgtk.train.config import write_toml
from sgtk.train.metrics import MetricsLog
from sgtk.train.optim import OPTIMIZERS, SCHEDULES, lr_factor, make_optimizer, set_lr
from sgtk.train.task import Task


@dataclass
class TrainConfig:
    steps: int = 10_000
    batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    max_norm: float = 10.0
    lr_schedule: str = "step"
    lr_decay: float = 0.5
    lr_step: int = 0
    eval_every: int = 100
    checkpoint_every: int = 500
    max_time: float | None = None
    target: float | None = None
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    cpu_bf16: bool = False
    compile: bool = False

    def validate(self) -> None:
        for flag, value in (
            ("--lr", self.lr),
            ("--max-norm", self.max_norm),
            ("--lr-decay", self.lr_decay),
            ("--momentum", self.momentum),
            ("--weight-decay", self.weight_decay),
            ("--max-time", self.max_time),
            ("--target", self.target),
        ):
            if value is not None and not math.isfinite(value):
                raise SgtkError(f"{flag} {value} is not a finite number: pass a real value")
        if self.max_norm < 0:
            raise SgtkError(f"--max-norm {self.max_norm} must be >= 0 (0 disables clipping)")
        if self.lr_decay <= 0 or self.lr_step < 0:
            raise SgtkError("--lr-decay must be > 0 and --lr-step >= 0 (0: no step decay)")
        if self.momentum < 0 or self.weight_decay < 0:
            raise SgtkError("--momentum and --weight-decay must be >= 0")
        if not -(2**63) <= self.seed < 2**63:
            raise SgtkError(f"--seed {self.seed} is out of range: use a 64-bit integer")
        if self.steps <= 0:
            raise SgtkError(f"--steps {self.steps} must be positive (try --steps 1000)")
        if self.batch_size <= 0:
            raise SgtkError(f"--batch-size {self.batch_size} must be positive (try 128)")
        if self.lr <= 0:
            raise SgtkError(f"--lr {self.lr} must be positive (try --lr 1e-3)")
        if self.eval_every <= 0 or self.checkpoint_every <= 0:
            raise SgtkError("--eval-every and --checkpoint-every must be positive")
        if self.optimizer not in OPTIMIZERS:
            raise SgtkError(
                f"unknown optimizer {self.optimizer!r}: choose one of {', '.join(OPTIMIZERS)}"
            )
        if self.lr_schedule not in SCHEDULES:
            raise SgtkError(
                f"unknown lr schedule {self.lr_schedule!r}: choose one of {', '.join(SCHEDULES)}"
            )
        if self.max_time is not None and self.max_time <= 0:
            raise SgtkError(f"--max-time {self.max_time} must be positive seconds")


class Callback(Protocol):
    def on_start(self, total_steps: int, start_step: int) -> None: ...
    def on_step(self, step: int, logs: dict[str, float]) -> None: ...
    def on_eval(self, step: int, record: dict[str, Any]) -> None: ...


class TrainingDiverged(SgtkError):
    pass


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SgtkError("--device cuda asked for, but no CUDA GPU is visible: use --device cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise SgtkError(f"unknown device {name!r}: use auto, cpu or cuda") from None


@dataclass
class Trainer:
    """Trains ``task``'s model under ``config`` and keeps everything in ``run_dir``.

    ``run_dir`` gets ``config.toml`` (the resolved config), ``metrics.jsonl`` (one record per
    evaluation), ``checkpoint.pt`` (for ``resume``) and ``best.pt`` (the best model so far).
    """

    task: Task
    config: TrainConfig
    run_dir: Path
    extra_config: dict[str, Any] = field(default_factory=dict)
    callbacks: list[Callback] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.config.validate()
        self.run_dir = Path(self.run_dir)
        self.task.run_dir = self.run_dir  # where a task writes its own files (samples.md)
        self.task.check_memory(self.config.batch_size)
        dist.init_from_env()
        self.device = dist.device_for_rank(resolve_device(self.config.device))
        self.is_main = dist.rank() == 0

    # ---- setup -------------------------------------------------------------------------
    def _prepare_run_dir(self, resume: bool) -> None:
        if not self.is_main:
            return
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            probe = self.run_dir / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise SgtkError(
                f"cannot write to output directory {self.run_dir} "
                f"({e.strerror or e}): choose a writable --out"
            ) from None
        if not resume and (self.run_dir / "checkpoint.pt").exists():
            raise SgtkError(
                f"{self.run_dir} already holds a run: pass --resume to continue "
                "it, or choose another --out"
            )
        write_toml(
            self.run_dir / "config.toml",
            {"task": self.task.name, **self.extra_config, "train": asdict(self.config)},
        )

    def _amp(self):
        if (
            self.device.type == "cpu"
            and self.config.cpu_bf16
            and torch.ops.mkldnn._is_mkldnn_bf16_supported()
        ):
            # oneDNN runs bf16 LSTMs about twice as fast on CPUs with native bf16 (AVX512-BF16,
            # AMX); elsewhere bf16 is emulated and slower, so it stays off there.
            return torch.autocast("cpu", dtype=torch.bfloat16), None
        if self.device.type != "cuda" or not self.config.amp:
            return nullcontext(), None
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
        return torch.autocast("cuda", dtype=dtype), scaler

    # ---- the loop ----------------------------------------------------------------------
    def fit(self, resume: bool = False) -> dict[str, Any]:
        cfg = self.config
        ckpt_path = self.run_dir / "checkpoint.pt"
        state = self._load_resume_state(ckpt_path) if resume else None
        self._prepare_run_dir(resume)
        torch.manual_seed(cfg.seed)
        model = self.task.build_model().to(self.device)
        optimizer = make_optimizer(
            cfg.optimizer, model.parameters(), cfg.lr, cfg.momentum, cfg.weight_decay
        )
        # Each rank draws its own data; the global batch is split between ranks.
        data_gen = torch.Generator().manual_seed(cfg.seed * 1000 + 17 + dist.rank())
        batch_size = max(cfg.batch_size // dist.world_size(), 1)
        log = MetricsLog(self.run_dir / "metrics.jsonl")
        step, elapsed_before, best = 0, 0.0, None
        if state is not None:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            data_gen.set_state(state["data_rng"][dist.rank()])
            self.task.load_state_dict(state["task_state"][dist.rank()])
            torch.set_rng_state(state["torch_rng"])
            if torch.cuda.is_available() and "cuda_rng" in state:
                torch.cuda.set_rng_state_all(state["cuda_rng"])
            step, elapsed_before, best = state["step"], state["elapsed"], state["best"]
            if self.is_main:
                log.truncate_after(step)
        elif self.is_main:  # a fresh run: nothing of an older one may leak in
            log.path.unlink(missing_ok=True)
            (self.run_dir / "best.pt").unlink(missing_ok=True)

        train_model = dist.wrap(model, self.device)
        if cfg.compile:
            train_model = torch.compile(train_model)
        autocast, scaler = self._amp()

        def checkpoint() -> None:
            # Every rank's data position, so that each resumes its own stream.
            data_rng = dist.gather_objects(data_gen.get_state())
            task_state = dist.gather_objects(self.task.state_dict())
            if not self.is_main:
                return
            state = {
                "task": self.task.name,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "data_rng": data_rng,
                "torch_rng": torch.get_rng_state(),
                "task_state": task_state,
                "step": step,
                "elapsed": elapsed_before + (time.perf_counter() - t0),
                "best": best,
            }
            if torch.cuda.is_available():
                state["cuda_rng"] = torch.cuda.get_rng_state_all()
            save_checkpoint(state, ckpt_path)

        interrupted = []
        # Ctrl-C finishes the step, writes a checkpoint, then raises KeyboardInterrupt.
        in_main_thread = threading.current_thread() is threading.main_thread()
        previous_handler = (
            signal.signal(signal.SIGINT, lambda *_: interrupted.append(True))
            if in_main_thread
            else None
        )
        for cb in self.callbacks:
            cb.on_start(cfg.steps, step)
        t0 = time.perf_counter()
        sums: dict[str, float] = {}
        count = 0
        stop_reason = "steps"
        try:
            while step < cfg.steps:
                elapsed = elapsed_before + time.perf_counter() - t0
                frac = elapsed / cfg.max_time if cfg.max_time else None
                set_lr(
                    optimizer,
                    cfg.lr,
                    lr_factor(
                        cfg.lr_schedule,
                        step=step,
                        total_steps=cfg.steps,
                        decay=cfg.lr_decay,
                        every=cfg.lr_step,
                        time_fraction=frac,
                    ),
                )
                model.train()
                batch = self.task.train_batch(batch_size, data_gen, self.device)
                with autocast:
                    loss, stats = self.task.loss(train_model, batch)
                if not torch.isfinite(loss):
                    raise TrainingDiverged(
                        f"loss became {loss.item()} at step {step + 1}: lower --lr or "
                        f"--max-norm; the last good checkpoint is kept in {self.run_dir}"
                    )
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.unscale_(optimizer)
                else:
                    loss.backward()
                if cfg.max_norm > 0:
                    nn.utils.clip_grad_norm_(model.parameters(), cfg.max_norm)
                if scaler is not None:
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    optimizer.step()
                step += 1
                stats = {"loss": loss.item(), **stats}
                for k, v in stats.items():
                    sums[k] = sums.get(k, 0.0) + v
                count += 1
                for cb in self.callbacks:
                    cb.on_step(step, {**stats, "lr": optimizer.param_groups[0]["lr"]})

                elapsed = elapsed_before + time.perf_counter() - t0
                # Every rank must agree to stop, or the others would wait in a collective.
                time_up, stop_now = dist.any_true(
                    cfg.max_time is not None and elapsed >= cfg.max_time, bool(interrupted)
                )
                done = step >= cfg.steps or time_up
                if done:
                    stop_reason = "time" if time_up and step < cfg.steps else "steps"
                if step % cfg.eval_every == 0 or done:
                    record = self._evaluate(model, step, sums, count)
                    sums, count = {}, 0
                    value = record[self.task.metric]
                    if not math.isfinite(value):
                        raise TrainingDiverged(
                            f"{self.task.metric} became {value} at step {step}: lower --lr"
                        )
                    if self.task.better(value, best):
                        best = value
                        if self.is_main:
                            save_checkpoint(
                                {
                                    "task": self.task.name,
                                    "model": model.state_dict(),
                                    "step": step,
                                    "metric": value,
                                    "config": self.extra_config,
                                },
                                self.run_dir / "best.pt",
                            )
                    if self.is_main:
                        log.append(record)
                    for cb in self.callbacks:
                        cb.on_eval(step, record)
                    if cfg.target is not None and self._reached(value):
                        done, stop_reason = True, "target"
                if step % cfg.checkpoint_every == 0 or done or stop_now:
                    checkpoint()
                if stop_now:
                    raise KeyboardInterrupt
                if done:
                    break
        finally:
            if in_main_thread:
                signal.signal(signal.SIGINT, previous_handler)
        seconds = elapsed_before + time.perf_counter() - t0
        dist.barrier()  # rank 0 has finished writing best.pt
        if (self.run_dir / "best.pt").exists():
            model.load_state_dict(load_checkpoint(self.run_dir / "best.pt", self.device)["model"])
        model.eval()
        report = self.task.report(model, self.device)
        self.model = model
        return {
            **report,
            "steps": step,
            "seconds": round(seconds, 2),
            "stopped_by": stop_reason,
            "run_dir": str(self.run_dir),
        }

    def _load_resume_state(self, ckpt_path: Path) -> dict[str, Any]:
        if not ckpt_path.exists():
            raise SgtkError(
                f"--resume given, but {self.run_dir} has no checkpoint.pt: drop "
                "--resume to start a new run, or point --out at an earlier run"
            )
        state = load_checkpoint(ckpt_path, self.device)
        if state.get("task") != self.task.name:
            raise SgtkError(
                f"{ckpt_path} is a {state.get('task')!r} checkpoint, not "
                f"{self.task.name!r}: resume it with `sgtk train {state.get('task')}`"
            )
        if len(state["data_rng"]) != dist.world_size():
            raise SgtkError(
                f"{ckpt_path} was written by {len(state['data_rng'])} process(es); "
                f"resume it with the same number (now {dist.world_size()})"
            )
        return state

    def _reached(self, value: float) -> bool:
        target = self.config.target
        return value >= target if self.task.mode == "max" else value <= target

    def _evaluate(
        self, model: nn.Module, step: int, sums: dict[str, float], count: int
    ) -> dict[str, Any]:
        model.eval()
        with torch.no_grad():
            metrics = self.task.evaluate(model, self.device)
            extra = self.task.on_eval(model, self.device, step)
        train = {f"train_{k}": dist.mean(v / max(count, 1)) for k, v in sums.items()}
        return {"step": step, **train, **metrics, **extra}
