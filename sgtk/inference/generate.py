"""Loading and exporting a trained char model for :mod:`sgtk.models.sampling`."""

from __future__ import annotations

from pathlib import Path

import torch

from sgtk.data.text import Vocab
from sgtk.errors import SgtkError
from sgtk.io.files import check_readable
from sgtk.models.charlm import CharLSTM
from sgtk.train.checkpoint import load_checkpoint

PRETRAINED = Path(__file__).resolve().parents[1] / "pretrained" / "charlm-tinyshakespeare.pt"


def load_char_model(
    checkpoint: Path | None = None, runs: Path = Path("runs"), device: torch.device | str = "cpu"
) -> tuple[CharLSTM, Vocab, str]:
    """A char-LSTM from a run directory (or its ``best.pt``), the newest text run under
    ``runs``, or else the pretrained model shipped with sgtk. Returns (model, vocab, source)."""
    if checkpoint is None:
        candidates = (
            sorted(runs.glob("*/best.pt"), key=lambda p: p.stat().st_mtime, reverse=True)
            if runs.is_dir()
            else []
        )
        for path in candidates:
            if _is_text_checkpoint(path):
                checkpoint = path
                break
        else:
            checkpoint = PRETRAINED
    from sgtk.inference.export import load_model_files, load_weights

    path = Path(checkpoint)
    if not path.is_dir():
        check_readable(path, "--checkpoint")
    files = load_model_files(path, device, task="text")
    cfg = files.config
    if cfg.get("model") != "lstm":
        raise SgtkError(
            f"{files.source} holds a {cfg.get('model')!r} text model; generation needs "
            "an LSTM run (sgtk train text --model lstm)"
        )
    vocab = Vocab(cfg["vocab"], cfg.get("char_counts"))  # older models carry no counts
    model = CharLSTM(len(vocab), cfg["hidden"], cfg["layers"], cfg["embed"], cfg["dropout"])
    load_weights(model, files)
    path = Path(files.source)
    return model.to(device).eval(), vocab, str(path)


def _is_text_checkpoint(path: Path) -> bool:
    try:
        return load_checkpoint(path).get("task") == "text"
    except SgtkError:
        return False


def export_char_model(run_dir: Path | str, dest: Path | str = PRETRAINED) -> Path:
    """Write a run's best char-LSTM as a small half-precision file (how the pretrained
    default was made)."""
    from sgtk.train.checkpoint import save_checkpoint

    state = load_checkpoint(Path(run_dir) / "best.pt")
    state["model"] = {
        k: v.half() if v.is_floating_point() else v for k, v in state["model"].items()
    }
    save_checkpoint(
        {
            "task": state["task"],
            "config": state["config"],
            "model": state["model"],
            "step": state["step"],
            "metric": state["metric"],
        },
        Path(dest),
    )
    return Path(dest)
