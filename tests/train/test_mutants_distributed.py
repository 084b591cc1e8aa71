"""Mutation kill tests for :mod:`sgtk.train.distributed`: one process is the identity, and under
a process group each collective does what its name says. The group is a fake of two ranks whose
other rank's values are fixed, and the launcher's process a fake that is sent signals, so
nothing here starts a process group or a subprocess."""

from __future__ import annotations

import signal
import types

import pytest
import torch
from torch import nn

from sgtk.train import distributed as dist


class _Group:
    """``torch.distributed`` as rank 1 of 2 sees it; the other rank holds ``other``."""

    class ReduceOp:
        SUM, MAX = "sum", "max"

    def __init__(self, other=(10.0, 0.0, 0.0), backend="gloo", initialized=True):
        self.other, self.backend, self.initialized = other, backend, initialized
        self.calls: list[tuple] = []

    def is_available(self):
        return True

    def is_initialized(self):
        return self.initialized

    def get_rank(self):
        return 1

    def get_world_size(self):
        return 2

    def get_backend(self):
        return self.backend

    def init_process_group(self, backend):
        self.calls.append(("init", backend))

    def all_reduce(self, t, op="sum"):
        self.calls.append(("all_reduce", op, t.dtype))
        other = torch.tensor(self.other[: t.numel()], dtype=t.dtype)
        t.copy_(t + other if op == "sum" else torch.maximum(t, other))

    def all_gather_object(self, out, obj):
        self.calls.append(("gather", len(out)))
        out[:] = ["other", obj]

    def barrier(self):
        self.calls.append(("barrier",))


@pytest.fixture
def group(monkeypatch):
    g = _Group()
    monkeypatch.setattr(dist, "tdist", g)
    return g


def test_one_process_is_the_identity(monkeypatch):
    monkeypatch.setattr(dist, "tdist", _Group(initialized=False))
    model = nn.Linear(2, 2)
    assert (dist.is_distributed(), dist.rank(), dist.world_size()) == (False, 0, 1)
    assert dist.wrap(model, torch.device("cpu")) is model
    assert dist.mean(3.5) == 3.5 and dist.maximum(1.0, 2) == (1.0, 2)
    assert dist.any_true(True, False) == (True, False)
    assert dist.gather_objects({"a": 1}) == [{"a": 1}]
    dist.barrier()
    assert dist.device_for_rank(torch.device("cuda", 3)) == torch.device("cuda", 3)
    unavailable = _Group()
    unavailable.is_available = lambda: False  # type: ignore[method-assign]
    monkeypatch.setattr(dist, "tdist", unavailable)
    assert not dist.is_distributed() and dist.rank() == 0


def test_under_a_group_rank_size_and_collectives(group):
    assert (dist.is_distributed(), dist.rank(), dist.world_size()) == (True, 1, 2)
    assert dist.mean(4.0) == 7.0  # (4 + 10) / 2
    assert group.calls[-1] == ("all_reduce", "sum", torch.float64)
    group.other = (1.0, 5.0, -3.0)
    assert dist.maximum(2, 0.5, -7) == (2.0, 5.0, -3.0)
    assert group.calls[-1] == ("all_reduce", "max", torch.float64)
    group.other = (0.0, 1.0, 0.0)
    assert dist.any_true(False, False, True) == (False, True, True)
    assert dist.gather_objects(7) == ["other", 7] and group.calls[-1] == ("gather", 2)
    dist.barrier()
    assert group.calls[-1] == ("barrier",)


def test_mean_keeps_float64_precision(group):
    group.other = (2.0**-40,)
    assert dist.mean(1.0) == (1.0 + 2.0**-40) / 2


def test_nccl_moves_the_reduction_to_cuda(group, monkeypatch):
    group.backend = "nccl"
    moved = []
    monkeypatch.setattr(torch.Tensor, "cuda", lambda t: moved.append(t.dtype) or t)
    dist.mean(1.0)
    dist.maximum(1.0)
    assert moved == [torch.float64, torch.float64]


def test_init_from_env_joins_only_under_torchrun(monkeypatch):
    g = _Group(initialized=False)
    monkeypatch.setattr(dist, "tdist", g)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert dist.init_from_env() is False and g.calls == []
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert dist.init_from_env() is False and g.calls == []
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert dist.init_from_env() is True and g.calls == [("init", "gloo")]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert dist.init_from_env() is True and g.calls[-1] == ("init", "nccl")
    g.initialized = True
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert dist.init_from_env() is True and len(g.calls) == 2


def test_device_for_rank_takes_the_local_rank(group, monkeypatch):
    chosen = []
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert dist.device_for_rank(torch.device("cuda")) == torch.device("cuda", 3)
    monkeypatch.delenv("LOCAL_RANK")
    assert dist.device_for_rank(torch.device("cuda")) == torch.device("cuda", 0)
    assert chosen == [3, 0]
    assert dist.device_for_rank(torch.device("cpu")) == torch.device("cpu") and chosen == [3, 0]


def test_wrap_gives_ddp_the_cuda_index_only(group, monkeypatch):
    made = []
    monkeypatch.setattr(
        nn.parallel, "DistributedDataParallel", lambda m, device_ids: made.append(device_ids) or m
    )
    model = nn.Linear(1, 1)
    assert dist.wrap(model, torch.device("cuda", 2)) is model
    dist.wrap(model, torch.device("cpu"))
    assert made == [[2], None]


class _Proc:
    """A launcher that, while waited on, is sent ``signals`` (as the terminal or kill would)."""

    def __init__(self, cmd, signals=(), code=0):
        self.cmd, self.signals, self.code, self.sent = cmd, signals, code, []

    def send_signal(self, signum):
        self.sent.append(signum)

    def wait(self):
        for s in self.signals:
            signal.getsignal(s)(s, None)
        return self.code


def _launch(monkeypatch, signals=(), code=0):
    procs = []

    def popen(cmd):
        procs.append(_Proc(cmd, signals, code))
        return procs[-1]

    monkeypatch.setattr(dist, "subprocess", types.SimpleNamespace(Popen=popen))
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)}
    result = dist.run_launcher(["torchrun", "x"])
    assert {s: signal.getsignal(s) for s in before} == before  # handlers put back
    return result, procs[0]


def test_launcher_exit_code_passed_through(monkeypatch):
    code, proc = _launch(monkeypatch, code=3)
    assert code == 3 and proc.cmd == ["torchrun", "x"] and proc.sent == []


def test_sigterm_and_sigusr1_forwarded_as_sigterm(monkeypatch):
    code, proc = _launch(monkeypatch, (signal.SIGUSR1, signal.SIGTERM), code=1)
    assert code == 128 + signal.SIGUSR1 and proc.sent == [signal.SIGTERM, signal.SIGTERM]


def test_ctrl_c_waited_out_not_forwarded(monkeypatch):
    code, proc = _launch(monkeypatch, (signal.SIGINT,), code=1)
    assert code == 128 + signal.SIGINT and proc.sent == []
