"""Text defaults that fit the machine: under --max-time a probe picks hidden and batch."""

import pytest

from sgtk.tasks import text_budget
from sgtk.tasks.text import TextConfig
from sgtk.tasks.text_budget import MIN_STEPS, apply_budget_fit, multiply_adds
from sgtk.train.trainer import TrainConfig


@pytest.fixture
def cpu_speed(monkeypatch):
    """A fake CPU: a step costs 5 ms plus 1 ms per 100k multiply-adds per window."""

    def step_seconds(vocab, hidden, layers, embed, batch, seq, config):
        return 0.005 + batch * multiply_adds(vocab, hidden, layers, embed) * 1e-8 / 32

    monkeypatch.setattr(text_budget, "step_seconds", step_seconds)
    return step_seconds


def test_the_widest_size_that_makes_enough_steps_is_chosen_and_recorded(cpu_speed):
    task, train = TextConfig(), TrainConfig(batch_size=32, max_time=60.0)
    fit = apply_budget_fit(task, train, 65, set())
    assert fit is not None and task.hidden == fit.hidden and train.batch_size == 32
    per_step = cpu_speed(65, task.hidden, 2, 64, 32, 64, train)
    assert 60.0 / per_step >= MIN_STEPS
    wider = [h for h in text_budget.HIDDEN_SIZES if h > task.hidden]
    assert all(60.0 / cpu_speed(65, h, 2, 64, 32, 64, train) < MIN_STEPS for h in wider)
    assert not task.fit_budget and f"hidden {task.hidden}" in task.fitted
    assert train.max_time <= 60.0 and "fp32" in task.fitted or "bf16" in task.fitted


def test_a_budget_too_short_for_any_size_halves_the_batch(monkeypatch):
    def slow(vocab, hidden, layers, embed, batch, seq, config):  # 10x slower matmuls
        return 0.005 + batch * multiply_adds(vocab, hidden, layers, embed) * 1e-7 / 32

    monkeypatch.setattr(text_budget, "step_seconds", slow)
    task, train = TextConfig(), TrainConfig(batch_size=32, max_time=32.0)
    apply_budget_fit(task, train, 65, set())
    assert train.batch_size < 32 and task.hidden == min(text_budget.HIDDEN_SIZES)
    per_step = slow(65, task.hidden, 2, 64, train.batch_size, 64, train)
    assert train.max_time / per_step >= MIN_STEPS  # the widest batch that makes enough steps
    assert (
        train.max_time / slow(65, task.hidden, 2, 64, 2 * train.batch_size, 64, train) < MIN_STEPS
    )


def test_given_sizes_are_kept_and_no_max_time_means_no_probe(cpu_speed):
    task, train = TextConfig(hidden=100), TrainConfig(batch_size=7, max_time=60.0)
    assert apply_budget_fit(task, train, 65, {"hidden", "batch_size"}) is None
    assert apply_budget_fit(TextConfig(), TrainConfig(), 65, set()) is None
    apply_budget_fit(task, train, 65, {"hidden"})
    assert task.hidden == 100
    assert apply_budget_fit(TextConfig(model="gcn"), TrainConfig(max_time=60), 65, set()) is None
    assert apply_budget_fit(TextConfig(), TrainConfig(max_time=5.0), 65, set()) is None


def test_the_real_probe_times_a_step():
    seconds = text_budget.step_seconds(20, 16, 2, 8, 4, 8, TrainConfig())
    assert 0 < seconds < 5


def test_train_text_under_max_time_records_the_probe_in_config_toml(tmp_path, monkeypatch):
    from sgtk.train.config import read_toml
    from tests.helpers import invoke

    (tmp_path / "c.txt").write_text("".join(chr(97 + (i * 7) % 13) for i in range(20000)))
    monkeypatch.chdir(tmp_path)
    args = ("--data", "c.txt", "--max-time", 30, "--steps", 2, "--seq-length", 8, "--out", "r")
    result = invoke("train", "text", *args)
    assert result.exit_code == 0, result.output
    record = read_toml(tmp_path / "r" / "config.toml")
    assert record["task"]["fit_budget"] is False and "probe:" in record["task"]["fitted"]
    assert record["task"]["hidden"] in text_budget.HIDDEN_SIZES
    assert record["train"]["max_time"] < 30


