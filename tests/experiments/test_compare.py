import json
import signal

import pytest

from sgtk.errors import SgtkError
from sgtk.experiments import compare
from sgtk.experiments.budget import count_params, solve_hidden
from sgtk.experiments.compare import prepare, run_sweep
from sgtk.experiments.report import merge
from sgtk.experiments.runner import make_task
from sgtk.experiments.stats import best_marks, summarise, t_interval
from sgtk.experiments.sweep import RunSpec, Sweep
from tests.helpers import assert_one_line_error, invoke

TINY = dict(lengths=[5, 6], models=["rnn", "gcn"], layers=[2, "auto"], seeds=1, steps=6)
TINY |= dict(params=3000, eval_every=3, patience=0, jobs=1)  # in-process: monkeypatch works


@pytest.mark.parametrize("budget", [3000, 20000])
@pytest.mark.parametrize("model,layers", [("rnn", 0), ("lstm", 0), ("gcn", 2), ("gcn", 13)])
def test_solved_hidden_size_is_within_ten_percent_of_the_budget(model, layers, budget):
    sweep = Sweep.from_config("palindrome", params=budget)
    task = make_task(sweep, RunSpec(model, "auto", model, length=15, layers=layers), 8, None)

    def build(h):
        task.config.hidden = h
        return task.build_model()

    hidden = solve_hidden(build, budget, model)
    assert abs(count_params(build(hidden)) / budget - 1) <= 0.10
    # and it is the closest: one unit more or less is no nearer the budget
    for h in (hidden - 1, hidden + 1):
        assert abs(count_params(build(h)) - budget) >= abs(count_params(build(hidden)) - budget)


def test_a_budget_no_hidden_size_meets_is_refused():
    with pytest.raises(SgtkError, match="within 10 %"):
        solve_hidden(lambda h: __import__("torch").nn.Linear(10, 10 * h), 15, "linear")


def test_t_interval_is_students_t():
    mean, std, lo, hi = t_interval([1.0, 2.0, 3.0])
    assert (mean, std) == (2.0, 1.0)
    assert hi - mean == pytest.approx(4.302653 / 3**0.5, rel=1e-5)  # t(0.975, 2) = 4.3027
    assert t_interval([0.5])[2] != t_interval([0.5])[2]  # one seed: no interval (nan)


@pytest.mark.parametrize(
    "df,expected", [(1, 12.706205), (2, 4.302653), (4, 2.776445), (5, 2.570582), (30, 2.042272)]
)
def test_t_quantile_matches_the_students_t_table(df, expected):
    from sgtk.experiments.stats import t_quantile

    assert t_quantile(0.95, df) == pytest.approx(expected, rel=1e-6)


def _row(model, length, acc, seed):
    return {"model": model, "length": length, "layers": 0, "seed": seed, "test_accuracy": acc}


def test_better_model_marked_only_when_intervals_do_not_overlap():
    rows = [_row("rnn", 5, a, s) for s, a in enumerate([0.99, 1.0, 0.98])]
    rows += [_row("gcn", 5, a, s) for s, a in enumerate([0.1, 0.12, 0.11])]
    rows += [_row("rnn", 9, a, s) for s, a in enumerate([0.2, 0.9, 0.5])]
    rows += [_row("gcn", 9, a, s) for s, a in enumerate([0.1, 0.7, 0.4])]
    assert best_marks(summarise(rows, "test_accuracy"), "max") == {("rnn", 5)}


