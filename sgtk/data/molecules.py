"""Molecules with both views: the molecular graph (atoms and bonds) and the SMILES string.

The graph view is PyG's ``from_smiles`` (9 categorical atom features, 3 bond features); the
sequence view is the SMILES split into tokens (``Cl``, ``Br`` and bracket atoms are one token
each) and batched as ragged path graphs.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

from sgtk.errors import SgtkError
from sgtk.views import path_graph_batch

DATASETS = ("nci-tpsa", "freesolv")
# Schwaller et al. (2019): bracket atoms, two-letter halogens, ring-bond numbers %nn.
_TOKEN = re.compile(
    r"(\[[^\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|/|:|~|@|"
    r"\?|>|\*|\$|%[0-9]{2}|[0-9])"
)
PAD = "<pad>"


def tokenize(smiles: str) -> list[str] | None:
    """SMILES tokens whose concatenation is ``smiles``; ``None`` if some part is not a token."""
    tokens = _TOKEN.findall(smiles)
    return tokens if "".join(tokens) == smiles else None


def _quiet_rdkit():
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")


def read_csv(path: Path, smiles_col: str, target_col: str) -> tuple[list[str], list[float]]:
    path = Path(path)
    if not path.is_file():
        raise SgtkError(f"CSV file {path} does not exist: check the --data path")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(line for line in f if not line.startswith("#"))
        columns = reader.fieldnames or []
        missing = [c for c in (smiles_col, target_col) if c not in columns]
        if missing:
            raise SgtkError(
                f"{path} has no column(s) {', '.join(missing)} (it has: "
                f"{', '.join(columns) or 'none'}): pass --smiles-col and "
                "--target-col"
            )
        smiles, targets = [], []
        for row in reader:
            try:
                targets.append(float(row[target_col]))
            except (TypeError, ValueError):
                continue  # a row without a numeric target cannot be trained on
            smiles.append(row[smiles_col])
    return smiles, targets


def nci_tpsa() -> tuple[list[str], list[float]]:
    """4,999 SMILES with TPSA, shipped inside the rdkit wheel (always offline)."""
    from rdkit import RDConfig

    path = Path(RDConfig.RDDataDir) / "NCI" / "first_5k.tpsa.csv"
    smiles, targets = [], []
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            s, t = line.rsplit(",", 1)
            smiles.append(s)
            targets.append(float(t))
    return smiles, targets


def freesolv(root: Path | str = "data") -> tuple[list[str], list[float]]:
    """MoleculeNet FreeSolv through PyG's ``MoleculeNet`` (downloaded into ``root``)."""
    raw = Path(root) / "freesolv" / "raw" / "SAMPL.csv"
    if raw.is_file():
        return read_csv(raw, "smiles", "expt")
    import contextlib
    import io

    from torch_geometric.datasets import MoleculeNet

    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            MoleculeNet(str(root), "FreeSolv")  # PyG prints "Downloading ..." lines
    except OSError as e:  # URLError and socket errors are OSErrors
        raise SgtkError(
            f"could not download FreeSolv ({getattr(e, 'reason', e)}); offline? pass "
            f"--data FILE --smiles-col smiles --target-col expt, or place "
            f"SAMPL.csv at {raw}"
        ) from None
    return read_csv(raw, "smiles", "expt")


