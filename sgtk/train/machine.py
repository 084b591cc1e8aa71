"""What produced a run: the code (sgtk version, git commit), the libraries and the machine.

Recorded in every run's ``manifest.json`` and a sweep's ``sweep.json``; each probe is cheap,
never raises, and leaves a key out rather than guess it.
"""

from __future__ import annotations

import platform
import socket
import subprocess
from pathlib import Path
from typing import Any


def _installed(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def versions() -> dict[str, str]:
    """sgtk, torch, PyG and Python versions."""
    import torch

    return {
        "sgtk": _installed("sgtk"),
        "torch": torch.__version__,
        "torch_geometric": _installed("torch-geometric"),
        "python": platform.python_version(),
    }


def cpu_model(cpuinfo: Path | str = "/proc/cpuinfo") -> str:
    """The CPU's model name (``/proc/cpuinfo``'s "model name"; elsewhere the platform's
    own description)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, sep, value = line.partition(":")
                if sep and key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def gpu_name() -> str | None:
    """The first CUDA GPU's name, or None without one."""
    import torch

    try:
        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except (RuntimeError, AssertionError):
        return None


def git_commit(where: Path | str | None = None, timeout: float = 2.0) -> str | None:
    """``git rev-parse HEAD`` of the checkout holding sgtk (or ``where``), or None outside a
    git checkout, without git, or after ``timeout`` seconds."""
    folder = Path(where) if where is not None else Path(__file__).resolve().parent
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    if done.returncode != 0 or len(commit) != 40:
        return None
    return commit


def machine() -> dict[str, Any]:
    """Host, CPU model, GPU name (if any) and the git commit of the code (if any); the
    library versions are :func:`versions`."""
    info: dict[str, Any] = {"host": socket.gethostname(), "cpu": cpu_model()}
    gpu = gpu_name()
    if gpu is not None:
        info["gpu"] = gpu
    commit = git_commit()
    if commit is not None:
        info["git_commit"] = commit
    return info