def test_sweep_rows_match_budgets_keep_run_folders_and_use_auto_depth(tmp_path):
    sweep = Sweep.from_config("palindrome", **TINY)
    rows, _ = run_sweep(prepare(sweep, tmp_path))
    names = {r["name"] for r in rows}
    # k=auto is T-2: k=3 at T=5; at T=6 it is k=4; fixed k=2 runs beside it
    assert names == {"rnn-T5-k0-s0", "gcn-T5-k2-s0", "gcn-T5-k3-s0"} | {
        "rnn-T6-k0-s0", "gcn-T6-k2-s0", "gcn-T6-k4-s0"}  # fmt: skip
    params = [r["params"] for r in rows]
    assert max(params) <= 1.1 * 3000 and min(params) >= 0.9 * 3000
    for r in rows:
        assert {
            "hidden",
            "lr",
            "lr_source",
            "steps",
            "seconds",
            "n_train",
            "n_val",
            "n_test",
        } <= set(r)
        assert r["max_steps"] == 6 and r["precision"] == "float32"
        assert r["max_time"] is None and r["max_cpu_time"] is None and r["cpu_seconds"] > 0
        for f in ("config.toml", "metrics.jsonl", "row.json"):
            assert (tmp_path / "runs" / r["name"] / f).is_file()
    saved = json.loads((tmp_path / "results.json").read_text())
    assert [r["name"] for r in saved] == [r["name"] for r in rows]
    assert "gcn k=auto" in rows[2]["series"]


