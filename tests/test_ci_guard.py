"""The CI guard: under CI a missing ../shared/data is an error in every test that needs it,
never a skip, and the local .ci/run runs under that guard too."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).name
# What a module would write to reach the data (or skip without it) on its own.
OWN_WAY = re.compile(r"SHARED_DATA|[\"']shared[\"']|shared/data|skip\w*\([^)]*shared")


def test_no_test_module_reaches_shared_data_but_through_the_fixture():
    modules = sorted((ROOT / "tests").rglob("*.py"))  # tests/<package>/ too, since issue 29
    assert len(modules) > 50 and any(p.parent.name == "data" for p in modules)
    own = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in modules
        if p.name not in ("conftest.py", HERE)
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if OWN_WAY.search(line)
    ]
    assert own == [], "use the shared_data fixture instead: " + ", ".join(own)


def test_ci_run_exports_ci_true():
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    exported = [i for i, line in enumerate(lines) if line.strip() == "export CI=true"]
    pytest_at = next(i for i, line in enumerate(lines) if "-m pytest" in line)
    assert exported and exported[0] < pytest_at


def test_ci_run_installs_and_tests_inside_a_fresh_venv():
    """Debian and Ubuntu refuse a system-wide pip install: CI must see what such a user sees."""
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]

    def at(text: str) -> int:
        return next(i for i, line in enumerate(lines) if text in line and not line.startswith("#"))

    made, entered = at("-m venv"), at("bin/activate")
    torch_at, sgtk_at, pytest_at = at('"torch=='), at('-e ".[dev]"'), at("-m pytest")
    assert at("rm -rf") < made < entered < torch_at < sgtk_at < pytest_at
    assert "--system-site-packages" not in " ".join(lines)
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert any(line.strip("/") == ".venv-ci" for line in ignored)  # ruff and git skip it


def _setup_only(tmp_path, ci: str | None) -> subprocess.CompletedProcess:
    """Fixtures set up, no test body run: the data-needing modules with the data hidden."""
    env = {**os.environ, "SGTK_SHARED_DATA": str(tmp_path / "no-such-folder")}
    env.pop("CI", None)
    if ci is not None:
        env["CI"] = ci
    targets = [
        "tests/inference/test_predict.py",
        "tests/data/test_molecule_datasets.py",
        "-k",
        "predict or scaffold",
    ]
    flags = ["--setup-only", "-o", "addopts=", "-q", "-p", "no:cacheprovider"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", *targets, *flags],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_under_ci_missing_shared_data_errors_in_every_test_that_needs_it(tmp_path):
    r = _setup_only(tmp_path, "true")
    summary = r.stdout.strip().splitlines()[-1]
    assert r.returncode != 0, r.stdout[-2000:]
    # test_predict: 7 tests x 2 models (a module fixture), test_molecule_datasets: 1
    assert "15 error" in summary and "skipped" not in summary, r.stdout[-2000:]
    assert "CI=true but" in r.stdout


def test_outside_ci_the_same_tests_are_skipped(tmp_path):
    r = _setup_only(tmp_path, None)
    summary = r.stdout.strip().splitlines()[-1]
    assert r.returncode == 0 and "15 skipped" in summary and "error" not in summary, summary
