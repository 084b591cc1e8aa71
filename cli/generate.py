"""`sgtk generate`: sample text from any text model, streamed as it is drawn."""

from __future__ import annotations

import math
import sys
from inspect import signature
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
        "flatter; a tiny tau (1e-40) samples the likeliest character, as --greedy does. A list "
        "(0.5,1,2) prints one block each, same seed. Default 1 (0.5,1,2 with --quality).",
    ),
    length: int = typer.Option(
        None, "--length", "-n", help="Characters to generate (default 300; 3,000 with --quality)."
    ),
    checkpoint: Path = typer.Option(
        None,
        "--checkpoint",
        help="A `sgtk train text` run folder, its best.pt, or an `sgtk export` folder (default: "
        "the pretrained char-LSTM shipped with sgtk).",
    ),
    greedy: bool = typer.Option(
        False, "--greedy", help="Always take the likeliest character (no --tau, --top-k)."
    ),
    top_k: int = typer.Option(None, "--top-k", help="Sample among the k likeliest only."),
    beam: int = typer.Option(
        None,
        "--beam",
        help="Beam search with this many beams; prints the --num-samples best (default 1). "
        "Draws nothing, so no --tau, --top-k or --greedy.",
    ),
    seed: int = typer.Option(None, "--seed", help="Random seed, for a repeatable sample."),
    num_samples: int = typer.Option(
        None, "--num-samples", help="Independent samples (default 1; 4 with --quality)."
    ),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    quality: Path = typer.Option(
        None,
        "--quality",
        help="Instead of printing samples: the share of generated words (letters, lower-cased) "
        "found in this corpus, per temperature, over --num-samples samples of --length "
        "characters (default 4 of 3,000; seed 0 unless --seed); then, where this is the "
        "model's training text, its loss on the held-out last 10 %: in 256-character windows "
        "from a zero state (nanoGPT's protocol) and with the state carried (heldout_loss).",
    ),
) -> None:
    """Sample text from any text model (temperature, top-k, greedy or beam search).

    Recurrent models carry their state; graph and attention models read a sliding window of
    their run's --seq-length characters.
    """
    from sgtk.inference.generate import load_text
    from sgtk.inference.options import check_against_model, resolve_options
    from sgtk.train.train_config import resolve_device

    def go():
        opts = resolve_options(prefix, tau, length, greedy, top_k, beam, seed, num_samples, quality)
        lm, pretrained = load_text(checkpoint, resolve_device(device))
        check_against_model(opts, lm)  # a clear error before anything is printed
        if pretrained:
            note = f"no --checkpoint: sampling from the pretrained char-LSTM ({lm.source})"
            err.print(note, soft_wrap=True, markup=False, highlight=False)
        else:
            err.print(f"[dim]model: {lm.source}[/]")
        if quality is not None:
            _quality(lm, quality, opts)
            return
        if lm.vocab.counts is None and prefix is None:
            err.print("[dim]no character counts in this model: first character drawn uniformly[/]")
        run_seed = opts.run_seed()
        if beam is not None:
            texts = lm.beam(prefix, opts.length, beam, opts.num_samples, run_seed)
            for i, text in enumerate(texts):
                if len(texts) > 1:
                    out.rule(f"beam {i + 1}", characters="·")
                out.print(text, markup=False, highlight=False)
            return
        n, taus = opts.num_samples, opts.taus
        for t in taus:
            if len(taus) > 1:
                out.rule(f"τ = {t:g}")
            if n == 1:
                sys.stdout.write(prefix or "")
                lm.sample(prefix, opts.length, t, greedy, top_k, run_seed, 1, _stream)
                sys.stdout.write("\n")
                sys.stdout.flush()
                continue
            texts = lm.sample(prefix, opts.length, t, greedy, top_k, run_seed, n)
            for i, text in enumerate(texts):
                out.rule(f"sample {i + 1}", characters="·")
                out.print(text, markup=False, highlight=False)

    guarded(go, FLAGS)


def _quality(lm, corpus: Path, opts) -> None:
    from rich.table import Table

    from sgtk.data.text import read_text

    seed = opts.quality_seed
    text = read_text(corpus, "quality")
    rows = lm.word_validity(text, opts.taus, opts.num_samples,
                            opts.length, seed, opts.top_k, opts.prefix)  # fmt: skip
    top_k = f", top-k {opts.top_k}" if opts.top_k is not None else ""
    after = f", after {opts.prefix!r}" if opts.prefix is not None else ""
    table = Table(
        title=f"words found in {corpus.name} ({opts.num_samples} × {opts.length:,} characters "
        f"per τ, seed {seed}{top_k}{after})",
        title_justify="left",
    )
    for name in ("τ", "words", "found"):
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(f"{row['tau']:g}", f"{row['words']:,}", f"{row['found']:.3f}")
    out.print(table)
    _heldout(lm, text, corpus.name)


def _heldout(lm, text: str, name: str) -> None:
    """The held-out loss beside word validity: nanoGPT's protocol and the carried state."""
    from rich.table import Table

    from sgtk.errors import SgtkError

    try:
        losses = lm.heldout_losses(text, name)
    except SgtkError as e:  # word validity holds on any text; the held-out loss does not
        err.print(f"held-out loss not computed: {e}", soft_wrap=True, markup=False)
        return
    table = Table(
        title=f"held-out loss, last 10 % of {name} ({losses['characters']:,.0f} characters)",
        title_justify="left",
    )
    for column in ("read as", "nats/char", "bits/char"):
        table.add_column(column, justify="left" if column == "read as" else "right")
    rows = [("256-char windows from a zero state (nanoGPT)", losses["window_loss"])]
    seq = lm.task_config.get("seq_length")
    carried = f"state carried across {seq}-char windows (heldout_loss)"
    if losses["carried_loss"] is None:
        carried = f"state carried: {lm.model_name} carries none"
    rows.append((carried, losses["carried_loss"]))
    for label, loss in rows:
        shown = ("–", "–") if loss is None else (f"{loss:.4f}", f"{loss / math.log(2):.4f}")
        table.add_row(label, *shown)
    out.print(table)


def _stream(ch: str) -> None:
    sys.stdout.write(ch)
    sys.stdout.flush()


# The library's field names as this command's flags (errors print the flag): each option's
# first flag, and `count`, beam search's name for --num-samples.
FLAGS = {name: p.default.param_decls[0] for name, p in signature(generate).parameters.items()}
FLAGS["count"] = FLAGS["num_samples"]