@pytest.fixture
def slow_cpu(monkeypatch):
    """A CPU on which only hidden 128 makes enough steps in 60 s (of 32 windows)."""

    def step_seconds(vocab, hidden, layers, embed, batch, seq, config):
        return 0.005 + batch * multiply_adds(vocab, hidden, layers, embed) * 6e-8 / 32

    monkeypatch.setattr(text_budget, "step_seconds", step_seconds)


def test_the_width_the_probe_picks_gets_an_adam_lr_scaled_as_one_over_width(slow_cpu):
    task, train = TextConfig(), TrainConfig(batch_size=32, max_time=60.0, lr=0.004)
    fit = apply_budget_fit(task, train, 65, set())
    assert fit is not None and task.hidden == 128 and train.batch_size == 32
    assert train.lr == pytest.approx(0.012, rel=1e-9) and fit.lr == train.lr  # 4e-3 x 384/128
    assert "lr 0.012 (0.004 x 384/128)" in task.fitted
    assert text_budget.width_lr(0.004, 384, 384) == 0.004  # the shipped width keeps its LR
    assert text_budget.width_lr(0.004, 384, 256) == 0.006


@pytest.mark.parametrize(
    ("given", "changes"),
    [({"lr"}, {}), ({"hidden"}, {"hidden": 128}), (set(), {"optimizer": "sgd"})],
)
def test_a_users_lr_or_width_or_a_non_adam_optimizer_keeps_the_lr(slow_cpu, given, changes):
    task = TextConfig(hidden=changes.get("hidden", 384))
    train = TrainConfig(batch_size=32, max_time=60.0, lr=0.004)
    train.optimizer = changes.get("optimizer", "adam")
    assert apply_budget_fit(task, train, 65, given) is not None
    assert task.hidden == 128 and train.lr == 0.004 and "lr 0." not in task.fitted
    # the same fit without the user's choice scales it: the rule is what kept it above
    task, train = TextConfig(), TrainConfig(batch_size=32, max_time=60.0, lr=0.004)
    apply_budget_fit(task, train, 65, set())
    assert train.lr == pytest.approx(0.012)


def test_the_fitted_lr_is_recorded_in_config_toml_and_a_config_rerun_or_resume_repeats_it(
    tmp_path, monkeypatch
):
    from sgtk.train.config import read_toml
    from tests.helpers import invoke

    (tmp_path / "c.txt").write_text("".join(chr(97 + (i * 7) % 13) for i in range(20000)))
    monkeypatch.chdir(tmp_path)
    common = ("--data", "c.txt", "--seq-length", 8)
    result = invoke("train", "text", *common, "--max-time", 30, "--steps", 2, "--out", "r")
    assert result.exit_code == 0, result.output
    first = read_toml(tmp_path / "r" / "config.toml")
    hidden, lr = first["task"]["hidden"], first["train"]["lr"]
    assert lr == pytest.approx(0.004 * 384 / hidden) and f"lr {lr:g}" in first["task"]["fitted"]

    rerun = invoke("train", "text", "--config", "r/config.toml", "--out", "r2", "--steps", 2)
    assert rerun.exit_code == 0, rerun.output
    again = read_toml(tmp_path / "r2" / "config.toml")
    assert (again["task"]["hidden"], again["train"]["lr"]) == (hidden, lr)
    assert again["task"]["fitted"] == first["task"]["fitted"]  # no second probe

    resumed = invoke("train", "text", *common, "--resume", "--out", "r", "--steps", 4)
    assert resumed.exit_code == 0, resumed.output
    after = read_toml(tmp_path / "r" / "config.toml")
    assert (after["task"]["hidden"], after["train"]["lr"]) == (hidden, lr)
