"""``sgtk.train.machine`` without running git (kills its mutants: the versions' keys, the
CPU name from ``/proc/cpuinfo`` or the platform, the GPU name, ``git rev-parse``'s exact call
and its checks, and the keys ``machine()`` leaves out)."""

from __future__ import annotations

import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import SimpleNamespace

import torch

from sgtk.train import machine as m

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_versions(monkeypatch):
    monkeypatch.setattr(m.platform, "python_version", lambda: "3.99.1")
    got = m.versions()
    assert set(got) == {"sgtk", "torch", "torch_geometric", "python"}
    assert got["torch"] == torch.__version__ and got["python"] == "3.99.1"
    assert got["torch_geometric"] != "not installed" and got["sgtk"] == version("sgtk")


def test_a_missing_package_is_not_installed(monkeypatch):
    def missing(name):
        raise PackageNotFoundError(name)

    monkeypatch.setattr("importlib.metadata.version", missing)
    assert m._installed("torch") == "not installed"


def test_cpu_model_reads_the_first_model_name(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nmodel name\t:   \nflags: a:b\nmodel name\t: Fast CPU: v2 \n"
        "model name\t: Other\n",
        encoding="utf-8",
    )
    assert m.cpu_model(str(info)) == "Fast CPU: v2"
    info.write_bytes(b"model name : Caf\xe9\n")
    assert m.cpu_model(info) == "Caf\ufffd"


def test_cpu_model_reads_proc_cpuinfo_by_default(monkeypatch):
    monkeypatch.setattr(m.platform, "processor", lambda: "fallback")
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    assert m.cpu_model() == (names[0] if names else "fallback")


def test_cpu_model_falls_back_to_the_platform(tmp_path, monkeypatch):
    monkeypatch.setattr(m.platform, "processor", lambda: "")
    monkeypatch.setattr(m.platform, "machine", lambda: "x86_64")
    assert m.cpu_model(tmp_path / "none") == "x86_64"
    info = tmp_path / "cpuinfo"
    info.write_text("model name\n", encoding="utf-8")
    assert m.cpu_model(info) == "x86_64"
    monkeypatch.setattr(m.platform, "machine", lambda: "")
    assert m.cpu_model(info) == "unknown"
    monkeypatch.setattr(m.platform, "processor", lambda: "arm")
    assert m.cpu_model(info) == "arm"


def test_gpu_name(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: f"GPU{i}")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert m.gpu_name() is None
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert m.gpu_name() == "GPU0"

    def broken(i):
        raise RuntimeError("driver")

    monkeypatch.setattr(torch.cuda, "get_device_name", broken)
    assert m.gpu_name() is None


def _fake_git(monkeypatch, stdout=SHA + "\n", returncode=0, error=None):
    calls = []

    def run(args, **kw):
        calls.append((args, kw))
        if error is not None:
            raise error
        return SimpleNamespace(stdout=stdout, returncode=returncode)

    monkeypatch.setattr(m.subprocess, "run", run)
    return calls


def test_git_commit_runs_rev_parse_in_the_folder(monkeypatch, tmp_path):
    calls = _fake_git(monkeypatch)
    assert m.git_commit(str(tmp_path), timeout=3.5) == SHA
    assert calls == [
        (
            ["git", "rev-parse", "HEAD"],
            {"cwd": tmp_path, "capture_output": True, "text": True, "timeout": 3.5, "check": False},
        )
    ]
    assert m.git_commit() == SHA
    assert calls[1][1]["cwd"] == Path(m.__file__).resolve().parent
    assert calls[1][1]["timeout"] == 2.0


def test_git_commit_is_none_when_git_fails(monkeypatch):
    _fake_git(monkeypatch, returncode=128)
    assert m.git_commit() is None
    _fake_git(monkeypatch, stdout=SHA[:-1])
    assert m.git_commit() is None
    _fake_git(monkeypatch, error=FileNotFoundError("git"))
    assert m.git_commit() is None
    _fake_git(monkeypatch, error=subprocess.TimeoutExpired("git", 2.0))
    assert m.git_commit() is None


def test_machine_leaves_out_what_it_lacks(monkeypatch):
    monkeypatch.setattr(m.socket, "gethostname", lambda: "host1")
    monkeypatch.setattr(m, "cpu_model", lambda: "cpu1")
    monkeypatch.setattr(m, "gpu_name", lambda: None)
    monkeypatch.setattr(m, "git_commit", lambda: None)
    assert m.machine() == {"host": "host1", "cpu": "cpu1"}
    monkeypatch.setattr(m, "gpu_name", lambda: "GPU0")
    monkeypatch.setattr(m, "git_commit", lambda: SHA)
    assert m.machine() == {"host": "host1", "cpu": "cpu1", "gpu": "GPU0", "git_commit": SHA}
