"""One model-agnostic training loop for every task and model in sgtk.

``Trainer.fit`` only orchestrates named parts, as Lightning Fabric's example trainer does:
the task's budget fit, the setup (:func:`sgtk.train.train_state.restore` on ``--resume``), the
step (:func:`sgtk.train.optim.update`), the loop's rules (:mod:`sgtk.train.loop`, agreed by
every rank in :mod:`sgtk.train.stopping`), the run folder
(:class:`sgtk.train.run_dir.RunFolder`) and the callbacks.
"""

from __future__ import annotations

import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from sgtk.io.lock import folder_lock
from sgtk.train import distributed as dist
from sgtk.train import loop as rules
from sgtk.train.callbacks import Callback, emit
from sgtk.train.checkpoint import fit_model_state
from sgtk.train.finite import all_finite
from sgtk.train.loggers import check_logger, make_loggers
from sgtk.train.loop import LoopState, TrainingDiverged
from sgtk.train.optim import scheduled_factor, set_lr, update
from sgtk.train.progress import PlainProgress, ProgressState
from sgtk.train.run_dir import RunFolder, as_plain, best_record, read_best
from sgtk.train.setup import build_parts, resumed_loop
from sgtk.train.signals import Interrupted, StopSignals
from sgtk.train.stopping import agree_on_request, agree_on_stopping
from sgtk.train.task import Task
from sgtk.train.train_config import TrainConfig, resolve_device
from sgtk.train.train_state import TrainState, capture


