import csv
import gzip
import json
import urllib.error

import pytest
import torch

import sgtk.data.molecule_datasets as md
from sgtk.data.molecules import MoleculeSet
from sgtk.data.splits import random_split, scaffold_split
from sgtk.errors import SgtkError
from sgtk.tasks.molecules import MoleculeConfig, MoleculeTask
from tests.helpers import assert_one_line_error, invoke, last_json

# Small molecules with a few scaffolds (benzene, cyclohexane, pyridine, none, naphthalene).
SMILES = [f"c1ccccc1{'C' * i}O" for i in range(8)] + [f"C1CCCCC1{'C' * i}N" for i in range(6)]
SMILES += [f"c1ccncc1{'C' * i}" for i in range(4)] + [f"{'C' * (i + 1)}Cl" for i in range(6)]
SMILES += ["c1ccc2ccccc2c1", "c1ccc2ccccc2c1C"]  # naphthalene


def write_csv(path, rows, delimiter=",", bom=False, decimal="."):
    lines = [delimiter.join(["smiles", "y"])]
    lines += [delimiter.join([s, f"{t:.2f}".replace(".", decimal)]) for s, t in rows]
    data = ("\ufeff" if bom else "") + "\n".join(lines) + "\n"
    if str(path).endswith(".gz"):
        path.write_bytes(gzip.compress(data.encode()))
    else:
        path.write_text(data, encoding="utf-8")
    return path


def rows(n=len(SMILES)):
    return [(s, 0.5 * i) for i, s in enumerate(SMILES[:n])]


def test_processed_file_is_reused_and_rebuilt_when_the_source_changes(tmp_path, monkeypatch):
    calls = []
    real = md.featurise
    monkeypatch.setattr(md, "featurise", lambda *a, **k: calls.append(1) or real(*a, **k))
    path = write_csv(tmp_path / "m.csv", rows())
    load = lambda **k: md.load_dataset(data=path, target_col="y", root=tmp_path / "d", **k)  # noqa: E731
    first = load().molecules()
    second = load().molecules()
    assert len(calls) == 1, "the second load parsed the SMILES again"
    assert torch.equal(first.x, second.x) and first.smiles == second.smiles
    assert torch.equal(first.edge_attr, second.edge_attr)
    load(variants=2)
    assert len(calls) == 2, "another featurisation must not reuse the file"
    write_csv(path, rows()[:-1])
    assert len(load().molecules()) == len(SMILES) - 1 and len(calls) == 3
    assert not list((tmp_path / "d").rglob("*.tmp")), "a temp file was left behind"


def test_processed_file_loads_without_pickled_code(tmp_path):
    path = write_csv(tmp_path / "m.csv", rows())
    ds = md.load_dataset(data=path, target_col="y", root=tmp_path / "d")
    torch.load(ds.processed_paths[0], weights_only=True)  # raises if it held code


@pytest.mark.parametrize(
    "name,delimiter,bom,decimal",
    [("bom.csv", ",", True, "."), ("eu.csv", ";", True, ","), ("tab.csv.gz", "\t", False, ".")],
)
def test_spreadsheet_csvs_load(tmp_path, name, delimiter, bom, decimal):
    path = write_csv(tmp_path / name, rows(), delimiter, bom, decimal)
    ds = md.load_dataset(data=path, target_col="y", root=tmp_path / "d")
    mols = ds.molecules()
    assert len(mols) == len(SMILES) and mols.n_skipped == 0
    assert mols.targets[3].item() == pytest.approx(1.5)
    assert ds.meta["delimiter"] == {",": "comma", ";": "semicolon", "\t": "tab"}[delimiter]


