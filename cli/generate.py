"""`sgtk generate`: sample text from a char-LSTM, streamed as it is drawn."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from sgtk_cli.common import err, guarded, out


def generate(
    prefix: str = typer.Option(
        None,
        "--prefix",
        "-p",
        help="Text the sample continues (default: a random first character, drawn from the "
        "training text's character distribution).",
    ),
    tau: str = typer.Option(
        None,
        "--tau",
        "--temperature",
        help="Temperature(s): sample from softmax(p / tau); tau < 1 is sharper, tau > 1 "
        "flatter, tau -> 0 greedy. A list (0.5,1,2) prints one block each, same seed. "
        "Default 1 (0.5,1,2 with --quality).",
    ),
    length: int = typer.Option(300, "--length", "-n", help="Characters to generate."),
    checkpoint: Path = typer.Option(
        None,
        "--checkpoint",
        help="A `sgtk train text` run directory or .pt file (default: the newest run, else "
        "the pretrained model).",
    ),
    greedy: bool = typer.Option(False, "--greedy", help="Always take the likeliest character."),
    top_k: int = typer.Option(None, "--top-k", help="Sample among the k likeliest only."),
    beam: int = typer.Option(None, "--beam", help="Beam search with this many beams."),
    seed: int = typer.Option(None, "--seed", help="Random seed, for a repeatable sample."),
    num_samples: int = typer.Option(1, "--num-samples", help="Independent samples."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    quality: Path = typer.Option(
        None,
        "--quality",
        help="Instead of printing samples: the share of generated words (letters, lower-cased) "
        "found in this corpus, per temperature, over 4 samples of 3,000 characters (seed 0 "
        "unless --seed).",
    ),
) -> None:
    """Sample text from a char-LSTM (temperature, top-k, greedy or beam search)."""
    from sgtk.errors import SgtkError
    from sgtk.generate import (
        beam_search,
        check_sampling,
        first_characters,
        load_char_model,
        parse_taus,
        sample,
    )
    from sgtk.train.trainer import resolve_device

    def go():
        import torch

        default_taus = "0.5,1,2" if quality else "1"
        taus = parse_taus(tau if tau is not None else default_taus)
        for t in taus:
            check_sampling(t, top_k, length)
        if num_samples < 1:
            raise SgtkError(f"--num-samples {num_samples} must be at least 1")
        if prefix == "":
            raise SgtkError("--prefix is empty: pass at least one character, or leave it out")
        dev = resolve_device(device)
        model, vocab, source = load_char_model(checkpoint, device=dev)
        if prefix is not None:
            vocab.encode(prefix)  # a clear error before anything is printed
        err.print(f"[dim]model: {source}[/]")
        if quality is not None:
            _quality(model, vocab, quality, taus, 0 if seed is None else seed)
            return
        if vocab.counts is None and prefix is None:
            err.print("[dim]no character counts in this model: first character drawn uniformly[/]")
        # A fixed seed shared by every temperature, so the blocks differ by tau alone.
        run_seed = seed if seed is not None else torch.seed() % 2**31
        if beam is not None:
            start = prefix
            if start is None:
                start = first_characters(vocab, 1, torch.Generator().manual_seed(run_seed))[0]
            text = start + beam_search(model, vocab, start, length, beam, dev)
            out.print(text, markup=False, highlight=False)
            return
        lead = prefix or ""
        for t in taus:
            if len(taus) > 1:
                out.rule(f"τ = {t:g}")
            if num_samples == 1:
                sys.stdout.write(lead)
                sample(model, vocab, prefix, length, t, greedy, top_k, run_seed, 1, dev, _stream)
                sys.stdout.write("\n")
                sys.stdout.flush()
                continue
            texts = sample(
                model, vocab, prefix, length, t, greedy, top_k, run_seed, num_samples, dev
            )
            for i, text in enumerate(texts):
                out.rule(f"sample {i + 1}", characters="·")
                out.print(lead + text, markup=False, highlight=False)

    guarded(go)


def _quality(model, vocab, corpus: Path, taus: list[float], seed: int) -> None:
    from rich.table import Table

    from sgtk.data.text import read_text
    from sgtk.generate_quality import LENGTH, SAMPLES, word_validity

    rows = word_validity(model, vocab, read_text(corpus, "--quality"), taus, seed=seed)
    table = Table(
        title=f"words found in {corpus.name} ({SAMPLES} × {LENGTH:,} characters per τ, "
        f"seed {seed})",
        title_justify="left",
    )
    for name in ("τ", "words", "found"):
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(f"{row['tau']:g}", f"{row['words']:,}", f"{row['found']:.3f}")
    out.print(table)


def _stream(ch: str) -> None:
    sys.stdout.write(ch)
    sys.stdout.flush()