@dataclass
class Trainer:
    """Trains ``task``'s model under ``config`` and keeps everything in ``run_dir``.

    ``run_dir`` gets ``manifest.json``, ``config.toml`` (the resolved config), ``metrics.jsonl``
    (one record per evaluation, then one ``"final"`` record with the test figures),
    ``checkpoint.pt`` (for ``resume``) and ``best.pt`` (the model that is best on
    ``task.metric``, a val figure). ``given`` names the config keys the user chose (flags,
    config files), which a task's :meth:`~sgtk.train.task.Task.fit_to_budget` keeps.
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
    given: frozenset[str] = frozenset()
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
                cfg.optimizer,
                dist.world_size(),
                self.device,
            )
        else:
            cfg = self._fit_to_budget()
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
                    verdict = agree_on_stopping(run, cfg, signals, self.stop_reason)
                    done = verdict.done
                    if run.step % cfg.eval_every == 0 or done:
                        done = self._evaluate(run) or done
                        asked = agree_on_request(run, cfg.steps, self.stop_reason)
                        done = asked or done  # on_eval may ask
                    if verdict.checkpoint_due or done or verdict.signum:
                        self._checkpoint(run)
                    if verdict.signum:
                        raise Interrupted(verdict.signum)
                    if done:
                        break
            return self._finish(run)

    # ---- its parts ---------------------------------------------------------------------
    def _fit_to_budget(self) -> TrainConfig:
        """The task's budget fit of a fresh run (text: hidden and batch from a throughput
        probe under ``max_time``), said in one line on stderr."""
        fitted, note = self.task.fit_to_budget(self.config, self.given)
        if fitted is not self.config or note:
            fitted.validate()
            self.task.check_memory(fitted.batch_size)
            self.config = fitted
            if note and self.progress and self.is_main:
                print(note, file=sys.stderr, flush=True)
        return self.config

    def _restore(self, saved: TrainState | None) -> LoopState:
        """Build the model, optimiser and hooks, and load ``saved`` into them."""
        parts = build_parts(self.task, self.config, self.device)
        self.model, self.optimizer, self.data_gen = parts.model, parts.optimizer, parts.data_gen
        self.batch_size, self.train_model = parts.batch_size, parts.train_model
        self.autocast, self.scaler = parts.autocast, parts.scaler
        self.log = self.folder.metrics
        ckpt = self.folder.checkpoint_path
        run = LoopState() if saved is None else resumed_loop(saved, ckpt, parts, self.task)
        # The task's own callbacks (text: samples.md); only rank 0 gets a folder to write in.
        self._hooks = [*self.task.callbacks(self.run_dir if self.is_main else None)]
        self._hooks += self.callbacks
        shown = any(isinstance(c, ProgressState) for c in self._hooks)
        if self.progress and self.is_main and not shown:
            title = f"{self.task.name} {self._model_config().get('model') or ''}".strip()
            self._hooks.append(PlainProgress(title, max_time=self.config.max_time))
        return run

    def _train_step(self, run: LoopState) -> dict[str, float]:
        cfg = self.config
        set_lr(self.optimizer, cfg.lr, scheduled_factor(cfg, run.step, run.elapsed()))
        self.model.train()
        batch = self.task.train_batch(self.batch_size, self.data_gen, self.device)
        with self.autocast:
            loss, stats = self.task.loss(self.train_model, batch)
        if not torch.isfinite(loss):
            raise self._diverged(run, run.step + 1, f"the loss became {loss.item()}")
        update(loss, self.optimizer, self.model.parameters(), cfg.max_norm, self.scaler)
        run.step += 1
        if not all_finite(self.model):
            raise self._diverged(run, run.step, "the update made some weights NaN or inf")
        stats = {"loss": loss.item(), **stats}
        run.add_train_stats(stats)
        return {**stats, "lr": self.optimizer.param_groups[0]["lr"], "elapsed": run.elapsed()}

    def _evaluate(self, run: LoopState) -> bool:
        """Log one record, keep ``best.pt`` on ``task.metric``; true once ``--target`` is met."""
        record = self._evaluation_record(run)
        run.sums, run.count = {}, 0
        value = record[self.task.metric]
        bad = rules.non_finite_val(record)
        if bad:
            raise self._diverged(run, run.step, ", ".join(bad))
        eligible = self.task.eligible(record)  # False at a curriculum's shorter lengths
        if eligible and self.task.better(value, run.best):
            run.best = value
            run.best_val = {k: v for k, v in record.items() if k.startswith("val_")}
            if self.is_main:
                best = best_record(
                    self.task.name, self.model.state_dict(), run.step, value, self._best_config()
                )
                self.folder.save_best(best)
            run.best_step = run.step
        if self.is_main:
            self.log.append(record)
        event = self.task.after_eval(record)
        if event and self.is_main:
            self.log.append({"step": run.step, **event})
        emit(self._hooks, "on_eval", run.step, record)
        target = self.config.target
        if eligible and target is not None and rules.reached(value, target, self.task.mode):
            run.stopped_by = "target"
            return True
        return False

    def _checkpoint(self, run: LoopState) -> None:
        # Every rank's data position, so that each resumes its own stream.
        ranks = (
            dist.gather_objects(self.data_gen.get_state()),
            dist.gather_objects(self.task.state_dict()),
            dist.gather_objects([run.sums, run.count]),
        )
        run.last_checkpoint = time.perf_counter()
        if not self.is_main:
            return
        task, kind = self.task, self.config.optimizer
        state = capture(
            run, task.name, self.model, self.optimizer, ranks, self._task_config(), kind
        )
        self.folder.save_state(state)
        run.saved_step = run.step
        emit(self._hooks, "on_checkpoint", run.step)

    def _finish(self, run: LoopState) -> dict[str, Any]:
        """Report the test figures of the model in ``best.pt``, once, and log them last."""
        seconds, cpu = run.elapsed(), run.cpu_seconds()
        dist.barrier()  # rank 0 has finished writing best.pt
        best_path = self.folder.best_path
        if best_path.exists():
            fit_model_state(self.model, read_best(best_path, self.device), best_path)
        self.model.eval()
        with torch.no_grad():
            report = self.task.report(self.model, self.device)
        if self.is_main:
            final = {"final": True, "step": run.step, "elapsed": round(seconds, 3),
                     "cpu_seconds": round(cpu, 3)}  # fmt: skip
            self.log.append({**final, **run.best_val, **report})
        result = {
            **run.best_val,
            **report,
            "steps": run.step,
            "seconds": round(seconds, 2),
            "cpu_seconds": round(cpu, 2),
            "stopped_by": run.stopped_by,
            "run_dir": str(self.run_dir),
        }
        emit(self._hooks, "on_end", result)
        return result

    # ---- helpers -----------------------------------------------------------------------
    def _prepare_run_dir(self, run: LoopState, resume: bool) -> None:
        """Open the run folder (manifest, ``config.toml``, ``metrics.jsonl`` cut back to
        ``run.step``) and the loggers."""
        if not self.is_main:
            return
        task_config = getattr(self.task, "config", None) or {}
        fingerprint = self.task.fingerprint
        note = self.folder.open(
            resume, self.command, run.step, self.task.name, task_config, self.config, fingerprint
        )
        if note and self.progress:
            print(note, file=sys.stderr, flush=True)
        self._hooks += make_loggers(
            self.config.logger,
            self.run_dir,
            units=getattr(self.task, "units", None),
            title=f"{self.task.name} · {self._model_config().get('model') or ''}",
        )

    def _task_config(self) -> dict[str, Any]:
        return as_plain(getattr(self.task, "config", None) or {})

    def _model_config(self) -> dict[str, Any]:
        return {**self.extra_config, **self.task.model_config()}

    def _best_config(self) -> dict[str, Any]:
        """best.pt's ``config``: what rebuilds the model (the task's model config, read now,
        after any budget fit) and the task config, the same from Python as from the CLI."""
        task_config = getattr(self.task, "config", None)
        plain = dict(vars(task_config)) if hasattr(task_config, "__dict__") else {}
        return {"task_config": plain, **self._model_config()}

    def _diverged(self, run: LoopState, step: int, what: str) -> TrainingDiverged:
        has_best = self.folder.best_path.exists()
        return rules.diverged(self.run_dir, step, what, run.saved_step, run.best_step, has_best)

    def _evaluation_record(self, run: LoopState) -> dict[str, Any]:
        self.model.eval()
        with torch.no_grad():
            metrics = self.task.evaluate(self.model, self.device)
            extra = self.task.on_eval(self.model, self.device, run.step)
        who = type(self.task).__name__
        return rules.evaluation_record(run, metrics, extra, dist.mean, who)
