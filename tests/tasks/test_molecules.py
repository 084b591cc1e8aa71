import pytest
import torch
from torch_geometric.utils import from_smiles

from sgtk.data.molecule_datasets import load_molecules
from sgtk.data.molecules import MoleculeSet, tokenize
from sgtk.errors import SgtkError
from sgtk.tasks.molecules import MoleculeConfig, MoleculeTask
from sgtk.train.trainer import TrainConfig, Trainer
from tests.helpers import assert_one_line_error, invoke, last_json

SMILES = [
    "CCO",
    "c1ccccc1Cl",
    "C[C@H](N)C(=O)O",
    "[NH4+].[Cl-]",
    "BrCCBr",
    "CC(=O)Oc1ccccc1C(=O)O",
    "C1CC%10CC1",
    "O=[N+]([O-])c1ccc(Br)cc1",
]


@pytest.mark.parametrize("smiles", SMILES)
def test_tokens_join_back_to_the_smiles(smiles):
    tokens = tokenize(smiles)
    assert "".join(tokens) == smiles


def test_multi_letter_atoms_are_one_token():
    assert tokenize("ClCBr") == ["Cl", "C", "Br"]
    assert tokenize("[C@@H](O)[NH3+]") == ["[C@@H]", "(", "O", ")", "[NH3+]"]


def test_graph_view_is_pygs_from_smiles():
    mols = MoleculeSet.from_smiles(SMILES[:4], [1.0, 2.0, 3.0, 4.0])
    for s, g in zip(mols.smiles, mols.graphs):
        ref = from_smiles(s)
        assert torch.equal(g.x, ref.x) and torch.equal(g.edge_index, ref.edge_index)
        assert torch.equal(g.edge_attr, ref.edge_attr)


def test_graph_batch_equals_from_data_list():
    from torch_geometric.data import Batch

    mols = MoleculeSet.from_smiles(SMILES, list(range(len(SMILES))))
    idx = torch.tensor([4, 0, len(mols) - 1, 3, 0])
    ours = mols.graph_batch(idx, torch.zeros(5))
    ref = Batch.from_data_list([mols.graphs[i] for i in idx.tolist()])
    for key in ("x", "edge_index", "edge_attr", "batch", "ptr"):
        assert torch.equal(getattr(ours, key), getattr(ref, key)), key


def test_invalid_smiles_are_skipped_and_counted():
    mols = MoleculeSet.from_smiles(["CCO", "C1CC(", "not a smiles", "c1ccccc1"], [1, 2, 3, 4])
    assert len(mols) == 2 and mols.n_skipped == 2
    with pytest.raises(SgtkError, match="none of the"):
        MoleculeSet.from_smiles(["xyz", "C1CC("], [1.0, 2.0])


def test_sequence_batch_is_ragged_path_graphs():
    mols = MoleculeSet.from_smiles(SMILES, list(range(len(SMILES))))
    idx = torch.tensor([0, 1, 5])
    batch = mols.sequence_batch(idx, torch.zeros(3))
    assert batch.num_graphs == 3
    lengths = mols.lengths[idx, 0]
    assert batch.num_nodes == int(lengths.sum())
    assert batch.edge_index.shape[1] == 2 * int((lengths - 1).sum())


def test_random_smiles_variants_are_the_same_molecule():
    from rdkit import Chem

    mols = MoleculeSet.from_smiles(SMILES[:6], list(range(6)), variants=4)
    assert mols.num_variants == 5
    for i, s in enumerate(mols.smiles):
        canonical = Chem.CanonSmiles(s)
        for j in range(5):
            ids = mols.token_ids[i, j, : mols.lengths[i, j]]
            text = "".join(mols.tokens[k] for k in ids.tolist())
            assert Chem.CanonSmiles(text) == canonical
        assert "".join(mols.tokens[k] for k in mols.token_ids[i, 0, : mols.lengths[i, 0]]) == s


def test_csv_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the CLI caches under ./data
    bad = tmp_path / "m.csv"
    bad.write_text("name,smi\nethanol,CCO\n")
    with pytest.raises(SgtkError, match="no column"):
        load_molecules(data=bad, smiles_col="smiles", target_col="y", root=tmp_path)
    r = invoke("train", "molecules", "--data", bad, "--target-col", "y", "--out", tmp_path / "r")
    assert_one_line_error(r, "smiles", "--smiles-col")
    assert not (tmp_path / "r").exists()
    junk = tmp_path / "junk.csv"
    junk.write_text("smiles,y\nxyz,1\n((,2\n")
    r = invoke("train", "molecules", "--data", junk, "--target-col", "y", "--out", tmp_path / "r")
    assert_one_line_error(r, "none of the")


@pytest.fixture(scope="module")
def small_nci(tmp_path_factory):
    mols = load_molecules("nci-tpsa", root=tmp_path_factory.mktemp("data"))
    assert len(mols) + mols.n_skipped == 4999  # the rdkit wheel's file, offline
    keep = torch.arange(1200)
    return MoleculeSet.from_smiles([mols.smiles[i] for i in keep], mols.targets[keep].tolist())


@pytest.mark.parametrize("model", ["gcn", "lstm"])
def test_small_run_beats_the_mean_baseline(model, small_nci, tmp_path):
    task = MoleculeTask(MoleculeConfig(model=model, hidden=64, layers=3, augment=0), small_nci)
    cfg = TrainConfig(steps=250, batch_size=64, lr=3e-3, eval_every=50, seed=0)
    result = Trainer(task, cfg, tmp_path / model).fit()
    y = small_nci.targets
    baseline = (y[task.test_idx] - y[task.train_idx].mean()).pow(2).mean().sqrt().item()
    assert result["test_rmse"] < 0.6 * baseline, (result, baseline)


def test_molecules_cli_json(tmp_path, shared_data, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = invoke(
        "train",
        "molecules",
        "--data",
        shared_data / "freesolv.csv",
        "--target-col",
        "expt",
        "--steps",
        20,
        "--eval-every",
        10,
        "--out",
        tmp_path / "r",
        "--json",
    )
    result = last_json(r)
    assert {
        "test_rmse",
        "test_mae",
        "n_molecules",
        "n_skipped",
        "seconds",
        "run_dir",
    } <= result.keys()
    assert result["n_molecules"] == 642 and result["n_skipped"] == 0
    assert result["n_train"] + result["n_val"] + result["n_test"] == 642