def test_semicolon_bom_csv_trains_and_records_its_delimiter(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_csv(tmp_path / "eu.csv", rows(), ";", bom=True, decimal=",")
    r = invoke("train", "molecules", "--data", path, "--target-col", "y", "--steps", 2,
               "--eval-every", 2, "--out", tmp_path / "r", "--json")  # fmt: skip
    assert last_json(r)["delimiter"] == "semicolon"
    final = (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()[-1]
    assert json.loads(final)["delimiter"] == "semicolon"  # the run's own record
    r = invoke("train", "molecules", "--data", path, "--target-col", "y", "--delimiter", ",",
               "--steps", 2, "--out", tmp_path / "r2")  # fmt: skip
    assert_one_line_error(r, "no column", "--delimiter")
    assert not (tmp_path / "r2").exists()


def test_bad_paths_and_flags_are_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args, words in [
        (("--data", tmp_path), ("is a directory",)),
        (("--data", tmp_path / "nope.csv"), ("does not exist",)),
        (("--dataset", "qm9"), ("unknown dataset", "esol")),
        (("--split", "temporal"), ("scaffold",)),
        (("--delimiter", "|", "--data", write_csv(tmp_path / "m.csv", rows())), ("--delimiter",)),
    ]:
        r = invoke("train", "molecules", *args, "--target-col", "y", "--out", tmp_path / "r")
        assert_one_line_error(r, *words)
        assert not (tmp_path / "r").exists()


def test_a_missing_column_names_the_fields_in_python_and_the_flags_on_the_cli(tmp_path):
    path = write_csv(tmp_path / "m.csv", rows())  # columns smiles, y
    with pytest.raises(SgtkError) as e:
        md.load_dataset(data=path, target_col="logp", root=tmp_path / "root")
    message = str(e.value)
    assert "set `smiles_col` and `target_col`, or `delimiter`" in message, message
    assert "--" not in message, message
    r = invoke("train", "molecules", "--data", path, "--target-col", "logp",
               "--out", tmp_path / "r")  # fmt: skip
    assert_one_line_error(
        r, "no column(s) logp", "set --smiles-col and --target-col, or --delimiter"
    )
    assert "`" not in r.output and not (tmp_path / "r").exists()


def test_offline_esol_names_the_file_and_where_to_put_it(tmp_path, monkeypatch):
    def offline(*a, **k):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    with pytest.raises(SgtkError, match="delaney-processed.csv") as e:
        md.load_dataset("esol", root=tmp_path)
    assert str(tmp_path / "esol" / "raw") in str(e.value)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SGTK_DATA", str(tmp_path / "data"))  # the same root either way
    r = invoke("train", "molecules", "--dataset", "esol", "--out", tmp_path / "r")
    assert_one_line_error(r, "delaney-processed.csv", "data/esol/raw")


def test_scaffold_split_keeps_each_scaffold_in_one_split(shared_data, tmp_path):
    mols = md.load_dataset(
        data=shared_data / "freesolv.csv", target_col="expt", root=tmp_path
    ).molecules()
    parts = scaffold_split(mols.scaffolds)
    seen = [{mols.scaffolds[i] for i in p.tolist()} for p in parts]
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
    assert sorted(torch.cat(parts).tolist()) == list(range(len(mols)))
    assert 0.7 * len(mols) <= len(parts[0]) <= 0.8 * len(mols) and len(parts[2]) > 0


def test_standardisation_is_fitted_on_train_only():
    mols = MoleculeSet.from_smiles(SMILES, [float(i % 5) for i in range(len(SMILES))])
    train, val, test = random_split(len(mols), seed=0)
    mols.targets[torch.cat([val, test])] = 1000.0  # would drag any mean that saw them
    task = MoleculeTask(MoleculeConfig(augment=0, hidden=8, layers=1), mols)
    assert torch.equal(task.train_idx, train)
    assert task.mean.item() == pytest.approx(mols.targets[train].mean().item())
    assert task.std.item() == pytest.approx(mols.targets[train].std().item())


def test_evaluate_reports_val_and_report_reports_test(tmp_path):
    mols = MoleculeSet.from_smiles(SMILES, [float(i) for i in range(len(SMILES))])
    task = MoleculeTask(MoleculeConfig(augment=0, hidden=8, layers=1, split="scaffold"), mols)
    model = task.build_model().eval()
    assert set(task.evaluate(model, torch.device("cpu"))) == {"val_rmse", "val_mae"}
    report = task.report(model, torch.device("cpu"))
    assert {"test_rmse", "test_mae"} <= set(report)
    assert not any(k.startswith("val_") for k in report)
    assert report["n_train"] + report["n_val"] + report["n_test"] == len(SMILES)
    assert task.model_config()["split_sizes"] == [
        report[f"n_{k}"] for k in ("train", "val", "test")
    ]
    json.dumps(task.model_config())  # everything predict needs is plain data


def test_csv_rows_without_numeric_target_are_dropped(tmp_path):
    path = tmp_path / "m.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerows([["smiles", "y"], *rows(), ["CCO", "n/a"], ["C1CC(", "2.0"]])
    ds = md.load_dataset(data=path, target_col="y", root=tmp_path / "d")
    assert ds.meta["n_without_target"] == 1 and ds.meta["n_skipped"] == 1
