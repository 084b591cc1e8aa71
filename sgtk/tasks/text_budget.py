"""Text defaults that fit the machine: under ``--max-time`` a short throughput probe picks
the char-LSTM's hidden size and batch, so the budget buys enough updates on this CPU.

Why: a size tuned on one CPU is wrong on another. On a 2-core AMD EPYC without AVX-512 the
old default (hidden 384, batch 32) made about 250 updates in 75 s. Measured there in 75 s
(bench_text, quiet machine): about 1,475 updates of 32 windows (hidden 128) beat an
untuned hidden-256 loop by 0.035 nats, and about 2,050 of 16 windows by 0.076: short budgets
want updates more than width. So the probe times two sizes, predicts the step time of each
candidate from its multiply-adds, and takes the widest that still makes ``MIN_STEPS``
updates in the budget, halving the batch while none does.
The LR follows the width it picks: the shipped Adam LR (4e-3) was tuned at the shipped width
(384), and Adam's best LR falls about as 1/width (muP's rule for hidden matrices), so a fitted
width w gets ``lr * 384 / w`` (1.2e-2 at 128) unless the user set the LR or the width. At
hidden 128 the shipped 4e-3 lost 0.06-0.14 nats val to 1.2e-2, and with 4e-3 a loop tuned to
the same budget (the bench's reference) beat these defaults by 0.03-0.09 nats (docs/text.md).
Without --max-time the width stays 384 and the LR 4e-3, as before.
bf16 autocast is used only where the CPU has it natively (see ``mixed_precision``); the probe
runs under the same autocast, so it measures the precision the run will use.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from sgtk.models.charlm import CharLSTM
from sgtk.models.registry import get
from sgtk.train.train_config import TrainConfig, mixed_precision, resolve_device

if TYPE_CHECKING:  # text.py calls this module lazily: a top-level import would be a cycle
    from sgtk.tasks.text import TextConfig

HIDDEN_SIZES = (128, 192, 256, 320, 384, 448, 512)
PROBED = (128, 256)  # timed; the others are predicted from these two
MIN_STEPS = 2000
MIN_BATCH = 8
PROBE_FROM = 15.0  # seconds of budget; below this the probe would eat too much of it
ADAMS = ("adam", "adamw")  # the LR-width rule is Adam's; SGD's best LR scales otherwise


@dataclass
class BudgetFit:
    hidden: int
    batch_size: int
    precision: str
    seconds: float  # spent probing, to take off the budget
    note: str  # for config.toml
    lr: float | None = None  # the width-scaled LR, where the fit chose it


def multiply_adds(vocab: int, hidden: int, layers: int, embed: int) -> int:
    """Per character, forward: the LSTM's gate matmuls and the output head."""
    first = 4 * hidden * (embed + hidden)
    return first + (layers - 1) * 4 * hidden * 2 * hidden + hidden * vocab


