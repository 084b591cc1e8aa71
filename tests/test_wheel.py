"""The built wheel behaves like the checkout: same defaults, no top-level ``cli`` package."""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*cmd, cwd=None):
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd)
    assert out.returncode == 0, f"{cmd} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> Path:
    """A fresh venv holding the wheel built from this checkout. Its dependencies, torch among
    them, come from the *running* interpreter's site-packages through a ``.pth`` file: unlike
    ``--system-site-packages``, that also works when the tests run inside a venv. Lines of a
    ``.pth`` file go after the venv's own site-packages, and the ``.pth`` files in those
    folders (an editable install of the checkout) are not run, so the wheel's copy wins."""
    tmp = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", tmp / "dist", ROOT)  # fmt: skip
    (wheel,) = (tmp / "dist").glob("sgtk-*.whl")
    venv = tmp / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    own = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    ours = [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    (Path(own) / "running-interpreter.pth").write_text("\n".join(ours) + "\n")
    _run(python, "-m", "pip", "install", "-q", "--no-deps", wheel)
    return venv


def test_the_wheel_has_no_top_level_cli_and_runs_from_its_own_copy(wheel_venv, tmp_path):
    python = wheel_venv / "bin" / "python"
    code = "import sgtk, sgtk_cli; print(sgtk.__file__, sgtk_cli.__file__)"
    where = _run(python, "-c", code, cwd=tmp_path)
    assert str(ROOT) not in where and str(wheel_venv) in where, where
    missing = subprocess.run([python, "-c", "import cli"], capture_output=True, cwd=tmp_path)
    assert missing.returncode != 0
    assert "sgtk" in _run(wheel_venv / "bin" / "sgtk", "--version", cwd=tmp_path)
    assert "Usage" in _run(python, "-m", "sgtk", "--help", cwd=tmp_path)


def test_the_wheel_resolves_the_same_config_as_the_checkout(wheel_venv, tmp_path):
    args = ("train", "molecules", "--steps", 20, "--eval-every", 20, "--out")
    _run(wheel_venv / "bin" / "sgtk", *args, tmp_path / "wheel", cwd=tmp_path)
    _run(sys.executable, "-m", "sgtk", *args, tmp_path / "checkout", cwd=tmp_path)
    wheel = tomllib.loads((tmp_path / "wheel" / "config.toml").read_text())
    checkout = tomllib.loads((tmp_path / "checkout" / "config.toml").read_text())
    assert wheel["task"] == checkout["task"]
    assert wheel["train"] == checkout["train"]
    assert wheel["task"]["augment"] == 10  # a configs/molecules.toml value, not a fallback
