"""The text row of `sgtk bench`: sgtk's budget-fitted defaults against a plain nn.LSTM loop
given the same budget-fitting help (a grid of pilots chosen on val, within the same seconds).

No test here times anything: a fake clock drives the loop, and the grid is shrunk to tiny
models where a test trains for real.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from sgtk.bench import suite
from sgtk.bench import text as bench_text
from sgtk.bench.core import Row, check_row
from sgtk.tasks.text import TextConfig, TextTask
from sgtk.train.config import default_config
from tests.helpers import invoke, last_json

# Small models, the real grid's shape: three (hidden, batch) pairs crossed with three LRs.
TINY_GRID = tuple((h, b, lr) for h, b in ((8, 4), (12, 4), (16, 8)) for lr in (1e-3, 3e-3, 1e-2))

# The test split (the last 5 %) is unlike the rest, so a side scored on val alone, or on test
# alone, is far from its held-out figure.
SHIFTED = "".join(chr(97 + (i * 7) % 13) for i in range(19000)) + "".join(
    chr(110 + (i * 3) % 7) for i in range(1000)
)


class FakeClock:
    """Advances ``tick`` seconds at every reading; ``advance`` stands for slow work."""

    def __init__(self, tick: float):
        self.now, self.tick = 1000.0, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _task(text: str = bench_text.TINY_TEXT) -> TextTask:
    return TextTask(TextConfig(**default_config("text")["task"]), text=text)


VAL_FAVOURS, TEST_FAVOURS = 7, 2  # indices into TINY_GRID


def _fake_scorer(task, seen, clock=None, cost=0.0):
    """Stand-in for ``task.split_loss``, recording each split it is asked for. Pilots are
    scored in grid order: val ranks pilot ``VAL_FAVOURS`` best, any other split
    ``TEST_FAVOURS``."""

    def split_loss(model, device, split, max_chars=None):
        pilot = len(seen)
        seen.append(split)
        if clock is not None:
            clock.advance(cost)
        best = VAL_FAVOURS if split == "val" else TEST_FAVOURS
        return (0.5 if pilot == best else 2.0), 1

    task.split_loss = split_loss


@pytest.fixture
def tiny_grid(monkeypatch):
    monkeypatch.setattr(bench_text, "GRID", TINY_GRID)


def test_the_pilots_choose_on_val_never_on_the_held_out_or_test_split(tiny_grid, monkeypatch):
    task, seen = _task(), []
    _fake_scorer(task, seen)
    tuned = bench_text.tuned_loop(task, 200.0, clock=FakeClock(0.5))
    assert seen == ["val"] * len(TINY_GRID)  # one val score per pilot, nothing else
    hidden, batch, lr = TINY_GRID[VAL_FAVOURS]  # val's favourite, not test's
    assert (tuned.chosen.hidden, tuned.chosen.batch, tuned.chosen.lr) == (hidden, batch, lr)
    assert tuned.model.lstm.hidden_size == hidden and len(tuned.pilots) == len(TINY_GRID)


def test_the_pilots_and_the_final_run_fit_in_the_budget_scoring_included(tiny_grid, monkeypatch):
    task, seen, clock = _task(), [], FakeClock(0.25)
    _fake_scorer(task, seen, clock, cost=2.0)  # each pilot's val score: 2 s
    step_times: list[float] = []
    windows = task.data.windows

    def timed_windows(starts, split):
        step_times.append(clock.now)  # one call per training step
        return windows(starts, split)

    monkeypatch.setattr(task.data, "windows", timed_windows)
    start, seconds = clock.now + clock.tick, 40.0  # the loop's first reading starts its budget
    tuned = bench_text.tuned_loop(task, seconds, clock=clock)
    assert step_times and max(step_times) < start + seconds  # no step starts past the budget
    assert tuned.pilot_seconds >= 2.0 * len(TINY_GRID)  # the scoring counted against it
    assert tuned.final_steps > 0
    spent = tuned.pilot_seconds + tuned.final_seconds
    assert seconds <= spent <= seconds + 1.0  # the final run used the rest, one step over at most
    assert all(p.steps > 0 for p in tuned.pilots)


def test_on_a_slow_machine_the_pilots_stop_at_their_cap_and_the_final_run_keeps_the_rest(
    tiny_grid,
):
    task, seen, clock = _task(), [], FakeClock(0.25)
    _fake_scorer(task, seen, clock, cost=10.0)  # each pilot's val score: 10 s
    tuned = bench_text.tuned_loop(task, 40.0, clock=clock)
    assert 1 < len(tuned.pilots) < len(TINY_GRID) and tuned.final_steps > 0
    assert tuned.pilot_seconds < 40.0 * bench_text.PILOT_CAP + 12.0  # the last pilot overran


def test_a_diverging_pilot_scores_inf_and_is_never_chosen(tiny_grid, monkeypatch):
    task = _task()
    scores = iter([math.nan, 3.0] + [4.0] * (len(TINY_GRID) - 2))
    monkeypatch.setattr(task, "split_loss", lambda *a, **k: (next(scores), 1))
    tuned = bench_text.tuned_loop(task, 200.0, clock=FakeClock(0.5))
    assert tuned.pilots[0].val_loss == math.inf and tuned.chosen is tuned.pilots[1]


def _heldout_by_hand(text: str, model) -> float:
    """Mean nats/char over the val and test windows, computed here, not by the bench."""
    data = _task(text).data
    nats, chars = 0.0, 0
    with torch.no_grad():
        for split in ("val", "test"):
            inputs, targets = data.eval_windows(split)
            logits = model.eval().forward_tokens(inputs)[0].float()
            nats += F.cross_entropy(logits.flatten(0, 1), targets.reshape(-1), reduction="sum")
            chars += targets.numel()
    return float(nats) / chars


def test_the_json_row_scores_both_sides_on_held_out_and_records_the_choice(tiny_grid, monkeypatch):
    trained = {}
    tuned_loop, default_run = bench_text.tuned_loop, bench_text.default_run

    def keep_tuned(*args, **kwargs):
        trained["loop"] = tuned_loop(*args, **kwargs)
        return trained["loop"]

    def keep_ours(*args, **kwargs):
        trained["ours"], note = default_run(*args, **kwargs)
        return trained["ours"], note

    monkeypatch.setattr(bench_text, "tuned_loop", keep_tuned)
    monkeypatch.setattr(bench_text, "default_run", keep_ours)
    monkeypatch.setattr(
        suite, "run_bench", lambda *a, **k: [bench_text.text_budget_row(SHIFTED, seconds=1.0)]
    )
    monkeypatch.setattr(suite, "lstm_kernel_info", lambda: {"loop": "Python"})
    data = last_json(invoke("bench", "--json", "--device", "cpu"))
    (record,) = data["rows"]
    row = Row(**record)
    check_row(row)
    assert row.ref_name == bench_text.TUNED_NAME and "budget-tuned" in row.name
    assert row.limit == round(1 + bench_text.TIE / row.reference, 4)
    # Each side's figure is that side's model on the held-out windows (val + test), by hand;
    # report() rounds to 4 decimals.
    loop = trained["loop"]
    assert row.ours == pytest.approx(_heldout_by_hand(SHIFTED, trained["ours"]), abs=1e-4)
    assert row.reference == pytest.approx(_heldout_by_hand(SHIFTED, loop.model), abs=1e-4)
    reference = record["shape"]["reference"]
    # all of the grid, or (on a loaded machine) the part that started before the pilot cap
    pilots = reference["pilots"]
    assert reference["chosen_on"] == "val" and 1 <= len(pilots) <= len(TINY_GRID)
    assert [(p["hidden"], p["batch"], p["lr"]) for p in pilots] == list(TINY_GRID)[: len(pilots)]
    chosen = reference["chosen"]
    assert (chosen["hidden"], chosen["batch"], chosen["lr"]) == (
        loop.model.lstm.hidden_size,
        loop.chosen.batch,
        loop.chosen.lr,
    )
    assert chosen["val_loss"] == min(p["val_loss"] for p in reference["pilots"])
