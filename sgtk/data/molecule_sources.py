"""Where each molecule dataset comes from: the named ones (MoleculeNet's files pinned by
SHA-256, nci-tpsa from inside the rdkit wheel) and a user's CSV; and the one line that names
rows whose target is not finite."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sgtk.io.files import check_readable

_SHOWN_ROWS = 10

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
    sha256: str | None = None  # of the downloaded file: another file is refused


DATASETS = {
    "nci-tpsa": Source("nci-tpsa", "first_5k.tpsa.csv", "smiles", "tpsa"),
    "freesolv": Source(
        "freesolv",
        "SAMPL.csv",
        "smiles",
        "expt",
        MOLECULENET_URL.format("SAMPL.csv"),
        sha256="ab5895d914ee87cb563bd7b9611e869527bba45bec6b014d34dc495a0f9dcb72",
    ),
    "esol": Source(
        "esol",
        "delaney-processed.csv",
        "smiles",
        "measured log solubility in mols per litre",
        MOLECULENET_URL.format("delaney-processed.csv"),
        sha256="8c06a76f0c6487d29ab0f903e6a7a7139f189ab3c1178f159c8be8964602f189",
    ),
    "lipophilicity": Source(
        "lipophilicity",
        "Lipophilicity.csv",
        "smiles",
        "exp",
        MOLECULENET_URL.format("Lipophilicity.csv"),
        sha256="aed41590cb30609d51d8e08ad3ff06495a76e80e211358801f596b10da69bacd",
    ),
}


def csv_source(path: Path, smiles_col: str, target_col: str, delimiter: str | None) -> Source:
    path = check_readable(path)
    stem = path.name.split(".")[0] or "data"
    return Source(f"csv/{stem}", path.name, smiles_col, target_col, None, path, delimiter)


def non_finite_message(name: str, column: str, invalid: list[tuple[int, int, str]]) -> str:
    """One line naming the rows (and file lines) whose target is NaN or infinite."""
    shown = invalid[:_SHOWN_ROWS]
    more = f" and {len(invalid) - len(shown)} more" if len(invalid) > len(shown) else ""
    rows = ", ".join(str(r) for r, _, _ in shown) + more
    lines = ", ".join(str(n) for _, n, _ in shown) + more
    values = ", ".join(sorted({v.lower() for _, _, v in invalid}))
    one = len(invalid) == 1
    return (
        f"{name}: {'row' if one else 'rows'} {rows} ({'line' if one else 'lines'} {lines} of "
        f"the file) {'has' if one else 'have'} a non-finite {column!r} ({values}): fix "
        f"{'it' if one else 'them'}, or set `drop_invalid` to drop {'it' if one else 'them'}"
    )
