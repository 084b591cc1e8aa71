"""One source of defaults, runs that repeat from their own config.toml, and a CLI that
teaches itself (``--help``, ``--version``, ``--print-config``) without loading torch."""

import dataclasses
import json
import subprocess
import sys
import tomllib
from importlib.metadata import version

import pytest

from sgtk.train.config import default_config
from tests.helpers import assert_one_line_error, invoke, last_json


def _config_classes():
    from sgtk.tasks.registry import TASK_REGISTRY
    from sgtk.train.trainer import TrainConfig

    tasks = [
        (spec.config_file.removesuffix(".toml"), "task", spec.config_class())
        for spec in TASK_REGISTRY.values()
    ]
    return [("train", "train", TrainConfig), *tasks]


@pytest.mark.parametrize("name,section,cls", _config_classes(), ids=lambda v: str(v))
def test_dataclass_defaults_equal_the_shipped_toml(name, section, cls):
    toml = default_config(name)[section]
    for f in dataclasses.fields(cls):
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            continue  # no default of its own: the TOML is the only source
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        if default is None:  # TOML has no null: None means "unset" in both
            assert f.name not in toml, f"{name}.toml sets {f.name}, the dataclass None"
            continue
        assert f.name in toml, f"configs/{name}.toml lacks {f.name} (dataclass: {default!r})"
        assert toml[f.name] == default, f"{name}.{f.name}: toml {toml[f.name]!r} != {default!r}"


def test_a_task_train_table_overrides_the_shared_one():
    assert default_config("train")["train"]["steps"] == 10000
    assert default_config("molecules")["train"]["steps"] == 1000
    assert default_config("molecules")["train"]["momentum"] == 0.9  # from train.toml


def _records(path):
    return [
        {k: v for k, v in json.loads(line).items() if k not in ("elapsed", "cpu_seconds")}
        for line in path.read_text().splitlines()
    ]


def test_a_runs_config_toml_repeats_the_run(tmp_path):
    a, b = tmp_path / "A", tmp_path / "B"
    args = ("--length", 5, "--steps", 40, "--eval-every", 20, "--hidden", 16, "--json")
    first = last_json(invoke("train", "palindrome", *args, "--seed", 3, "--out", a))
    repeat = ("--config", a / "config.toml", "--out", b, "--json")
    second = last_json(invoke("train", "palindrome", *repeat))
    assert _records(a / "metrics.jsonl") == _records(b / "metrics.jsonl")
    assert first["test_accuracy"] == second["test_accuracy"]
    run = tomllib.loads((a / "config.toml").read_text())["run"]
    assert run["task"] == "palindrome" and "--seed 3" in run["command"]
    assert {"sgtk", "torch", "torch_geometric", "python"} <= run.keys()


def test_print_config_is_the_resolved_config(tmp_path):
    r = invoke("train", "palindrome", "--length", 7, "--lr", 0.01, "--print-config")
    assert r.exit_code == 0, r.output
    printed = tomllib.loads(r.stdout)
    assert printed["task"]["length"] == 7 and printed["train"]["lr"] == 0.01
    assert printed["train"]["target"] == default_config("palindrome")["train"]["target"]
    config = tmp_path / "c.toml"
    config.write_text(r.stdout)
    again = invoke("train", "palindrome", "--config", config, "--print-config")
    assert tomllib.loads(again.stdout) == printed
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "text,words",
    [
        ('task = "palindrome"\n', ["must be a table"]),
        ("[train]\nsteps = 'many'\n", ["steps", "integer"]),
        ("[train]\nlr = true\n", ["lr", "number"]),
        ("[task]\nlenght = 5\n", ["lenght", "length"]),
        ("[model]\nhidden = 5\n", ["[model]"]),
        ('[run]\ntask = "text"\n', ["'text' config"]),
        ("[train\n", ["not valid TOML"]),
    ],
)
def test_a_bad_config_file_is_one_line(tmp_path, text, words):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    r = invoke("train", "palindrome", "--config", config, "--out", tmp_path / "r")
    assert_one_line_error(r, *words)
    assert r.exit_code == 2
    assert not (tmp_path / "r").exists()


