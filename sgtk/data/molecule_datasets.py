"""Named molecule datasets and any CSV, as PyG ``InMemoryDataset``s under ``data/``.

``root/<name>/raw/`` holds the source file, ``root/<name>/processed/`` the featurised tensors.
The processed file's name carries a hash of the source bytes, the columns, the featurisation
and the number of random-SMILES variants, so the next run loads it without RDKit and any
change rebuilds it.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch_geometric.data import Data, InMemoryDataset

from sgtk.data.io import check_readable, read_csv_rows
from sgtk.data.molecules import FEATURISATION, MoleculeSet, collate_molecules, featurise
from sgtk.errors import SgtkError
from sgtk.train.checkpoint import atomic_write_bytes

# MoleculeNet's files, from where PyG's MoleculeNet fetches them (Wu et al. 2018).
MOLECULENET_URL = "https://deepchemdata.s3-us-west-1.amazonaws.com/datasets/{}"


@dataclass(frozen=True)
class Source:
    name: str  # folder under the root
    file: str  # the raw file's name
    smiles_col: str
    target_col: str
    url: str | None = None
    path: Path | None = None  # a user's CSV, read where it lies
    delimiter: str | None = None


DATASETS = {
    "nci-tpsa": Source("nci-tpsa", "first_5k.tpsa.csv", "smiles", "tpsa"),
    "freesolv": Source(
        "freesolv", "SAMPL.csv", "smiles", "expt", MOLECULENET_URL.format("SAMPL.csv")
    ),
    "esol": Source(
        "esol",
        "delaney-processed.csv",
        "smiles",
        "measured log solubility in mols per litre",
        MOLECULENET_URL.format("delaney-processed.csv"),
    ),
    "lipophilicity": Source(
        "lipophilicity",
        "Lipophilicity.csv",
        "smiles",
        "exp",
        MOLECULENET_URL.format("Lipophilicity.csv"),
    ),
}


def csv_source(path: Path, smiles_col: str, target_col: str, delimiter: str | None) -> Source:
    path = check_readable(path)
    stem = path.name.split(".")[0] or "data"
    return Source(f"csv/{stem}", path.name, smiles_col, target_col, None, path, delimiter)


class MoleculeDataset(InMemoryDataset):
    """Both views of every molecule of ``source``; ``meta`` has the vocabulary, the number
    of skipped rows and the delimiter the CSV was read with."""

    def __init__(self, source: Source, root: Path | str = "data", variants: int = 0):
        self.source, self.variants = source, variants
        self._key: str | None = None
        super().__init__(str(Path(root) / source.name), log=False)
        data, self.slices = torch.load(self.processed_paths[0], weights_only=True)
        self._data = Data.from_dict(data)
        self.meta = json.loads(Path(self.processed_paths[1]).read_text())

    @property
    def raw_dir(self) -> str:
        return str(self.source.path.parent) if self.source.path else super().raw_dir

    @property
    def raw_file_names(self) -> list[str]:
        return [self.source.file]

    @property
    def processed_file_names(self) -> list[str]:
        if self._key is None:  # after download(): the key hashes the raw file's bytes
            digest = hashlib.sha256(Path(self.raw_paths[0]).read_bytes())
            s = self.source
            digest.update(repr((s.smiles_col, s.target_col, s.delimiter)).encode())
            digest.update(f"{FEATURISATION}/{self.variants}".encode())
            self._key = digest.hexdigest()[:16]
        return [f"data-{self._key}.pt", f"meta-{self._key}.json"]

    def download(self) -> None:
        dest = Path(self.raw_dir) / self.source.file
        if self.source.name == "nci-tpsa":
            _copy_nci_tpsa(dest)
            return
        if self.source.url is None:  # a user's CSV, gone since csv_source checked it
            raise SgtkError(f"{dest} not found: pass --data with a readable CSV")
        from sgtk.data.download import fetch

        fetch(
            self.source.url,
            dest,
            fix=f"place {self.source.file} (from {self.source.url}) in {self.raw_dir}/, or "
            f"pass --data FILE --smiles-col COL --target-col COL",
        )

    def _process(self) -> None:
        # Replaces PyG's, which also writes pre_transform.pt files that it reads back with
        # weights_only=False; a data cache must never execute code when loaded.
        if not all(Path(p).is_file() for p in self.processed_paths):
            Path(self.processed_dir).mkdir(parents=True, exist_ok=True)
            self.process()

    def process(self) -> None:
        s = self.source
        table = read_csv_rows(self.raw_paths[0], s.delimiter)
        missing = [c for c in (s.smiles_col, s.target_col) if c not in table.columns]
        if missing:
            raise SgtkError(
                f"{self.raw_paths[0]} has no column(s) {', '.join(missing)} (it has: "
                f"{', '.join(table.columns) or 'none'}; read as {table.delimiter_name}-"
                "separated): pass --smiles-col and --target-col, or --delimiter"
            )
        smiles, targets, no_target = [], [], 0
        for s_, t in zip(table.column(s.smiles_col), table.column(s.target_col)):
            try:
                targets.append(float(t.replace(",", ".") if table.delimiter == ";" else t))
            except ValueError:
                no_target += 1  # a row without a numeric target cannot be trained on
                continue
            smiles.append(s_.strip())
        if not smiles:
            raise SgtkError(
                f"{self.raw_paths[0]} has no rows with a numeric {s.target_col!r}: "
                "check --target-col"
            )
        f = featurise(smiles, targets, self.variants)
        MoleculeSet.from_featurised(f)  # the one-line error when no molecule is valid
        data, slices = collate_molecules(f.data_list)
        buf = io.BytesIO()
        torch.save((data.to_dict(), slices), buf)
        meta = {
            "tokens": f.tokens,
            "n_skipped": len(f.problems),
            "n_without_target": no_target,
            "delimiter": table.delimiter_name,
            "featurisation": FEATURISATION,
            "variants": self.variants,
        }
        # meta last: a run that dies in between leaves no complete pair, so it is rebuilt.
        atomic_write_bytes(Path(self.processed_paths[0]), buf.getvalue())
        atomic_write_bytes(Path(self.processed_paths[1]), json.dumps(meta).encode())

    def molecules(self) -> MoleculeSet:
        return MoleculeSet(self._data, self.slices, self.meta["tokens"], self.meta["n_skipped"])


def _copy_nci_tpsa(dest: Path) -> None:
    """The 4,999 SMILES with TPSA shipped inside the rdkit wheel, with a header added."""
    from rdkit import RDConfig

    src = Path(RDConfig.RDDataDir) / "NCI" / "first_5k.tpsa.csv"
    lines = [ln for ln in src.read_text().splitlines() if ln and not ln.startswith("#")]
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(dest, ("smiles,tpsa\n" + "\n".join(lines) + "\n").encode())


def load_dataset(
    dataset: str | None = None,
    data: Path | str | None = None,
    smiles_col: str = "smiles",
    target_col: str = "target",
    root: Path | str = "data",
    variants: int = 0,
    delimiter: str | None = None,
) -> MoleculeDataset:
    if data is not None:
        source = csv_source(Path(data), smiles_col, target_col, delimiter)
    elif dataset in DATASETS:
        source = DATASETS[dataset]
    else:
        raise SgtkError(
            f"unknown dataset {dataset!r}: choose one of {', '.join(DATASETS)} or pass --data FILE"
        )
    return MoleculeDataset(source, root, variants)


def time_cached_load(n: int = 4999, repeats: int = 3) -> tuple[float, float]:
    """Seconds to load ``n`` nci-tpsa molecules the first time (RDKit parsing and featurising)
    and, median of ``repeats``, the next times (the processed file). For ``sgtk bench``."""
    import tempfile
    import time

    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "nci.csv"
        _copy_nci_tpsa(raw)
        raw.write_text("\n".join(raw.read_text().splitlines()[: n + 1]) + "\n")
        t = time.perf_counter()
        load_dataset(data=raw, target_col="tpsa", root=tmp).molecules()
        first = time.perf_counter() - t
        again = []
        for _ in range(repeats):
            t = time.perf_counter()
            load_dataset(data=raw, target_col="tpsa", root=tmp).molecules()
            again.append(time.perf_counter() - t)
    return first, sorted(again)[len(again) // 2]
