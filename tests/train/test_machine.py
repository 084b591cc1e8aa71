"""Run metadata: what produced a run (host, CPU, GPU, versions, git commit) in its manifest."""

import json
import subprocess

import torch

from sgtk.train import machine
from sgtk.train.run_dir import RunFolder
from tests.train.test_trainer import ToyTask, _fit


def test_the_cpu_model_is_cpuinfos_model_name(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: X\nmodel name\t: Fast CPU 9000 @ 3GHz\n\n")
    assert machine.cpu_model(info) == "Fast CPU 9000 @ 3GHz"


def test_without_cpuinfo_the_platform_names_the_cpu(tmp_path, monkeypatch):
    monkeypatch.setattr(machine.platform, "processor", lambda: "")
    monkeypatch.setattr(machine.platform, "machine", lambda: "arm64")
    assert machine.cpu_model(tmp_path / "missing") == "arm64"
    (tmp_path / "blank").write_text("model name\t: \n")
    assert machine.cpu_model(tmp_path / "blank") == "arm64"


def test_the_git_commit_is_heads_inside_a_checkout_and_absent_outside(tmp_path):
    assert machine.git_commit(tmp_path) is None  # no checkout here
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    env = ["-c", "user.name=t", "-c", "user.email=t@t"]
    (tmp_path / "f").write_text("x")
    subprocess.run(["git", "-C", str(tmp_path), "add", "f"], check=True)
    subprocess.run(["git", "-C", str(tmp_path), *env, "commit", "-qm", "x"], check=True)
    head = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert machine.git_commit(tmp_path) == head


def test_a_git_that_hangs_or_is_missing_gives_no_commit(monkeypatch):
    def hang(*args, **kwargs):
        raise subprocess.TimeoutExpired("git", kwargs.get("timeout"))

    monkeypatch.setattr(machine.subprocess, "run", hang)
    assert machine.git_commit() is None

    def missing(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(machine.subprocess, "run", missing)
    assert machine.git_commit() is None


def test_the_gpu_is_named_only_where_there_is_one(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert machine.gpu_name() is None and "gpu" not in machine.machine()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: "NVIDIA H200")
    assert machine.machine()["gpu"] == "NVIDIA H200"


def test_the_manifest_records_the_machine_and_the_versions(tmp_path, monkeypatch):
    monkeypatch.setattr(machine, "cpu_model", lambda: "Fast CPU 9000")
    monkeypatch.setattr(machine, "git_commit", lambda: "a" * 40)
    monkeypatch.setattr(machine.socket, "gethostname", lambda: "node7")
    _fit(tmp_path, ToyTask(), steps=2, eval_every=1)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["machine"]["cpu"] == "Fast CPU 9000"
    assert manifest["machine"]["host"] == "node7"
    assert manifest["machine"]["git_commit"] == "a" * 40
    assert manifest["versions"]["torch"] == torch.__version__
    assert {"sgtk", "torch_geometric", "python"} <= manifest["versions"].keys()
    assert RunFolder(tmp_path).read_manifest() == manifest