def step_seconds(
    vocab: int, hidden: int, layers: int, embed: int, batch: int, seq: int, config: TrainConfig
) -> float:
    """Seconds of one training step (forward, backward, clip, Adam), after a warm-up."""
    device = resolve_device(config.device)
    model = CharLSTM(vocab, hidden, layers, embed).to(device)
    opt = torch.optim.Adam(model.parameters(), config.lr)
    tokens = torch.randint(0, vocab, (batch, seq + 1), device=device)
    autocast, _ = mixed_precision(device, config)

    def step() -> None:
        with autocast:
            logits, _ = model.forward_tokens(tokens[:, :-1])
        loss = F.cross_entropy(logits.float().flatten(0, 1), tokens[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_norm or 1e9)
        opt.step()

    step()
    best = float("inf")
    for _ in range(2):  # the faster of two: a step the OS preempted says nothing of the CPU
        start = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def fit_to_budget(
    vocab: int,
    layers: int,
    embed: int,
    seq: int,
    config: TrainConfig,
    sizes: tuple[int, ...] = HIDDEN_SIZES,
    vary_batch: bool = True,
) -> BudgetFit:
    """The widest of ``sizes`` that makes ``MIN_STEPS`` steps of ``config.batch_size``
    windows in ``config.max_time`` seconds (with ``vary_batch``, halving the batch down to
    ``MIN_BATCH`` while none does; the narrowest size if none ever does)."""
    assert config.max_time is not None
    started = time.perf_counter()
    (h0, h1), b0 = PROBED, config.batch_size
    timed = [step_seconds(vocab, h, layers, embed, b0, seq, config) for h in PROBED]
    m0, m1 = (multiply_adds(vocab, h, layers, embed) for h in (h0, h1))
    slope = max((timed[1] - timed[0]) / (m1 - m0), 0.0)  # seconds per multiply-add of a batch
    fixed = max(timed[0] - slope * m0, 0.0)  # per step, whatever the size
    spent = time.perf_counter() - started
    budget = config.max_time - spent
    batch = b0
    while True:  # the matmuls scale with the batch; the fixed part does not
        steps = {
            h: budget / (fixed + slope * multiply_adds(vocab, h, layers, embed) * batch / b0)
            for h in sizes
        }
        fitting = [h for h in sizes if steps[h] >= MIN_STEPS]
        if fitting or not vary_batch or batch // 2 < MIN_BATCH:
            break
        batch //= 2
    hidden = max(fitting) if fitting else min(sizes)
    precision = "bf16" if _native_bf16(config) else "fp32"
    note = (
        f"probe: {b0}x{seq} steps of {timed[0] * 1e3:.0f} ms (hidden {h0}) and "
        f"{timed[1] * 1e3:.0f} ms (hidden {h1}); chose hidden {hidden}, batch {batch}, "
        f"about {steps[hidden]:.0f} steps in {budget:.0f} s, {precision}"
    )
    return BudgetFit(hidden, batch, precision, spent, note)


def width_lr(lr: float, tuned_width: int, width: int) -> float:
    """Adam's LR for ``width`` from one tuned at ``tuned_width``: LR x width kept constant."""
    return float(f"{lr * tuned_width / width:.4g}")


def _native_bf16(config: TrainConfig) -> bool:
    device = resolve_device(config.device)
    autocast, _ = mixed_precision(device, config)
    return isinstance(autocast, torch.autocast) and autocast.fast_dtype == torch.bfloat16


def apply_budget_fit(
    task: TextConfig, train: TrainConfig, vocab: int, given: set[str]
) -> BudgetFit | None:
    """Under ``--max-time`` (of ``PROBE_FROM`` s or more), with ``task.fit_budget``: set the
    hidden size and batch not in ``given`` (flags or ``--config`` keys) from the probe, and
    an Adam LR not given by :func:`width_lr` where the probe chose the width; take the probe's
    time off the budget and record the choice, with ``fit_budget`` off so the recorded config
    repeats these values."""
    if train.max_time is None or not task.fit_budget or not get(task.model).carries_state:
        return None
    if {"hidden", "batch_size"} <= given or train.max_time < PROBE_FROM:
        return None
    sizes = (task.hidden,) if "hidden" in given else HIDDEN_SIZES
    fit = fit_to_budget(
        vocab, task.layers, task.embed, task.seq_length, train, sizes, "batch_size" not in given
    )
    tuned_width = task.hidden
    task.hidden, train.batch_size = fit.hidden, fit.batch_size
    train.max_time = round(train.max_time - fit.seconds, 3)
    if not {"hidden", "lr"} & given and train.optimizer in ADAMS:
        fit.lr = width_lr(train.lr, tuned_width, fit.hidden)
        fit.note += f"; lr {fit.lr:g} ({train.lr:g} x {tuned_width}/{fit.hidden})"
        train.lr = fit.lr
    task.fit_budget, task.fitted = False, fit.note
    return fit


def budget_fitted(
    task: TextConfig, train: TrainConfig, vocab: int, given: frozenset[str] | set[str]
) -> tuple[TrainConfig, str]:
    """``TextTask.fit_to_budget``: a copy of ``train`` fitted by :func:`apply_budget_fit`
    (``task`` changes in place) and the probe's line, or ``train`` itself and ""."""
    fitted = dataclasses.replace(train)
    if apply_budget_fit(task, fitted, vocab, set(given)) is None:
        return train, ""
    return fitted, task.fitted
