"""`sgtk generate`: sample text from a char-LSTM, streamed as it is drawn."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from sgtk_cli.common import err, guarded, out


def generate(
    prefix: str = typer.Option("\n", "--prefix", "-p", help="Text the sample continues."),
    tau: float = typer.Option(
        1.0,
        "--tau",
        help="Temperature: sample from softmax(p / tau). "
        "tau < 1 is sharper, tau > 1 flatter, tau -> 0 greedy.",
    ),
    length: int = typer.Option(300, "--length", "-n", help="Characters to generate."),
    checkpoint: Path = typer.Option(
        None,
        "--checkpoint",
        help="A `sgtk train text` run directory (default: the newest, else the pretrained).",
    ),
    greedy: bool = typer.Option(False, "--greedy", help="Always take the likeliest character."),
    top_k: int = typer.Option(None, "--top-k", help="Sample among the k likeliest only."),
    beam: int = typer.Option(None, "--beam", help="Beam search with this many beams."),
    seed: int = typer.Option(None, "--seed", help="Random seed, for a repeatable sample."),
    num_samples: int = typer.Option(1, "--num-samples", help="Independent samples."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
) -> None:
    """Continue --prefix with a char-LSTM (temperature, top-k, greedy or beam search)."""
    from sgtk.generate import beam_search, check_sampling, load_char_model, sample
    from sgtk.train.trainer import resolve_device

    def go():
        check_sampling(tau, top_k, length)
        if num_samples < 1:
            from sgtk.errors import SgtkError

            raise SgtkError(f"--num-samples {num_samples} must be at least 1")
        dev = resolve_device(device)
        model, vocab, source = load_char_model(checkpoint, device=dev)
        vocab.encode(prefix)  # a clear error before anything is printed
        err.print(f"[dim]model: {source}[/]")
        if beam is not None:
            out.print(
                prefix + beam_search(model, vocab, prefix, length, beam, dev),
                markup=False,
                highlight=False,
            )
            return
        if num_samples == 1:
            sys.stdout.write(prefix)

            def stream(ch: str) -> None:
                sys.stdout.write(ch)
                sys.stdout.flush()

            sample(model, vocab, prefix, length, tau, greedy, top_k, seed, 1, dev, stream)
            sys.stdout.write("\n")
            return
        texts = sample(model, vocab, prefix, length, tau, greedy, top_k, seed, num_samples, dev)
        for i, t in enumerate(texts):
            out.rule(f"sample {i + 1}")
            out.print(prefix + t, markup=False, highlight=False)

    guarded(go)
