"""The zoo horizon: longest T solved per model, failures carried forward, PNG and table."""

from sgtk.experiments.zoo_plot import horizon_table, horizons, plot_zoo_horizon


def _row(label, model, t, acc, layers=0, graph="path"):
    return {"label": label, "model": model, "graph": graph, "length": t, "layers": layers,
            "seed": 0, "test_accuracy": acc}  # fmt: skip


ROWS = [
    _row("lstm", "lstm", 10, 1.0), _row("lstm", "lstm", 25, 0.995), _row("lstm", "lstm", 50, 0.5),
    _row("gcn", "gcn", 10, 0.97, 8), _row("gcn@dilated", "gcn", 10, 1.0, 5, "dilated"),
    _row("gcn@dilated", "gcn", 25, 1.0, 6, "dilated"),
    _row("gcn@dilated", "gcn", 50, 0.999, 7, "dilated"),
]  # fmt: skip


def test_horizon_is_the_longest_length_solved_before_the_first_failure():
    found = {e["label"]: e for e in horizons(ROWS)}
    assert found["lstm"]["horizon"] == 25 and found["lstm"]["failed_at"] == 50
    assert found["gcn"]["horizon"] is None and found["gcn"]["failed_at"] == 10
    assert found["gcn@dilated"]["horizon"] == 50 and found["gcn@dilated"]["failed_at"] is None
    assert found["gcn"]["family"] == "graph" and found["lstm"]["family"] == "recurrent"


def test_table_says_where_a_skipped_length_failed_and_marks_the_longest_solved():
    table = horizon_table(ROWS)
    assert "| 0.995 |" in table and "± " not in table  # one seed: the value alone
    two = horizon_table([*ROWS, {**_row("lstm", "lstm", 25, 0.985), "seed": 1}])
    assert "| 0.990 ± 0.007 [0.926, 1.000‡] seeds 0.995, 0.985 |" in two  # cut at 1
    gcn = next(line for line in table.splitlines() if line.startswith("| `gcn` "))
    assert gcn.count("—, failed at T=10") == 2 and gcn.endswith("| < 10 |")
    dilated = next(line for line in table.splitlines() if "gcn@dilated" in line)
    assert "| 5 / 6 / 7 |" in dilated and dilated.endswith("| ≥ 50 |")
    assert [line.split("`")[1] for line in table.splitlines()[2:]] == [
        "lstm", "gcn", "gcn@dilated"]  # fmt: skip


def test_zoo_png_is_small_and_draws_every_model(tmp_path):
    drawn = plot_zoo_horizon(ROWS, tmp_path / "zoo.png")
    assert drawn["horizons"] == {"lstm": 25, "gcn": None, "gcn@dilated": 50}
    data = (tmp_path / "zoo.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 200_000


def test_plot_zoo_command_reads_sweep_folders_and_prints_the_table(tmp_path):
    import json

    from tests.helpers import assert_one_line_error, invoke

    for r in ROWS:
        where = tmp_path / "runs" / f"{r['label']}-T{r['length']}"
        where.mkdir(parents=True)
        (where / "row.json").write_text(json.dumps({**r, "task": "palindrome", "name": where.name}))
    result = invoke("plot", "zoo", tmp_path, "--out", tmp_path / "fig" / "zoo.png")
    assert result.exit_code == 0, result.output
    assert "—, failed at T=10" in result.output and (tmp_path / "fig" / "zoo.png").is_file()
    r = invoke("plot", "zoo", tmp_path / "fig")
    assert_one_line_error(r, f"no finished palindrome runs under {tmp_path / 'fig' / 'runs'}")
