"""Gradients over time (seed Q1.1): how much the loss at step T feels each hidden state."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from sgtk.data.palindrome import PalindromeData
from sgtk.models.predictor import Predictor
from sgtk.models.registry import REGISTRY
from sgtk.nn import LSTM


def grad_norms(
    model: Predictor, data: PalindromeData, batch_size: int = 64, seed: int = 0
) -> torch.Tensor:
    """Mean over a batch of ||dL/dh_t|| for t = 1..T-1, the loss taken at the last step.

    The cell runs one step at a time here so that every h_t is a node of the autograd graph
    and its gradient is the total one, through all later steps.
    """
    batch = data.train_batch(batch_size, torch.Generator().manual_seed(seed))
    x = batch.x.view(batch_size, data.length - 1, -1)
    cell = model.backbone.cell
    is_lstm = isinstance(cell, LSTM)
    state, hs = None, []
    for t in range(x.shape[1]):
        out, new = cell(x[:, t : t + 1], state)
        h = out[:, 0].clone()  # its own autograd node, so that .grad is the total gradient
        h.retain_grad()
        hs.append(h)
        state = (h, new[1]) if is_lstm else h
    loss = F.cross_entropy(model.head(hs[-1]), batch.y)
    loss.backward()
    return torch.stack([h.grad.norm(dim=-1).mean() for h in hs])


# The recurrent models whose own init (orthogonal, chrono) is not Xavier: the comparison.
MEMORY_INITS = tuple(
    name for name, spec in REGISTRY.items() if spec.family == "recurrent" and spec.init != "xavier"
)


def grad_curves(length: int, trained: bool, steps: int, seed: int) -> dict[str, torch.Tensor]:
    """||dL/dh_t|| for the RNN and LSTM with Xavier and with the default init (and trained)."""
    import tempfile

    from sgtk.tasks.palindrome import PalindromeConfig, PalindromeTask
    from sgtk.train.trainer import TrainConfig, Trainer

    curves: dict[str, torch.Tensor] = {}
    for model in MEMORY_INITS:
        for init in ("xavier", "auto"):
            task = PalindromeTask(PalindromeConfig(model=model, length=length, init=init))
            torch.manual_seed(seed)
            name = f"{model} ({task.config.resolved_init()})"
            curves[f"{name} untrained"] = grad_norms(task.build_model(), task.data)
            if trained:
                with tempfile.TemporaryDirectory() as tmp:
                    cfg = TrainConfig(steps=steps, seed=seed, eval_every=max(steps // 5, 1))
                    trainer = Trainer(task, cfg, Path(tmp))
                    trainer.fit()
                    trained_model = trainer.model
                    assert isinstance(trained_model, Predictor)  # PalindromeTask builds one
                    curves[f"{name} trained"] = grad_norms(trained_model, task.data)
    return curves


def plot_grad_norms(curves: dict[str, torch.Tensor], path: Path, length: int) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sgtk.io.figures import figure_format, save_figure

    figure_format(path)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for label, values in curves.items():
        ax.semilogy(
            range(1, len(values) + 1),
            values.clamp_min(1e-30).numpy(),
            label=label,
            ls="--" if "trained" in label and "untrained" not in label else "-",
        )
    ax.set(
        xlabel="time step t",
        ylabel="||dL/dh_t||, batch mean (log scale)",
        title=f"Gradients over time, palindromes of length {length}\n"
        "(loss at the last step; dashed: after training)",
    )
    ax.legend(fontsize=8, loc="lower right")
    return save_figure(fig, path)
