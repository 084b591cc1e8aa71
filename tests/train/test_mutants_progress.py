"""``sgtk.train.progress`` on a fake clock (kills its mutants: the clock format, smoothing,
val figures kept, the rate of this process's steps, the ETA by steps or time, the exact line,
and when ``PlainProgress`` prints)."""

from __future__ import annotations

import io

import pytest

from sgtk.train import progress as p
from sgtk.train.progress import PlainProgress, ProgressState, clock


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def now(monkeypatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(p.time, "perf_counter", fake)
    return fake


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "0:00"),
        (59.9, "0:59"),
        (60, "1:00"),
        (75, "1:15"),
        (3599, "59:59"),
        (3600, "1:00:00"),
        (3725, "1:02:05"),
    ],
)
def test_clock(seconds, text):
    assert clock(seconds) == text


def test_the_state_follows_the_events(now):
    state = ProgressState(show=("loss", "acc"), max_time=None)
    assert (state.step, state.start, state.total, state.elapsed) == (0, 0, 0, 0.0)
    assert state.show == ("loss", "acc") and state.max_time is None
    state.on_start(100, 20)
    assert (state.total, state.step, state.start) == (100, 20, 20)
    state.on_step(21, {"loss": 2.0, "elapsed": 5.0})
    state.on_step(22, {"loss": 1.0})
    assert state.step == 22 and state.elapsed == 5.0
    assert state.train["loss"] == pytest.approx(0.9 * 2.0 + 0.1 * 1.0)
    state.on_eval(22, {"val_a": 1, "val_b": 0.5, "val_flag": True, "val_s": "x", "test_a": 1.0})
    assert state.val == {"val_a": 1, "val_b": 0.5}


def test_rate_and_eta_by_steps(now):
    state = ProgressState()
    state.on_start(100, 20)
    assert state.rate == 0.0 and state.eta is None
    now.now += 10.0
    state.on_step(40, {})
    assert state.rate == pytest.approx(2.0)
    assert state.eta == pytest.approx(30.0)


def test_eta_is_the_sooner_of_time_and_steps(now):
    state = ProgressState(max_time=50.0)
    state.on_start(100, 0)
    assert state.eta == 50.0  # no step yet: by time alone
    now.now += 10.0
    state.on_step(10, {"elapsed": 10.0})
    assert state.eta == pytest.approx(40.0)  # 90 steps at 1/s would be 90 s
    state.on_step(90, {"elapsed": 45.0})
    assert state.eta == pytest.approx(10.0 / 9.0)  # 10 steps at 9/s beat 5 s left
    state.on_step(90, {"elapsed": 60.0})
    assert state.eta == 0.0


def test_the_line(now):
    state = ProgressState(show=("loss", "gone"))
    state.on_start(200, 0)
    now.now += 10.0
    state.on_step(50, {"loss": 0.4123, "other": 1.0, "elapsed": 75.0})
    state.on_eval(50, {"val_accuracy": 0.93012})
    assert state.line("copy") == (
        "copy step 50/200 (25 %) · 5.0 it/s · 1:15 elapsed · ETA 0:30 · "
        "loss 0.412 · val_accuracy 0.9301"
    )
    state.on_step(200, {})
    assert state.line("copy").startswith("copy step 200/200 (100 %)")
    empty = ProgressState(show=())
    assert empty.line("t") == "t step 0/0 (0 %) · 0.0 it/s · 0:00 elapsed · ETA ?"


def test_plain_progress_prints_at_evals_and_every_so_often(now):
    stream = io.StringIO()
    plain = PlainProgress("run", every=30.0, stream=stream)
    assert (plain.title, plain.every, plain.show) == ("run", 30.0, ("loss",))
    plain.on_start(10, 0)
    now.now += 29.0
    plain.on_step(1, {"loss": 1.0})
    assert stream.getvalue() == ""
    now.now += 1.0
    plain.on_step(2, {"loss": 1.0})
    assert stream.getvalue().count("\n") == 1 and stream.getvalue().startswith("run step 2/10")
    now.now += 29.0
    plain.on_step(3, {"loss": 1.0})
    assert stream.getvalue().count("\n") == 1
    plain.on_eval(3, {"val_a": 1.0})
    assert stream.getvalue().splitlines()[-1].endswith("val_a 1")


def test_plain_progress_defaults_to_stderr_every_30_s(now, capsys):
    plain = PlainProgress()
    assert (plain.every, plain.max_time, plain.stream) == (30.0, None, None)
    plain.on_start(10, 0)
    plain.on_eval(0, {})
    assert capsys.readouterr().err.startswith(" step 0/10")


def test_plain_progress_keeps_max_time_and_flushes_each_line(now):
    class Stream(io.StringIO):
        flushes = 0

        def flush(self):
            self.flushes += 1

    stream = Stream()
    plain = PlainProgress("t", max_time=5.0, every=1.0, stream=stream)
    assert plain.max_time == 5.0
    now.now += 1.0
    plain.on_step(1, {})  # before on_start: the clock started at construction
    assert stream.getvalue().count("\n") == 1 and stream.flushes == 1
