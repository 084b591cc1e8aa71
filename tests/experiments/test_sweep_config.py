"""Sweep settings have one source (configs/compare.toml), a --config layer that refuses unknown
keys, and sweep.json says what produced it (issues 29, 30)."""

import dataclasses
import json

import pytest

from sgtk.errors import SgtkError
from sgtk.experiments.sweep import Sweep, compare_defaults
from sgtk.tasks.registry import TASK_NAMES
from tests.helpers import assert_one_line_error, invoke


@pytest.mark.parametrize("task", TASK_NAMES)
def test_a_sweeps_settings_are_compare_toml_s(task):
    table = compare_defaults()[task]
    sweep = Sweep.from_config(task)
    for key, value in table.items():
        assert getattr(sweep, key) == value, key
    # what every task's table sets has no default of its own on Sweep: one source only
    every = set.intersection(*(set(compare_defaults()[t]) for t in TASK_NAMES))
    own = {f.name for f in dataclasses.fields(Sweep) if f.default is not dataclasses.MISSING}
    own |= {
        f.name for f in dataclasses.fields(Sweep) if f.default_factory is not dataclasses.MISSING
    }
    assert {"steps", "params", "batch_size", "seeds"} <= every
    assert not every & own, sorted(every & own)


def test_compare_help_shows_compare_toml_s_defaults():
    r = invoke("compare", "rnn-vs-gcn", "--help")
    assert r.exit_code == 0
    text = " ".join(r.output.replace("│", " ").split())  # the panels' wrapped lines, joined
    toml = compare_defaults()
    steps = ", ".join(f"{t} {toml[t]['steps']}" for t in TASK_NAMES)
    params = ", ".join(f"{t} {toml[t]['params']}" for t in TASK_NAMES)
    assert f"Default: {steps}." in text and f"Default: {params}." in text
    lengths = ",".join(map(str, toml["palindrome"]["lengths"]))
    assert f"Default: palindrome {lengths}." in text


def test_a_config_file_lays_over_compare_toml_and_flags_over_it(tmp_path):
    config = tmp_path / "mine.toml"
    config.write_text("[palindrome]\npatience = 7\nsteps = 50\n\n[text]\nseeds = 5\n")
    sweep = Sweep.from_config("palindrome", config, steps=9)
    assert (sweep.patience, sweep.steps) == (7, 9)  # the file's, then the flag's
    assert sweep.params == compare_defaults()["palindrome"]["params"]  # the rest shipped
    assert Sweep.from_config("text", config).seeds == 5
    nested = tmp_path / "nested.toml"  # the same tables as a [compare] section of a file
    nested.write_text("[compare.palindrome]\npatience = 7\n")
    assert Sweep.from_config("palindrome", nested).patience == 7


@pytest.mark.parametrize(
    "text,words",
    [
        ("[palindrome]\npatiense = 3\n", ("patiense", "did you mean patience")),
        ("[palindrom]\nsteps = 3\n", ("palindrom", "did you mean palindrome")),
    ],
)
def test_an_unknown_key_in_a_config_file_is_refused_with_the_closest(tmp_path, text, words):
    config = tmp_path / "typo.toml"
    config.write_text(text)
    with pytest.raises(SgtkError, match="did you mean"):
        Sweep.from_config("palindrome", config)
    r = invoke("compare", "rnn-vs-gcn", "--config", config, "--out", tmp_path / "c")
    assert_one_line_error(r, *words)
    assert not (tmp_path / "c").exists()


def test_a_tiny_cli_sweep_from_a_config_writes_report_md_and_its_producer(tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(
        "[palindrome]\nmodels = ['rnn']\nlengths = [5]\nlayers = [2]\nseeds = 1\n"
        "steps = 2\neval_every = 2\nparams = 3000\njobs = 1\npatience = 0\n"
    )
    out = tmp_path / "cmp"
    r = invoke("compare", "rnn-vs-gcn", "--config", config, "--out", out)
    assert r.exit_code == 0, r.output
    report = (out / "report.md").read_text()
    assert "## palindrome" in report and "| rnn |" in report and "cores" in report
    saved = json.loads((out / "sweep.json").read_text())
    assert saved["steps"] == 2 and saved["runs"]["models"] == ["rnn"]
    produced = saved["produced_by"]
    assert {"sgtk", "torch", "torch_geometric", "python", "host", "cpu", "command"} <= set(produced)
    assert len(produced["git_commit"]) == 40  # the tests run in a git checkout
    # a resume on another machine is the same sweep: the producer is not compared
    saved["produced_by"] = {"host": "elsewhere"}
    (out / "sweep.json").write_text(json.dumps(saved))
    r = invoke("compare", "rnn-vs-gcn", "--config", config, "--out", out, "--resume")
    assert r.exit_code == 0, r.output


def test_set_overrides_any_key_last_and_refuses_a_typo(tmp_path):
    sweep = Sweep.from_config("palindrome", None, ["patience=9", "text.seeds=4"], patience=1)
    assert sweep.patience == 9 and sweep.seeds == compare_defaults()["palindrome"]["seeds"]
    assert Sweep.from_config("text", None, ["text.seeds=4"]).seeds == 4
    assert Sweep.from_config("palindrome", None, ["min_delta=0.5"]).min_delta == 0.5
    r = invoke("compare", "rnn-vs-gcn", "--set", "min_delt=0.1", "--out", tmp_path / "c")
    assert_one_line_error(r, "min_delt", "did you mean min_delta")
    r = invoke("compare", "rnn-vs-gcn", "--set", "patience", "--out", tmp_path / "c")
    assert_one_line_error(r, "key=value")
    assert not (tmp_path / "c").exists()


def test_a_task_without_a_compare_toml_table_is_one_line_naming_what_to_add(monkeypatch):
    from sgtk.experiments import sweep as sweep_module

    shipped = compare_defaults()
    monkeypatch.setattr(
        sweep_module, "compare_defaults", lambda: {k: v for k, v in shipped.items() if k != "text"}
    )
    with pytest.raises(SgtkError, match=r"sets no .*steps.* for text: add them to its \[text\]"):
        Sweep.from_config("text")


@pytest.mark.parametrize(
    "given,said",
    [
        (("--config", "bad.toml"), "patience = 'x' in [palindrome] of --config bad.toml must be"),
        (("--set", "patience=x"), "--set patience=x must be an integer"),
        (("--set", "steps=1e3"), "--set steps=1e3 is not a whole number as written: write 1000"),
        (("--set", "lengths=['a']"), "--set lengths=['a'] holds a value that must be an integer"),
        (("--set", "lr={rnn='x'}"), "must be a number"),
        (("--set", "shard=x"), "--set shard=x must be a list of 2 values"),
    ],
)
def test_a_compare_value_of_the_wrong_kind_is_one_line_before_anything_is_written(
    tmp_path, monkeypatch, given, said
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.toml").write_text('[palindrome]\npatience = "x"\n')
    r = invoke(
        "compare", "rnn-vs-gcn", *given, "--out", "cmp", "--steps", 1, "--models", "rnn",
        "--lengths", 4, "--seeds", 1,
    )  # fmt: skip
    assert_one_line_error(r, said)
    assert r.exit_code == 2
    assert not (tmp_path / "cmp").exists()
