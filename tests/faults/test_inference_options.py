"""Issue 28, no silent options: every pair of `sgtk generate`'s options either changes what it
prints (each option makes a difference beside the other) or is refused in one line.

The pairs come from the command's own parameters, so a new option fails here until it is
given a test value below.
"""

import inspect
import itertools
import re
from pathlib import Path

import pytest
import torch

from sgtk.inference.generate import PRETRAINED
from sgtk.models.charlm import CharLSTM
from sgtk_cli.generate import generate
from tests.helpers import invoke

BASE = ("--length", "60")  # short; the model, seed and everything else are the defaults
# Options that by design never change the text (the same numbers on any device): beside
# another option they must be honoured, with that option's output unchanged.
NEUTRAL = {"device"}


def tiny_model(dest: Path, seed: int) -> Path:
    """A small random char-LSTM with the pretrained model's vocabulary, as ``dest/best.pt``:
    fast to run 70 times, and peaky enough (weights of std 0.8) that options show."""
    config = {**torch.load(PRETRAINED, weights_only=True)["config"], "hidden": 24}
    config.update(layers=1, embed=8)
    torch.manual_seed(seed)
    model = CharLSTM(len(config["vocab"]), 24, 1, 8)
    for p in model.parameters():
        p.data.normal_(0, 0.8)
    dest.mkdir(parents=True)
    state = {"task": "text", "config": config, "model": model.state_dict(), "step": 0}
    torch.save({**state, "metric": 0.0}, dest / "best.pt")
    return dest


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """runs/default (the model generate picks when no --checkpoint is given), another model
    and a corpus for --quality."""
    tmp = tmp_path_factory.mktemp("options")
    tiny_model(tmp / "runs" / "default", seed=0)
    tiny_model(tmp / "other", seed=1)
    (tmp / "corpus.txt").write_text("First Citizen:\nBefore we proceed any further, hear me.\n" * 9)
    return tmp


@pytest.fixture(scope="module")
def values(workdir) -> dict[str, tuple[str, ...]]:
    """A value other than the default for each option of `generate`."""
    return {
        "prefix": ("--prefix", "The "),
        "tau": ("--tau", "0.5"),
        "length": ("--length", "80"),
        "checkpoint": ("--checkpoint", str(workdir / "other")),
        "greedy": ("--greedy",),
        "top_k": ("--top-k", "3"),
        "beam": ("--beam", "2"),
        "seed": ("--seed", "1"),
        "num_samples": ("--num-samples", "2"),
        "device": ("--device", "cpu"),
        "quality": ("--quality", str(workdir / "corpus.txt")),
    }


@pytest.fixture(autouse=True)
def _fixed_default_seed(monkeypatch, workdir):
    """Without --seed, generate draws one from torch.seed(): fix it, so that a difference in
    the output comes from an option, never from chance."""
    monkeypatch.setattr(torch, "seed", lambda: 12345)
    monkeypatch.chdir(workdir)


_PRINTED: dict[tuple[str, ...], tuple[int, str, str]] = {}


def printed(*args: str) -> tuple[int, str, str]:
    """(exit code, what it printed that depends on the options, stderr); each command once."""
    if args not in _PRINTED:
        _PRINTED[args] = _run(*args)
    return _PRINTED[args]


def _run(*args: str) -> tuple[int, str, str]:
    r = invoke("generate", *BASE, *args)
    text = r.stdout
    if "┃" in text:  # --quality's table: its rows, not a title that repeats the options
        text = "\n".join(ln for ln in text.splitlines() if ln.startswith("│"))
    return r.exit_code, text, r.stderr


def is_one_line_refusal(code: int, stdout: str, stderr: str) -> bool:
    lines = [ln for ln in (stdout + stderr).splitlines() if ln.strip()]
    return code == 2 and len(lines) == 1 and lines[0].startswith("error:")


def test_every_option_has_a_test_value(values):
    options = set(inspect.signature(generate).parameters)
    assert options == set(values), f"give these options a test value: {options ^ set(values)}"


def test_each_option_alone_is_honoured(values):
    code, base, err = printed()
    assert code == 0, err
    for name, args in values.items():
        code, text, err = printed(*args)
        assert code == 0, f"{name} alone: {err}"
        assert (text == base) == (name in NEUTRAL), f"{name} alone changes nothing"