def test_interrupted_sweep_leaves_valid_results_and_resumes_without_retraining(
    tmp_path, monkeypatch
):
    sweep = Sweep.from_config("palindrome", **TINY)
    trained = []
    real_execute = compare.SweepRunner.execute

    def execute(self, run):
        trained.append(run.name)
        return real_execute(self, run)

    monkeypatch.setattr(compare.SweepRunner, "execute", execute)
    real_on_step = compare.CurveRecorder.on_step

    def ctrl_c_in_third_run(self, step, logs):  # Ctrl-C at step 2 of the third run
        real_on_step(self, step, logs)
        if len(trained) == 3 and step == 2:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(compare.CurveRecorder, "on_step", ctrl_c_in_third_run)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(prepare(sweep, tmp_path))
    partial = json.loads((tmp_path / "results.json").read_text())
    assert [r["name"] for r in partial] == trained[:2]
    third = tmp_path / "runs" / trained[2]
    assert (third / "checkpoint.pt").exists() and not (third / "row.json").exists()

    monkeypatch.setattr(compare.CurveRecorder, "on_step", real_on_step)
    with pytest.raises(SgtkError, match="set `resume` to finish it"):
        prepare(sweep, tmp_path)
    trained.clear()
    skipped = []
    rows, _ = run_sweep(prepare(sweep, tmp_path, resume=True), lambda i, n, r, s: skipped.append(s))
    assert skipped[:2] == [True, True] and not any(skipped[2:])
    assert trained[0] == partial[-1]["name"] or trained[0] not in {r["name"] for r in partial}
    assert len(rows) == 6 and rows[2]["steps"] == 6  # the third run went on from its step 2
    records = [json.loads(x) for x in (third / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if not r.get("final")] == [3, 6]


def test_runs_on_two_processes_give_the_same_rows_in_sweep_order(tmp_path):
    one, _ = run_sweep(prepare(Sweep.from_config("palindrome", **TINY), tmp_path / "one"))
    sweep = Sweep.from_config("palindrome", **{**TINY, "jobs": 2})
    done = []
    two, curves = run_sweep(prepare(sweep, tmp_path / "two"), lambda i, n, r, s: done.append(i))
    assert [r["name"] for r in two] == [r["name"] for r in one]  # sweep order, not finish order
    assert [r["test_accuracy"] for r in two] == [r["test_accuracy"] for r in one]
    assert done == list(range(1, len(one) + 1)) and all(curves.values())
    saved = json.loads((tmp_path / "two" / "results.json").read_text())
    assert [r["name"] for r in saved] == [r["name"] for r in one]
    assert "jobs" not in json.loads((tmp_path / "two" / "sweep.json").read_text())


def test_shards_merge_into_the_whole_sweep(tmp_path):
    for i in range(2):
        sweep = Sweep.from_config("palindrome", **TINY, shard=(i, 2))
        run_sweep(prepare(sweep, tmp_path / f"s{i}"))
    outcome = merge([tmp_path / "s0", tmp_path / "s1"], tmp_path / "all")[0]
    whole = {r.name for r in Sweep.from_config("palindrome", **TINY).runs()}
    assert {r["name"] for r in outcome.rows} == whole
    assert json.loads((tmp_path / "all" / "results.json").read_text()) == outcome.rows
    assert (tmp_path / "all" / "accuracy_vs_length.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_tiny_sweep_prints_tables_and_writes_pngs(tmp_path):
    out = tmp_path / "cmp"
    r = invoke("compare", "rnn-vs-gcn", "--lengths", "5,6", "--models", "rnn,gcn", "--layers",
               "2,4", "--seeds", 1, "--steps", 4, "--params", 3000, "--out", out)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "Budgets" in r.output and "T=6" in r.output
    for png in ("accuracy_vs_length", "training_curves", "memory_horizon", "gcn_layers_heatmap"):
        assert (out / f"{png}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = (out / "results.csv").read_text().strip().splitlines()
    assert len(lines) == 1 + 2 * 3 and lines[0].startswith("task,model,length")


@pytest.mark.parametrize(
    "args,word",
    [
        (["--models", "rnn,chess"], "chess"),
        (["--models", ""], "empty"),
        (["--lengths", ""], "empty"),
        (["--lengths", "5,x"], "--lengths"),
        (["--layers", "2,deep"], "--layers"),
        (["--task", "chess"], "chess"),
        (["--shard", "2/2"], "--shard"),
        (["--tune-lr", "1e-3,-1"], "--tune-lr"),
        (["--init", "zeros"], "--init"),
        (["--params", "5"], "--params"),
        (["--task", "all", "--models", "rnn"], "--models"),
        (["--task", "text", "--layers", "auto"], "auto"),
        (["--jobs", "-1"], "--jobs"),
        (["--threads", "-2"], "--threads"),
        (["--protocol", "x"], "--protocol"),
        (["--protocol", "assignment", "--task", "text"], "palindrome only"),
    ],
)
def test_bad_compare_flags(args, word, tmp_path):
    r = invoke("compare", "rnn-vs-gcn", *args, "--out", tmp_path / "c")
    assert_one_line_error(r, word)
    assert not (tmp_path / "c").exists()


def test_report_lists_every_task_table_png_command_and_machine(tmp_path):
    from sgtk.experiments.report import finish, write_report

    outcomes = []
    for task, key, value in (("palindrome", "test_accuracy", 1.0), ("text", "test_bpc", 2.5),
                             ("molecules", "test_rmse", 1.2)):  # fmt: skip
        rows = [{"task": task, "model": "lstm", "length": 5 if task == "palindrome" else 0,
                 "layers": 0, "seed": s, "series": ["lstm"], "name": f"lstm-s{s}", key: value,
                 "params": 100, "hidden": 4, "lr": 1e-3, "lr_source": "config", "steps": 10,
                 "max_steps": 10, "seconds": 1.0, "init": "chrono"} for s in range(2)]  # fmt: skip
        outcomes.append(finish(task, rows, {}, tmp_path / task))
    text = write_report(tmp_path, outcomes, "sgtk compare rnn-vs-gcn --task all").read_text()
    for task in ("palindrome", "text", "molecules"):
        assert f"## {task}" in text
    assert text.count("| lstm |") == 6  # a results and a budget row per task
    assert "![accuracy_vs_length](palindrome/accuracy_vs_length.png)" in text
    assert "![text_test_bpc](text/text_test_bpc.png)" in text
    assert "sgtk compare rnn-vs-gcn --task all" in text and "torch:" in text and "cores" in text


def test_a_fixed_depth_that_cannot_reach_gets_the_short_budget_and_rows_record_threads(
    tmp_path,
):
    import torch

    before = torch.get_num_threads()
    sweep = Sweep.from_config("palindrome", **{**TINY, "steps": 8, "unreachable_steps": 3})
    rows, _ = run_sweep(prepare(sweep, tmp_path))
    # k=2 cannot reach the first digit at T=5 or 6 (T-2 hops); rnn and k=auto can
    short = {r["name"] for r in rows if r["max_steps"] == 3}
    assert short == {"gcn-T5-k2-s0", "gcn-T6-k2-s0"}
    assert all(r["max_steps"] == 8 for r in rows if r["name"] not in short)
    assert all(r["steps"] <= r["max_steps"] for r in rows)
    assert {r["threads"] for r in rows} == {sweep.threads} == {1}
    assert torch.get_num_threads() == before  # the sweep's thread count does not leak


def test_patience_ends_runs_that_stop_improving_on_val_loss(tmp_path):
    flags = {**TINY, "steps": 12, "patience": 1, "min_delta": 0.99, "target": 1.01}
    rows, _ = run_sweep(prepare(Sweep.from_config("palindrome", **flags), tmp_path))
    # no evaluation cuts the val loss by 99 %: every run stops at its second (step 6)
    assert {(r["stopped_by"], r["steps"]) for r in rows} == {("patience", 6)}
    final = json.loads((tmp_path / "runs" / rows[0]["name"] / "metrics.jsonl").read_text()
                       .splitlines()[-1])  # fmt: skip
    assert final["final"] and final["step"] == 6 and "test_accuracy" in final


def test_a_stop_signal_survives_the_trip_back_from_a_worker_process():
    import pickle

    from sgtk.train.signals import Interrupted

    back = pickle.loads(pickle.dumps(Interrupted(signal.SIGTERM)))
    assert isinstance(back, KeyboardInterrupt) and back.exit_code == 143


def test_assignment_protocol_reports_the_last_step_not_the_val_choice(tmp_path):
    import torch

    from sgtk.train.checkpoint import load_model_state

    flags = {**TINY, "models": ["rnn"], "lengths": [5], "protocol": "assignment", "steps": 9}
    sweep = Sweep.from_config("palindrome", **flags)
    assert (sweep.init, sweep.target, sweep.patience) == ("xavier", None, 0)
    runner = prepare(sweep, tmp_path)
    [row], _ = run_sweep(runner)
    run_dir = tmp_path / "runs" / row["name"]
    assert row["selected"] == "last step" and row["steps"] == 9
    config = (run_dir / "config.toml").read_text()
    assert 'optimizer = "rmsprop"' in config and "one_hot = false" in config

    def test_accuracy(checkpoint):
        task = runner.task_for(sweep.runs()[0])
        model = task.build_model()
        load_model_state(model, run_dir / checkpoint, task.name)
        model.eval()
        with torch.no_grad():
            return task.report(model, torch.device("cpu"))["test_accuracy"]

    last, best = test_accuracy("last.pt"), test_accuracy("best.pt")
    assert last != best  # seed 0: val chose an earlier step, whose model scores otherwise
    assert row["test_accuracy"] == last
    from sgtk.experiments.report import LAST_STEP_NOTE, finish

    assert LAST_STEP_NOTE in finish("palindrome", [row], {}, tmp_path / "table").notes
    fair = Sweep.from_config("palindrome", **{**flags, "protocol": "fair"})
    [fair_row], _ = run_sweep(prepare(fair, tmp_path / "fair"))
    assert fair_row["selected"] == "best on val"


def test_a_cpu_budget_reaches_every_run_and_each_row_records_it(tmp_path):
    sweep = Sweep.from_config("palindrome", **{**TINY, "max_cpu_time": 1e-6})
    rows, _ = run_sweep(prepare(sweep, tmp_path))
    assert rows and all(r["max_cpu_time"] == 1e-6 for r in rows)
    assert all(r["stopped_by"] == "cpu time" and r["steps"] == 1 for r in rows)
    with pytest.raises(SgtkError, match=r"`max_cpu_time` 0(\.0)? must be positive seconds"):
        Sweep.from_config("palindrome", **{**TINY, "max_cpu_time": 0})
