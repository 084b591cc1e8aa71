"""Named molecule datasets and any CSV, as PyG ``InMemoryDataset``s under the data root
(``root``, else ``$SGTK_DATA``, else ``data/``: :func:`sgtk.data.download.data_root`).

``root/<name>/raw/`` holds the source file, ``root/<name>/processed/`` the featurised tensors.
The processed file's name carries a hash of the source bytes, the columns, the featurisation
and the number of random-SMILES variants, so the next run loads it without RDKit and any
change rebuilds it. A processed file that cannot be read back (truncated, emptied, edited) is
rebuilt too, with one line saying so. The source is read once (a pipe works), and a target
that is NaN or infinite is refused with its rows, or dropped and counted with ``drop_invalid``.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import pickle
import zipfile
from pathlib import Path

import torch
from torch_geometric.data import Data, InMemoryDataset

from sgtk.data.csv_table import parse_csv_text
from sgtk.data.download import data_root, fetch
from sgtk.data.molecule_sources import DATASETS, Source, csv_source, non_finite_message
from sgtk.data.molecules import FEATURISATION, MoleculeSet, collate_molecules, featurise
from sgtk.errors import ConfigError, SgtkError
from sgtk.io.files import atomic_write_bytes, read_bytes

log = logging.getLogger(__name__)
# The data file's tensors and the meta keys that MoleculeSet reads: a cache without them is
# corrupt, whatever torch.load thinks of it.
_DATA_KEYS = ("x", "edge_index", "edge_attr", "y", "tokens", "lengths", "smiles", "row")
_META_KEYS = ("tokens", "n_skipped", "delimiter")


class _CorruptCache(Exception):
    """A processed file that cannot be read back as what process() wrote."""


class MoleculeDataset(InMemoryDataset):
    """Both views of every molecule of ``source``; ``meta`` has the vocabulary, the number
    of skipped rows and the delimiter the CSV was read with."""

    def __init__(
        self,
        source: Source,
        root: Path | str | None = None,
        variants: int = 0,
        drop_invalid: bool = False,
    ):
        self.source, self.variants, self.drop_invalid = source, variants, drop_invalid
        self._key: str | None = None
        self._raw: bytes | None = None
        super().__init__(str(data_root(root) / source.name), log=False)
        try:
            self._load_processed()
        except _CorruptCache as e:
            log.warning(
                f"processed cache {self.processed_paths[0]} is unreadable ({e}): rebuilding it"
            )
            for path in self.processed_paths:
                Path(path).unlink(missing_ok=True)
            self.process()
            self._load_processed()

    def _load_processed(self) -> None:
        data_path, meta_path = (Path(p) for p in self.processed_paths)
        try:
            data, slices = torch.load(data_path, weights_only=True)
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (
            pickle.UnpicklingError,
            RuntimeError,
            EOFError,
            zipfile.BadZipFile,
            OSError,
            ValueError,
            TypeError,
        ) as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            if isinstance(e, pickle.UnpicklingError):  # torch's message is a paragraph
                reason = "not tensors that sgtk wrote"
            raise _CorruptCache(reason) from None
        if not all(isinstance(x, dict) for x in (data, slices, meta)):
            raise _CorruptCache("not the tensors and meta sgtk writes")
        lacking = [k for k in _DATA_KEYS if k not in data]
        lacking += [k for k in _META_KEYS if k not in meta]
        lacking += [f"slices of {k}" for k in ("x", "edge_index") if k not in slices]
        if lacking:
            raise _CorruptCache(f"it lacks {lacking[0]}")
        self._data, self.slices, self.meta = Data.from_dict(data), slices, meta

    def raw_bytes(self) -> bytes:
        """The source file's bytes, read once (a pipe cannot be read twice)."""
        if self._raw is None:
            self._raw = read_bytes(self.raw_paths[0])
        return self._raw

    @property
    def raw_dir(self) -> str:
        return str(self.source.path.parent) if self.source.path else super().raw_dir

    @property
    def raw_file_names(self) -> list[str]:
        return [self.source.file]

    @property
    def processed_file_names(self) -> list[str]:
        if self._key is None:  # after download(): the key hashes the raw file's bytes
            digest = hashlib.sha256(self.raw_bytes())
            s = self.source
            digest.update(repr((s.smiles_col, s.target_col, s.delimiter)).encode())
            digest.update(f"{FEATURISATION}/{self.variants}".encode())
            if self.drop_invalid:  # only then: the caches written before the flag stay valid
                digest.update(b"/drop-invalid")
            self._key = digest.hexdigest()[:16]
        return [f"data-{self._key}.pt", f"meta-{self._key}.json"]

    def _download(self) -> None:
        # Replaces PyG's, which makes raw/ before downloading: a failed download left an
        # empty raw/ behind. fetch() makes the folders itself and removes them on failure.
        if not all(Path(p).exists() for p in self.raw_paths):  # a pipe counts
            self.download()

    def download(self) -> None:
        dest = Path(self.raw_dir) / self.source.file
        if self.source.name == "nci-tpsa":
            _copy_nci_tpsa(dest)
            return
        if self.source.url is None:  # a user's CSV, gone since csv_source checked it
            raise SgtkError(f"{dest} not found: set `data` to a readable CSV")
        fetch(
            self.source.url,
            dest,
            fix=f"download it to {dest}, or set `data`, `smiles_col` and `target_col` to a CSV",
            sha256=self.source.sha256,
        )

    def _process(self) -> None:
        # Replaces PyG's, which also writes pre_transform.pt files that it reads back with
        # weights_only=False; a data cache must never execute code when loaded.
        if not all(Path(p).is_file() for p in self.processed_paths):
            Path(self.processed_dir).mkdir(parents=True, exist_ok=True)
            self.process()

    def process(self) -> None:
        s = self.source
        name = self.raw_paths[0]
        try:
            text = self.raw_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as e:
            utf8 = f"data {name} is not UTF-8 text ({e.reason}): convert it"
            raise ConfigError("data", utf8) from None
        table = parse_csv_text(text, name, s.delimiter)
        missing = [c for c in (s.smiles_col, s.target_col) if c not in table.columns]
        if missing:
            raise SgtkError(
                f"{self.raw_paths[0]} has no column(s) {', '.join(missing)} (it has: "
                f"{', '.join(table.columns) or 'none'}; read as {table.delimiter_name}-"
                "separated): set `smiles_col` and `target_col`, or `delimiter`"
            )
        smiles, targets, no_target = [], [], 0
        invalid: list[tuple[int, int, str]] = []  # (row, line, value) of non-finite targets
        columns = zip(table.column(s.smiles_col), table.column(s.target_col), table.lines)
        for row, (s_, t, line) in enumerate(columns, 1):
            try:
                target = float(t.replace(",", ".") if table.delimiter == ";" else t)
            except ValueError:
                no_target += 1  # a row without a numeric target cannot be trained on
                continue
            if not math.isfinite(target):
                invalid.append((row, line, t.strip()))
                continue
            targets.append(target)
            smiles.append(s_.strip())
        if invalid and not self.drop_invalid:
            raise SgtkError(non_finite_message(name, s.target_col, invalid))
        if not table.rows:
            raise SgtkError(f"{name} has a header but no data rows: add rows below the header")
        if not smiles:
            first = table.delimiter.join(table.rows[0])[:60]
            raise SgtkError(
                f"none of the {len(table.rows)} rows of {name} has a numeric {s.target_col!r} "
                f"(row 1 reads {first!r}, split at {table.delimiter_name}s): check "
                "`target_col`, `delimiter` and the file's quoting"
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
            "n_dropped_invalid": len(invalid),  # non-finite targets dropped (drop_invalid)
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
    root: Path | str | None = None,
    variants: int = 0,
    delimiter: str | None = None,
    drop_invalid: bool = False,
) -> MoleculeDataset:
    if data is not None:
        source = csv_source(Path(data), smiles_col, target_col, delimiter)
    elif dataset in DATASETS:
        source = DATASETS[dataset]
    else:
        raise SgtkError(
            f"unknown dataset {dataset!r}: choose one of {', '.join(DATASETS)} or set `data` "
            "to a CSV"
        )
    return MoleculeDataset(source, root, variants, drop_invalid)


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


def load_molecules(*args, **kwargs) -> MoleculeSet:
    """A named dataset or a CSV through its processed cache (arguments as
    :func:`load_dataset`)."""
    return load_dataset(*args, **kwargs).molecules()
