"""Each command shows the settings its library errors name in backticks as its own flags
(issue 29): one line, the flags, no backtick left."""

from __future__ import annotations

from tests.helpers import assert_one_line_error, invoke

TINY = ("train", "palindrome", "--model", "lstm", "--hidden", "8", "--layers", "1")


def _flags_only(result, *words: str) -> None:
    assert_one_line_error(result, *words)
    assert "`" not in result.output, result.output


def test_train_into_a_folder_holding_a_run_shows_resume_and_out(tmp_path):
    (tmp_path / "checkpoint.pt").write_text("x")
    r = invoke(*TINY, "--steps", 2, "--out", tmp_path)
    _flags_only(r, "set --resume to continue it, or choose another --out")


def test_train_resume_without_a_checkpoint_shows_resume_and_out(tmp_path):
    r = invoke(*TINY, "--steps", 2, "--resume", "--out", tmp_path)
    _flags_only(r, "--resume given", "drop --resume", "point --out at an earlier run")


def test_train_resume_with_another_optimizer_shows_its_flags(tmp_path):
    run = tmp_path / "run"
    first = invoke(*TINY, "--steps", 2, "--batch-size", 8, "--eval-every", 1, "--out", run)
    assert first.exit_code == 0, first.output
    r = invoke(*TINY, "--steps", 4, "--optimizer", "rmsprop", "--resume", "--out", run)
    _flags_only(r, "--resume:", "trained with --optimizer adam", "set --optimizer to adam")
    assert "another --out" in r.output


SWEEP = ("compare", "rnn-vs-gcn", "--task", "palindrome", "--lengths", 5, "--models", "rnn",
         "--layers", 1, "--seeds", 1, "--steps", 2, "--params", 3000, "--jobs", 1)  # fmt: skip


def test_compare_into_a_folder_holding_a_sweep_shows_resume_and_out(tmp_path):
    (tmp_path / "runs" / "a-run").mkdir(parents=True)
    r = invoke(*SWEEP, "--out", tmp_path)
    _flags_only(r, "already holds a sweep: set --resume to finish it, or choose another --out")


def test_compare_shows_its_own_flags_for_the_sweep_settings(tmp_path):
    r = invoke("compare", "rnn-vs-gcn", "--task", "all", "--models", "rnn", "--out", tmp_path)
    _flags_only(r, "--models cannot apply to every task: drop it, or run one --task")
    r = invoke(*SWEEP, "--set", "patience", "--out", tmp_path / "c")
    _flags_only(r, "--set 'patience' is not key=value")


def test_plot_zoo_shows_the_sweep_flag_that_rewrites_a_corrupt_row(tmp_path):
    row = tmp_path / "runs" / "a-run" / "row.json"
    row.parent.mkdir(parents=True)
    row.write_text("{")
    r = invoke("plot", "zoo", tmp_path, "--out", tmp_path / "zoo.png")
    _flags_only(r, "corrupt", "rerun the sweep with --resume")


def test_a_negative_flag_may_be_named_without_its_dashes():
    """A config's metadata may name a bool's negative flag as the library spells names
    (``"negative": "scalar"``): the command adds the dashes."""
    from dataclasses import dataclass, field

    from sgtk_cli.train import field_options

    @dataclass
    class Config:
        one_hot: bool = field(default=True, metadata={"help": "h", "negative": "scalar"})
        dashed: bool = field(default=True, metadata={"help": "h", "negative": "--plain"})
        compile: bool = field(default=False, metadata={"help": "h"})

    decls = [p.default.param_decls[0] for _, p in field_options(Config)]
    assert decls == ["--one-hot/--scalar", "--dashed/--plain", "--compile/--no-compile"]
