"""One model-agnostic training loop for every task and model in sgtk."""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sgtk.errors import SgtkError
from sgtk.io.lock import folder_lock
from sgtk.train import distributed as dist
from sgtk.train.callbacks import Callback, emit
from sgtk.train.checkpoint import fit_model_state, load_optimizer_state
from sgtk.train.config import run_record, write_toml
from sgtk.train.loggers import check_logger, make_loggers
from sgtk.train.optim import lr_factor, make_optimizer, set_lr
from sgtk.train.progress import PlainProgress, ProgressState
from sgtk.train.run_dir import RunFolder, read_best
from sgtk.train.signals import Interrupted, StopSignals
from sgtk.train.task import Task
from sgtk.train.train_config import TrainConfig, mixed_precision, resolve_device
from sgtk.train.train_state import TrainState

__all__ = [
    "Callback",
    "Interrupted",
    "LoopState",
    "TrainConfig",
    "Trainer",
    "TrainingDiverged",
    "resolve_device",
]


class TrainingDiverged(SgtkError):
    pass


@dataclass
class LoopState:
    """What the loop changes as it runs; ``checkpoint.pt`` keeps it beside the weights."""

    step: int = 0
    elapsed_before: float = 0.0  # seconds spent by the earlier processes of this run
    best: float | None = None  # the best value of ``task.metric`` so far
    best_val: dict[str, float] = field(default_factory=dict)  # val figures at that evaluation
    sums: dict[str, float] = field(default_factory=dict)  # train statistics since the last eval
    count: int = 0
    stopped_by: str = "steps"
    saved_step: int | None = None  # the step of checkpoint.pt on disk, for a divergence's line
    best_step: int | None = None  # and of best.pt
    started: float = field(default_factory=time.perf_counter)
    last_checkpoint: float = field(default_factory=time.perf_counter)

    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.started


