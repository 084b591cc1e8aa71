"""--tune-lr chooses on the val split of the very split it serves: no pilot trains or selects
on a molecule in the test split of a run whose LR it chose (molecules split anew per seed)."""

from contextlib import contextmanager

from sgtk.experiments import runner
from sgtk.experiments.compare import prepare, run_sweep
from sgtk.experiments.sweep import Sweep
from sgtk.tasks.molecules import MoleculeTask

# 26 small molecules: a random split is 20 train, 2 val, 4 test, and differs per seed.
SMILES = [f"c1ccccc1{'C' * i}O" for i in range(8)] + [f"C1CCCCC1{'C' * i}N" for i in range(6)]
SMILES += [f"c1ccncc1{'C' * i}" for i in range(4)] + [f"{'C' * (i + 1)}Cl" for i in range(6)]
SMILES += ["c1ccc2ccccc2c1", "c1ccc2ccccc2c1C"]


class Touched:
    """Which molecules each run's training, val and test reads, by run folder: every batch a
    MoleculeTask builds goes through ``_batch``, inside train_batch, evaluate or report."""

    def __init__(self, monkeypatch):
        self.by_run: dict[str, dict[str, set[str]]] = {}
        self.run, self.phase = None, "train"
        real_train_run, real_batch = runner.train_run, MoleculeTask._batch

        def train_run(sweep, run, task, lr, run_dir, *args, **kwargs):
            self.run = str(run_dir)
            self.by_run[self.run] = {"train": set(), "val": set(), "test": set()}
            try:
                return real_train_run(sweep, run, task, lr, run_dir, *args, **kwargs)
            finally:
                self.run = None

        def _batch(task, idx, device, variant=None):
            if self.run is not None:
                self.by_run[self.run][self.phase] |= {task.mols.smiles[i] for i in idx.tolist()}
            return real_batch(task, idx, device, variant)

        monkeypatch.setattr(runner, "train_run", train_run)
        monkeypatch.setattr(MoleculeTask, "_batch", _batch)
        for method, phase in (("evaluate", "val"), ("report", "test")):
            monkeypatch.setattr(MoleculeTask, method, self._in_phase(method, phase))

    def _in_phase(self, method, phase):
        real = getattr(MoleculeTask, method)

        def wrapped(task, model, device):
            with self._phase(phase):
                return real(task, model, device)

        return wrapped

    @contextmanager
    def _phase(self, phase):
        before, self.phase = self.phase, phase
        try:
            yield
        finally:
            self.phase = before


def test_no_pilot_trains_or_selects_on_a_test_molecule_of_a_run_it_serves(tmp_path, monkeypatch):
    data = tmp_path / "tiny.csv"
    data.write_text("smiles,y\n" + "".join(f"{s},{0.3 * i:.2f}\n" for i, s in enumerate(SMILES)))
    touched = Touched(monkeypatch)
    sweep = Sweep.from_config(
        "molecules", models=["gcn"], layers=[2], seeds=3, steps=2, pilot_steps=2, eval_every=1,
        batch_size=8, params=3000, patience=0, jobs=1, tune_lr=[1e-3, 3e-3],
        molecule_data=str(data), target_col="y",
    )  # fmt: skip
    out = tmp_path / "sweep"
    rows, _ = run_sweep(prepare(sweep, out))
    assert len(rows) == 3
    tests = set()
    for row in rows:
        test = touched.by_run[str(out / "runs" / row["name"])]["test"]
        assert test and row["lr_source"].startswith("tuned on val")
        pilots = sorted(out.glob(row["lr_pilots"]))
        assert len(pilots) == 2  # one per LR of the grid, each trained in this sweep
        for pilot in pilots:
            seen = touched.by_run[str(pilot)]
            assert seen["train"] and seen["val"]
            leaked = (seen["train"] | seen["val"]) & test
            assert not leaked, f"{pilot.name} chose {row['name']}'s LR on its test {leaked}"
        tests.add(frozenset(test))
    assert len(tests) == 3  # three seeds, three test splits: the check had something to find