@dataclass
class MoleculeSet:
    """Valid molecules with targets, both views precomputed once."""

    smiles: list[str]
    targets: Tensor
    graphs: list[Data]
    token_ids: Tensor  # [M, 1 + K, L] padded with 0; variant 0 is the SMILES as given
    lengths: Tensor  # [M, 1 + K]
    tokens: list[str]  # the vocabulary, index 0 is padding
    n_skipped: int

    @classmethod
    def from_smiles(cls, smiles: list[str], targets: list[float], variants: int = 0) -> MoleculeSet:
        """Parse, featurise and tokenise. ``variants`` > 0 adds that many random SMILES of
        each molecule (the same graph written from other starting atoms): augmentation for
        the sequence view, which otherwise memorises the few strings of a small dataset."""
        from torch_geometric.utils import from_smiles

        _quiet_rdkit()
        keep_s, keep_t, graphs, token_lists = [], [], [], []
        for s, t in zip(smiles, targets):
            toks = tokenize(s) if s else None
            if toks is None:
                continue
            g = from_smiles(s)  # an unparsable SMILES gives an empty graph
            if g.num_nodes == 0:
                continue
            keep_s.append(s)
            keep_t.append(t)
            graphs.append(Data(x=g.x, edge_index=g.edge_index, edge_attr=g.edge_attr))
            token_lists.append([toks, *_random_smiles_tokens(s, variants, fallback=toks)])
        if not keep_s:
            raise SgtkError(
                f"none of the {len(smiles)} SMILES could be parsed: check the "
                "--smiles-col column holds SMILES strings"
            )
        vocab = [PAD] + sorted({t for forms in token_lists for toks in forms for t in toks})
        index = {t: i for i, t in enumerate(vocab)}
        lengths = torch.tensor([[len(t) for t in forms] for forms in token_lists])
        ids = torch.zeros(*lengths.shape, int(lengths.max()), dtype=torch.long)
        for i, forms in enumerate(token_lists):
            for j, toks in enumerate(forms):
                ids[i, j, : len(toks)] = torch.tensor([index[t] for t in toks])
        return cls(
            keep_s,
            torch.tensor(keep_t, dtype=torch.float),
            graphs,
            ids,
            lengths,
            vocab,
            len(smiles) - len(keep_s),
        )

    def __len__(self) -> int:
        return len(self.smiles)

    def split(
        self, seed: int, fractions: tuple[float, float] = (0.8, 0.1)
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Random train/val/test indices (80/10/10), fixed by ``seed``."""
        perm = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))
        n_train = int(fractions[0] * len(self))
        n_val = int(fractions[1] * len(self))
        return perm[:n_train], perm[n_train : n_train + n_val], perm[n_train + n_val :]

    def graph_batch(self, idx: Tensor, y: Tensor, device: torch.device | str = "cpu") -> Batch:
        """The molecular graphs ``idx`` as one ``Batch``, gathered with tensor ops from all
        graphs collated once (no per-molecule ``Data`` list per step)."""
        if not hasattr(self, "_all"):
            self._all = Batch.from_data_list(self.graphs)
            counts = torch.tensor([g.edge_index.shape[1] for g in self.graphs])
            self._edge_ptr = torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)])
        big, node_ptr, edge_ptr = self._all, self._all.ptr, self._edge_ptr
        n_nodes = node_ptr[idx + 1] - node_ptr[idx]
        n_edges = edge_ptr[idx + 1] - edge_ptr[idx]
        new_ptr = torch.zeros(len(idx) + 1, dtype=torch.long)
        torch.cumsum(n_nodes, 0, out=new_ptr[1:])
        nodes = _ranges(node_ptr[idx], n_nodes)
        edges = _ranges(edge_ptr[idx], n_edges)
        graph_of_edge = torch.arange(len(idx)).repeat_interleave(n_edges)
        shift = (new_ptr[:-1] - node_ptr[idx])[graph_of_edge]
        batch = Batch(
            x=big.x[nodes],
            edge_index=big.edge_index[:, edges] + shift,
            edge_attr=big.edge_attr[edges],
            batch=torch.arange(len(idx)).repeat_interleave(n_nodes),
            ptr=new_ptr,
        )
        batch.y = y
        return batch.to(device)

    @property
    def num_variants(self) -> int:
        return self.token_ids.shape[1]

    def sequence_batch(
        self,
        idx: Tensor,
        y: Tensor,
        variant: Tensor | None = None,
        directed: bool = False,
        device: torch.device | str = "cpu",
    ) -> Batch:
        """Ragged path graphs over the SMILES tokens (``variant`` per molecule, default 0)."""
        if variant is None:
            variant = torch.zeros_like(idx)
        lengths = self.lengths[idx, variant]
        ids = self.token_ids[idx, variant, : int(lengths.max())]
        batch = path_graph_batch(
            ids.to(device), y.to(device), lengths=lengths.to(device), directed=directed
        )
        return batch


def _ranges(starts: Tensor, counts: Tensor) -> Tensor:
    """Concatenated ``arange(start, start + count)`` for every pair, without a Python loop."""
    offsets = torch.arange(int(counts.sum())) - torch.repeat_interleave(
        torch.cumsum(counts, 0) - counts, counts
    )
    return torch.repeat_interleave(starts, counts) + offsets


def _random_smiles_tokens(smiles: str, count: int, fallback: list[str]) -> list[list[str]]:
    if count <= 0:
        return []
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    forms = [tokenize(s) for s in Chem.MolToRandomSmilesVect(mol, count, randomSeed=0)]
    return [f if f is not None else fallback for f in forms]


def load_molecules(
    dataset: str | None = None,
    data: Path | None = None,
    smiles_col: str = "smiles",
    target_col: str = "target",
    root: Path | str = "data",
    variants: int = 0,
) -> MoleculeSet:
    if data is not None:
        smiles, targets = read_csv(Path(data), smiles_col, target_col)
    elif dataset == "nci-tpsa":
        smiles, targets = nci_tpsa()
    elif dataset == "freesolv":
        smiles, targets = freesolv(root)
    else:
        raise SgtkError(
            f"unknown dataset {dataset!r}: choose one of {', '.join(DATASETS)} or pass --data FILE"
        )
    if not smiles:
        raise SgtkError("the dataset has no rows with a numeric target: check --target-col")
    return MoleculeSet.from_smiles(smiles, targets, variants)