@dataclass
class Trainer:
    """Trains ``task``'s model under ``config`` and keeps everything in ``run_dir``.

    ``run_dir`` gets ``config.toml`` (the resolved config), ``metrics.jsonl`` (one record per
    evaluation, then one ``"final"`` record with the test figures), ``checkpoint.pt`` (for
    ``resume``) and ``best.pt`` (the model that is best on ``task.metric``, a val figure).
    """

    task: Task
    config: TrainConfig
    run_dir: Path
    extra_config: dict[str, Any] = field(default_factory=dict)
    callbacks: list[Callback] = field(default_factory=list)
    command: str = ""  # the command line that started the run, for config.toml
    # Plain progress lines on stderr (each evaluation, every 30 s) unless a callback shows
    # progress already (the CLI's bar) or this is False.
    progress: bool = True
    stop_reason: str | None = field(default=None, init=False)  # see request_stop

    def request_stop(self, reason: str) -> None:
        """Ask the loop to stop once the current step (or evaluation) is done, as at the
        end of its steps: checkpoint, best.pt and the final test report as usual, with
        ``reason`` as the result's ``stopped_by``. For callbacks (an early stop, say)."""
        self.stop_reason = reason

    @property
    def folder(self) -> RunFolder:
        return RunFolder(self.run_dir)

    @property
    def should_stop(self) -> bool:
        return self.stop_reason is not None

    def __post_init__(self) -> None:
        self.config.validate()
        check_logger(self.config.logger)
        self.run_dir = Path(self.run_dir)
        self.task.run_dir = self.run_dir  # where a task writes its own files (samples.md)
        self.task.check_memory(self.config.batch_size)
        dist.init_from_env()
        self.device = dist.device_for_rank(resolve_device(self.config.device))
        self.is_main = dist.rank() == 0

    # ---- the loop ----------------------------------------------------------------------
    def fit(self, resume: bool = False) -> dict[str, Any]:
        cfg = self.config
        saved = None
        if resume:  # checked against this run before anything is written
            saved = self.folder.resume_state(
                self.task.name,
                self._task_config(),
                self.task.fingerprint(),
                self.config.optimizer,
                dist.world_size(),
                self.device,
            )
        run = self._restore(saved)  # writes nothing, so a misfit checkpoint changes nothing
        with folder_lock(self.run_dir) if self.is_main else nullcontext():
            self._prepare_run_dir(run, resume)
            self.stop_reason = None
            emit(self._hooks, "on_start", cfg.steps, run.step)
            with StopSignals() as signals:
                run.started = run.last_checkpoint = time.perf_counter()
                while run.step < cfg.steps:
                    logs = self._train_step(run)
                    emit(self._hooks, "on_step", run.step, logs)
                    done, checkpoint_due, signum = self._agree_on_stopping(run, signals)
                    if run.step % cfg.eval_every == 0 or done:
                        done = self._evaluate(run) or done
                        done = self._agree_on_request(run) or done  # on_eval may ask
                    if checkpoint_due or done or signum:
                        self._checkpoint(run)
                    if signum:
                        raise Interrupted(signum)
                    if done:
                        break
            return self._finish(run)

    # ---- its parts ---------------------------------------------------------------------
    def _restore(self, saved: TrainState | None) -> LoopState:
        """Build the model and optimiser and load ``saved`` into them."""
        cfg = self.config
        torch.manual_seed(cfg.seed)
        self.model = self.task.build_model().to(self.device)
        self.optimizer = make_optimizer(
            cfg.optimizer, self.model.parameters(), cfg.lr, cfg.momentum, cfg.weight_decay
        )
        # Each rank draws its own data; the global batch is split between ranks.
        self.data_gen = torch.Generator().manual_seed(cfg.seed * 1000 + 17 + dist.rank())
        self.batch_size = max(cfg.batch_size // dist.world_size(), 1)
        self.log = self.folder.metrics
        run = LoopState()
        if saved is not None:
            ckpt = self.folder.checkpoint_path
            fit_model_state(self.model, {"model": saved.model}, ckpt)
            load_optimizer_state(self.optimizer, saved.optimizer, ckpt)
            try:
                self.data_gen.set_state(saved.data_rng[dist.rank()])
                self.task.load_state_dict(saved.task_state[dist.rank()])
                torch.set_rng_state(saved.torch_rng)
            except (RuntimeError, TypeError, KeyError, ValueError) as e:
                raise SgtkError(
                    f"{ckpt} holds a generator or data position that does not fit ({e}): "
                    "resume from an earlier copy, or start a new run"
                ) from None
            if torch.cuda.is_available() and saved.cuda_rng is not None:
                torch.cuda.set_rng_state_all(saved.cuda_rng)
            run.step, run.elapsed_before = saved.step, saved.elapsed
            run.best, run.best_val = saved.best, saved.best_val
            run.saved_step = saved.step
            # A checkpoint between evaluations (a signal, --checkpoint-minutes) carries the
            # train statistics gathered since the last one, so the next record is the same.
            sums = saved.train_sums or [[{}, 0]] * dist.world_size()
            run.sums, run.count = sums[dist.rank()]
        self._hooks = list(self.callbacks)
        shown = any(isinstance(c, ProgressState) for c in self._hooks)
        if self.progress and self.is_main and not shown:
            title = f"{self.task.name} {self.extra_config.get('model', '')}".strip()
            self._hooks.append(PlainProgress(title, max_time=cfg.max_time))
        self.train_model = dist.wrap(self.model, self.device)
        if cfg.compile:
            # torch.compile(module) is an OptimizedModule (an nn.Module); its stub says Callable.
            self.train_model = torch.compile(self.train_model)  # type: ignore[assignment]
        self.autocast, self.scaler = mixed_precision(self.device, cfg)
        return run

    def _train_step(self, run: LoopState) -> dict[str, float]:
        cfg = self.config
        frac = run.elapsed() / cfg.max_time if cfg.max_time else None
        factor = lr_factor(
            cfg.lr_schedule,
            step=run.step,
            total_steps=cfg.steps,
            decay=cfg.lr_decay,
            every=cfg.lr_step,
            time_fraction=frac,
        )
        set_lr(self.optimizer, cfg.lr, factor)
        self.model.train()
        batch = self.task.train_batch(self.batch_size, self.data_gen, self.device)
        with self.autocast:
            loss, stats = self.task.loss(self.train_model, batch)
        if not torch.isfinite(loss):
            self._diverged(run, run.step + 1, f"the loss became {loss.item()}")
        self.optimizer.zero_grad(set_to_none=True)
        scaler = self.scaler
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        if cfg.max_norm > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), cfg.max_norm)
        if scaler is not None:
            scaler.step(self.optimizer)
            scaler.update()
        else:
            self.optimizer.step()
        run.step += 1
        if not self._weights_finite():
            self._diverged(run, run.step, "the update made some weights NaN or inf")
        stats = {"loss": loss.item(), **stats}
        for k, v in stats.items():
            run.sums[k] = run.sums.get(k, 0.0) + v
        run.count += 1
        return {**stats, "lr": self.optimizer.param_groups[0]["lr"], "elapsed": run.elapsed()}

    def _agree_on_stopping(self, run: LoopState, signals: StopSignals) -> tuple[bool, bool, int]:
        """(done, checkpoint due, stop signal or 0), the same on every rank: a rank that
        stopped alone would leave the others waiting in a collective."""
        cfg = self.config
        time_up = cfg.max_time is not None and run.elapsed() >= cfg.max_time
        minutes = cfg.checkpoint_minutes
        minutes_due = minutes is not None and time.perf_counter() - run.last_checkpoint >= (
            minutes * 60
        )
        # One all-reduce; a stop request from any rank's callbacks stops every rank.
        agreed = dist.maximum(time_up, minutes_due, signals.requested or 0, self.should_stop)
        time_up, minutes_due, signum = bool(agreed[0]), bool(agreed[1]), int(agreed[2])
        done = run.step >= cfg.steps or time_up or bool(agreed[3])
        if done:
            run.stopped_by = "steps"
            if run.step < cfg.steps:
                run.stopped_by = "time" if time_up else self.stop_reason or "stop request"
        checkpoint_due = run.step % cfg.checkpoint_every == 0 or minutes_due
        return done, checkpoint_due, signum

    def _agree_on_request(self, run: LoopState) -> bool:
        """Whether a callback asked to stop at this evaluation, on any rank."""
        if not dist.any_true(self.should_stop)[0]:
            return False
        if run.stopped_by == "steps" and run.step < self.config.steps:  # not target or time
            run.stopped_by = self.stop_reason or "stop request"
        return True

    def _evaluate(self, run: LoopState) -> bool:
        """Log one record, keep ``best.pt`` on ``task.metric``; true once ``--target`` is met."""
        record = self._evaluation_record(run)
        run.sums, run.count = {}, 0
        value = record[self.task.metric]
        # Any non-finite val figure ends the run: a NaN val_loss beside a finite accuracy is
        # a diverged model, never a better one.
        bad = [
            f"{k} became {v}"
            for k, v in record.items()
            if k.startswith("val_") and isinstance(v, float) and not math.isfinite(v)
        ]
        if bad:
            self._diverged(run, run.step, ", ".join(bad))
        eligible = self.task.eligible(record)  # False at a curriculum's shorter lengths
        if eligible and self.task.better(value, run.best):
            run.best = value
            run.best_val = {k: v for k, v in record.items() if k.startswith("val_")}
            if self.is_main:
                best = {
                    "task": self.task.name,
                    "model": self.model.state_dict(),
                    "step": run.step,
                    "metric": value,
                    "config": self.extra_config,
                }
                self.folder.save_best(best)
            run.best_step = run.step
        if self.is_main:
            self.log.append(record)
        event = self.task.after_eval(record)
        if event and self.is_main:
            self.log.append({"step": run.step, **event})
        emit(self._hooks, "on_eval", run.step, record)
        target = self.config.target
        if eligible and target is not None and self._reached(value, target):
            run.stopped_by = "target"
            return True
        return False

    def _checkpoint(self, run: LoopState) -> None:
        # Every rank's data position, so that each resumes its own stream.
        data_rng = dist.gather_objects(self.data_gen.get_state())
        task_state = dist.gather_objects(self.task.state_dict())
        train_sums = dist.gather_objects([run.sums, run.count])
        run.last_checkpoint = time.perf_counter()
        if not self.is_main:
            return
        state = TrainState(
            task=self.task.name,
            model=self.model.state_dict(),
            optimizer=self.optimizer.state_dict(),
            data_rng=data_rng,
            torch_rng=torch.get_rng_state(),
            task_state=task_state,
            train_sums=train_sums,
            step=run.step,
            elapsed=run.elapsed(),
            best=run.best,
            best_val=run.best_val,
            task_config=self._task_config(),
            optimizer_kind=self.config.optimizer,
            cuda_rng=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        )
        self.folder.save_state(state)
        run.saved_step = run.step
        emit(self._hooks, "on_checkpoint", run.step)

    def _finish(self, run: LoopState) -> dict[str, Any]:
        """Report the test figures of the model in ``best.pt``, once, and log them last."""
        seconds = run.elapsed()
        dist.barrier()  # rank 0 has finished writing best.pt
        best_path = self.folder.best_path
        if best_path.exists():
            fit_model_state(self.model, read_best(best_path, self.device), best_path)
        self.model.eval()
        with torch.no_grad():
            report = self.task.report(self.model, self.device)
        if self.is_main:
            final = {"final": True, "step": run.step, "elapsed": round(seconds, 3)}
            self.log.append({**final, **run.best_val, **report})
        result = {
            **run.best_val,
            **report,
            "steps": run.step,
            "seconds": round(seconds, 2),
            "stopped_by": run.stopped_by,
            "run_dir": str(self.run_dir),
        }
        emit(self._hooks, "on_end", result)
        return result

    # ---- helpers -----------------------------------------------------------------------
    def _prepare_run_dir(self, run: LoopState, resume: bool) -> None:
        """Write ``config.toml``, cut ``metrics.jsonl`` back to ``run.step``, open the loggers."""
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
        if resume:
            self.folder.record_resume(self.command, run.step, self.config)
        else:
            self.folder.check_fresh()  # never overwrite a run, finished or not
            self.folder.start(
                self.task.name,
                self._task_config(),
                self.config,
                self.task.fingerprint(),
                self.command,
            )
        write_toml(
            self.run_dir / "config.toml",
            run_record(self.task.name, getattr(self.task, "config", {}), self.config, self.command),
        )
        if resume:
            self.log.truncate_after(run.step)
        self._hooks += make_loggers(
            self.config.logger,
            self.run_dir,
            units=getattr(self.task, "units", None),
            title=f"{self.task.name} · {self.extra_config.get('model', '')}",
        )

    def _task_config(self) -> dict[str, Any]:
        from sgtk.train.run_dir import as_plain

        return as_plain(getattr(self.task, "config", None) or {})

    def _weights_finite(self) -> bool:
        params = [p.detach() for p in self.model.parameters()]
        return not params or bool(torch.stack([torch.isfinite(p).all() for p in params]).all())

    def _diverged(self, run: LoopState, step: int, what: str) -> None:
        """End the run in one line: nothing of the diverged model is written, and the files
        on disk are the last finite ones."""
        kept = [f"checkpoint.pt of step {run.saved_step}"] if run.saved_step is not None else []
        if run.best_step is not None or self.folder.best_path.exists():
            kept.append("best.pt" + (f" of step {run.best_step}" if run.best_step else ""))
        keeps = f"{self.run_dir} keeps the last finite " + (" and ".join(kept) or "files")
        raise TrainingDiverged(
            f"training diverged at step {step} ({what}): lower --lr or --max-norm; {keeps}"
        )

    def _reached(self, value: float, target: float) -> bool:
        return value >= target if self.task.mode == "max" else value <= target

    def _evaluation_record(self, run: LoopState) -> dict[str, Any]:
        self.model.eval()
        with torch.no_grad():
            metrics = self.task.evaluate(self.model, self.device)
            extra = self.task.on_eval(self.model, self.device, run.step)
        leaked = sorted(k for k in {**metrics, **extra} if k.startswith("test_"))
        if leaked:
            # Test figures are computed once, on the selected model, by Task.report.
            raise TypeError(
                f"{type(self.task).__name__}.evaluate returned {leaked}: move them to report()"
            )
        n = max(run.count, 1)
        train = {f"train_{k}": dist.mean(v / n) for k, v in run.sums.items()}
        elapsed = round(run.elapsed(), 3)
        return {"step": run.step, "elapsed": elapsed, **train, **metrics, **extra}