def test_every_pair_changes_the_output_or_is_refused(values):
    alone = {}
    for name, args in values.items():
        code, alone[name], _ = printed(*args)
    silent, refused = [], []
    for a, b in itertools.combinations(values, 2):
        code, text, err = printed(*values[a], *values[b])
        if code != 0:
            assert is_one_line_refusal(code, text, err), f"{a} + {b}: {err or text}"
            refused.append((a, b))
            continue
        for kept, added in ((a, b), (b, a)):
            # beside ``kept``, ``added`` must make a difference (or, if neutral, none)
            if (text == alone[kept]) != (added in NEUTRAL):
                silent.append(f"--{added.replace('_', '-')} beside --{kept.replace('_', '-')}")
    assert not silent, f"options accepted and ignored: {silent}"
    # the combinations the issue found silently ignored are refused
    for pair in [("tau", "beam"), ("top_k", "beam"), ("greedy", "beam"), ("greedy", "quality")]:
        assert pair in refused, pair


@pytest.mark.parametrize(
    "args,flag",
    [
        (("--beam", "3", "--num-samples", "4"), "--num-samples"),
        (("--beam", "3", "--tau", "0.5,2"), "--tau"),
        (("--beam", "3", "--num-samples", "3", "--tau", "0.5,2", "--top-k", "2"), "--tau"),
        (("--greedy", "--tau", "0.5"), "--tau"),
        (("--greedy", "--prefix", "The ", "--seed", "1"), "--seed"),
        (("--greedy", "--prefix", "The ", "--num-samples", "2"), "--num-samples"),
        (("--beam", "2", "--prefix", "The ", "--seed", "1"), "--seed"),
    ],
)
def test_combinations_that_cannot_be_honoured_name_the_option(args, flag):
    code, text, err = printed(*args)
    assert is_one_line_refusal(code, text, err), err or text
    assert flag in err and "`" not in err, err


def test_beam_with_num_samples_prints_the_best_beams_first():
    code, one, _ = printed("--beam", "3", "--prefix", "The ")
    code3, three, err = printed("--beam", "3", "--prefix", "The ", "--num-samples", "3")
    assert code == code3 == 0, err
    texts = [t.strip() for t in re.split(r"^.* beam \d+ .*$", three, flags=re.M)[1:]]
    assert len(texts) == 3 and len(set(texts)) == 3
    assert texts[0] == one.strip()  # the best comes first, as --beam alone prints it


def test_quality_honours_length_and_num_samples(values):
    _, default, _ = printed(*values["quality"])
    _, longer, _ = printed(*values["quality"], "--length", "120", "--num-samples", "2")
    assert default != longer
    assert Path(values["quality"][1]).is_file()


@pytest.mark.parametrize(
    ("kwargs", "cli", "says"),
    [
        ({"beam": 3, "num_samples": 4}, ("--beam", "3", "--num-samples", "4"),
         "{num_samples} 4 with {beam} 3: the search ends with 3 texts"),
        ({"beam": 2, "tau": "0.5"}, ("--beam", "2", "--tau", "0.5"), "so {tau} cannot apply"),
        ({"greedy": True, "prefix": "The ", "seed": 1},
         ("--greedy", "--prefix", "The ", "--seed", "1"), "{seed} with {greedy} and {prefix}"),
    ],
)  # fmt: skip
def test_a_refusal_names_python_arguments_and_the_cli_shows_their_flags(kwargs, cli, says):
    from sgtk.errors import SgtkError
    from sgtk.inference.options import resolve_options

    names = ("num_samples", "beam", "tau", "seed", "greedy", "prefix")
    with pytest.raises(SgtkError) as e:
        resolve_options(**kwargs)
    assert says.format(**{n: f"`{n}`" for n in names}) in str(e.value), str(e.value)
    assert "--" not in str(e.value)
    code, text, err = printed(*cli)
    assert is_one_line_refusal(code, text, err), err or text
    assert says.format(**{n: "--" + n.replace("_", "-") for n in names}) in err, err
    assert "`" not in err, err