def _run_cli(*args: str) -> tuple[str, bool]:
    """Run the CLI in a fresh interpreter; return its output and whether torch got imported."""
    code = (
        "import sys\n"
        "from sgtk_cli.main import main\n"
        "try:\n"
        f"    main({list(args)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('TORCH-LOADED' if 'torch' in sys.modules else 'NO-TORCH')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return out.stdout + out.stderr, "TORCH-LOADED" in out.stdout


@pytest.mark.parametrize(
    "args", [["--help"], ["train", "palindrome", "--help"], ["train", "text", "--help"]]
)
def test_help_imports_no_torch(args):
    text, torch_loaded = _run_cli(*args)
    assert "Usage" in text, text
    assert not torch_loaded, "`sgtk " + " ".join(args) + "` imported torch"


def test_help_shows_resolved_defaults_choices_and_examples():
    text, _ = _run_cli("train", "molecules", "--help")
    flat = " ".join(text.replace("│", " ").split())
    assert "Examples" in flat and "sgtk train molecules --model gcn" in flat
    steps = default_config("molecules")["train"]["steps"]
    assert f"[default: ({steps})]" in flat  # the task's own default, not train.toml's
    assert "Choices: sgd, momentum, rmsprop, adam, adamw" in flat
    for panel in ("Model", "Optimisation", "Run", "Output"):
        assert f"─ {panel} " in text


def test_version_comes_from_the_package_metadata():
    text, torch_loaded = _run_cli("--version")
    assert text.splitlines()[0] == f"sgtk {version('sgtk')}"
    assert not torch_loaded


def test_resume_keeps_the_runs_task_and_refuses_to_change_it(tmp_path):
    run = tmp_path / "r"
    args = ("--length", 7, "--hidden", 16, "--eval-every", 10, "--out", run)
    last_json(invoke("train", "palindrome", *args, "--steps", 10, "--json"))
    resumed = invoke("train", "palindrome", "--out", run, "--resume", "--steps", 20, "--json")
    last_json(resumed)
    saved = tomllib.loads((run / "config.toml").read_text())
    assert saved["task"]["length"] == 7 and saved["train"]["steps"] == 20
    changed = invoke("train", "palindrome", "--out", run, "--resume", "--length", 9)
    assert_one_line_error(changed, "--resume would change", "length 7 -> 9")


# ---- one resolver, overrides, a writer that round-trips (issues 29, 30) --------------------
def test_the_toml_writer_round_trips_any_string():
    from sgtk.train.config import dumps_toml

    odd = 'runs/a\nb "quoted" \\ back\ttab é \x7f'
    data = {"run": {"command": odd}, "task": {"data": odd, "taus": [0.5, 1.0]}, "train": {}}
    assert tomllib.loads(dumps_toml(data)) == data


def test_layers_apply_in_order_shipped_file_values_overrides(tmp_path):
    from sgtk.tasks.registry import get_task
    from sgtk.train.resolve import resolve_layers

    config = tmp_path / "c.toml"
    config.write_text("[task]\nlength = 6\nhidden = 24\n[train]\nlr = 0.02\nseed = 4\n")
    r = resolve_layers(
        get_task("palindrome"),
        config,
        task_values={"hidden": 32, "layers": None},
        train_values={"lr": 0.03},
        overrides=["train.lr=0.05", "task.directed=false", "train.weight_decay=0.1"],
    )
    shipped = default_config("palindrome")
    assert (r.task.length, r.task.hidden, r.task.layers) == (6, 32, shipped["task"]["layers"])
    assert (r.train.lr, r.train.seed, r.train.weight_decay) == (0.05, 4, 0.1)
    assert r.task.directed is False
    assert r.given_keys() == {"length", "hidden", "lr", "seed", "directed", "weight_decay"}


@pytest.mark.parametrize(
    "item,words",
    [
        ("train.lrr=1", ["unknown key train.lrr in overrides: did you mean train.lr?"]),
        ("train.hidden=1", ["did you mean task.hidden?"]),
        ("model.hidden=1", ["unknown section model"]),
        ("train.lr", ["not section.key=value"]),
        ("train.steps=many", ["steps", "integer"]),
        ("task.one_hot=1", ["one_hot", "true or false"]),
    ],
)
def test_a_bad_override_is_refused_naming_the_key(item, words):
    from sgtk.errors import SgtkError
    from sgtk.tasks.registry import get_task
    from sgtk.train.resolve import resolve

    with pytest.raises(SgtkError) as e:
        resolve(get_task("palindrome"), overrides=[item])
    for w in words:
        assert w in str(e.value)


def test_library_errors_name_the_field_not_a_flag():
    from sgtk.errors import ConfigError
    from sgtk.train.train_config import TrainConfig

    for name, bad in (("lr", -1.0), ("steps", 0), ("lr_decay", 0.0), ("weight_decay", -1.0)):
        with pytest.raises(ConfigError) as e:
            TrainConfig(**{name: bad}).validate()
        assert e.value.field == name and str(e.value).startswith(f"{name} "), e.value
        assert "--" not in str(e.value)


def test_the_cli_prints_the_fields_flag():
    r = invoke("train", "palindrome", "--lr-decay", 0, "--print-config")
    assert_one_line_error(r, "error: --lr-decay 0.0 must be > 0")
    r = invoke("train", "palindrome", "--lr", "-1", "--print-config")
    assert_one_line_error(r, "error: --lr -1.0 must be positive, e.g. 1e-3")


@pytest.mark.parametrize(
    "item,said",
    [
        ("train.lr=nan", "error: train.lr nan is not a finite number"),
        ("train.lr=-1", "error: train.lr -1.0 must be positive"),
        ("train.steps=1e3", "error: train.steps=1e3 in --set is not a whole number as written: "
         "write 1000"),
        ("task.length=2", "error: task.length 2 is too short"),
    ],
)  # fmt: skip
def test_a_bad_set_value_is_named_as_written_not_as_a_flag(item, said):
    r = invoke("train", "palindrome", "--set", item, "--print-config")
    assert_one_line_error(r, said)
    assert r.exit_code == 2 and "--lr" not in r.output


def test_a_config_error_is_found_before_torch_loads():
    # torch and PyG take seconds to import (a minute on a loaded machine): a bad value or
    # graph name must be refused first
    code = (
        "import sys\n"
        "from sgtk.errors import SgtkError\n"
        "from sgtk.tasks.palindrome_config import PalindromeConfig as P\n"
        "from sgtk.tasks.text_config import TextConfig as T\n"
        "for c in (P(length=2), P(graph='window:0', model='gcn'), P(hidden=0), "
        "T(graph='ring'), T(layers=0)):\n"
        "    try:\n"
        "        c.validate()\n"
        "    except SgtkError as e:\n"
        "        print(type(c).__name__, 'torch' in sys.modules, e)\n"
        "    else:\n"
        "        print(type(c).__name__, 'accepted')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 5 and all(" False " in line for line in lines), done.stdout + done.stderr


def test_set_and_the_new_flags_land_in_the_resolved_config():
    r = invoke(
        "train",
        "palindrome",
        *("--set", "train.weight_decay=0.1", "--set", "task.curriculum_growth=2"),
        *("--momentum", 0.5, "--optimizer", "momentum", "--print-config"),
    )
    assert r.exit_code == 0, r.output
    printed = tomllib.loads(r.stdout)
    assert printed["train"]["weight_decay"] == 0.1 and printed["train"]["momentum"] == 0.5
    assert printed["task"]["curriculum_growth"] == 2.0
    r = invoke("train", "text", "--weight-decay", 0.01, "--dropout", 0.2, "--print-config")
    printed = tomllib.loads(r.stdout)
    assert printed["train"]["weight_decay"] == 0.01 and printed["task"]["dropout"] == 0.2


def test_set_with_an_unknown_key_is_one_line_with_a_suggestion():
    r = invoke("train", "palindrome", "--set", "train.lrr=1e-3", "--print-config")
    assert r.exit_code == 2
    assert r.output.strip() == "error: unknown key train.lrr in --set: did you mean train.lr?"


def test_data_root_sets_the_task_root(tmp_path):
    r = invoke("train", "text", "--data-root", tmp_path / "cache", "--print-config")
    assert r.exit_code == 0, r.output
    assert tomllib.loads(r.stdout)["task"]["root"] == str(tmp_path / "cache")


def test_a_config_file_problem_names_the_field_in_python_and_the_flag_in_the_cli(tmp_path):
    from sgtk.errors import SgtkError
    from sgtk.train.config import read_toml

    with pytest.raises(SgtkError) as e:
        read_toml(tmp_path)
    assert e.value.field == "config" and str(e.value).startswith(f"config {tmp_path} is a")
    assert_one_line_error(
        invoke("train", "palindrome", "--config", tmp_path), f"--config {tmp_path}"
    )
