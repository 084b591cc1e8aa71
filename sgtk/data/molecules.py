"""Molecules with both views: the molecular graph (atoms and bonds) and the SMILES string.

The graph view is PyG's ``from_smiles`` (9 categorical atom features, 3 bond features in
``edge_attr``); the sequence view is the SMILES split into tokens (``Cl``, ``Br`` and bracket
atoms are one token each) and batched as ragged path graphs. Both are computed once per
dataset (``featurise``) and kept as collated tensors, as a PyG ``InMemoryDataset`` keeps them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data
from torch_geometric.utils.smiles import e_map, x_map

from sgtk.errors import SgtkError
from sgtk.graphs.views import path_graph_batch
from sgtk.progress import report

# Schwaller et al. (2019): bracket atoms, two-letter halogens, ring-bond numbers %nn.
_TOKEN = re.compile(
    r"(\[[^\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|/|:|~|@|"
    r"\?|>|\*|\$|%[0-9]{2}|[0-9])"
)
PAD = "<pad>"
# Bump when featurise() changes what it computes; the PyG feature maps and the tokenizer are
# hashed in as well, so a PyG upgrade that changes them also rebuilds processed files.
FEATURISATION_VERSION = 2
FEATURISATION = (
    f"{FEATURISATION_VERSION}-"
    + hashlib.sha256(repr((x_map, e_map, _TOKEN.pattern)).encode()).hexdigest()[:10]
)


def tokenize(smiles: str) -> list[str] | None:
    """SMILES tokens whose concatenation is ``smiles``; ``None`` if some part is not a token."""
    tokens = _TOKEN.findall(smiles)
    return tokens if "".join(tokens) == smiles else None


def quiet_rdkit() -> None:
    from rdkit import rdBase  # RDLogger.DisableLog is rdBase's, which rdkit's stubs type

    rdBase.DisableLog("rdApp.*")


def scaffold_of(smiles: str) -> str:
    """The Bemis–Murcko scaffold (ring systems and linkers), as MoleculeNet splits on it;
    ``""`` for acyclic molecules."""
    from rdkit import Chem
    from rdkit.Chem.Scaffolds import MurckoScaffold

    mol = Chem.MolFromSmiles(smiles)
    return MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False) if mol else ""


@dataclass
class Featurised:
    data_list: list[Data]  # one per valid molecule
    tokens: list[str]  # the vocabulary, index 0 is padding
    problems: list[tuple[int, str]] = field(default_factory=list)  # (input row, why skipped)


def featurise(
    smiles: list[str],
    targets: list[float],
    variants: int = 0,
    vocab: list[str] | None = None,
    scaffolds: bool = True,
) -> Featurised:
    """Parse, featurise and tokenise every molecule; skip (and say why) the invalid ones.

    ``variants`` > 0 adds that many random SMILES of each molecule (the same graph written
    from other starting atoms): augmentation for the sequence view, which otherwise memorises
    the few strings of a small dataset. With ``vocab`` given (prediction), a token outside it
    makes the molecule unreadable for sequence models, so it is recorded in ``unknown``.
    """
    from torch_geometric.utils import from_smiles

    quiet_rdkit()
    kept, problems, forms_of = [], [], []
    parsing = f"parsing {len(smiles):,} SMILES"
    for row, s in enumerate(smiles):
        report(parsing, row, len(smiles))
        toks = tokenize(s) if s else None
        if toks is None:
            problems.append((row, "not a SMILES string (untokenisable characters)"))
            continue
        g = from_smiles(s)  # an unparsable SMILES gives an empty graph
        if g.num_nodes == 0:
            problems.append((row, "RDKit cannot parse this SMILES"))
            continue
        kept.append((row, g))
        forms_of.append([toks, *_random_smiles_tokens(s, variants, fallback=toks)])
    if vocab is None:
        vocab = [PAD] + sorted({t for forms in forms_of for toks in forms for t in toks})
    index = {t: i for i, t in enumerate(vocab)}
    width = max((len(t) for forms in forms_of for t in forms), default=1)
    dtype = torch.int16 if len(vocab) < 2**15 else torch.int32
    data_list = []
    report(parsing, len(smiles), len(smiles))
    building = f"featurising {len(kept):,} molecules"
    for done, ((row, g), forms) in enumerate(zip(kept, forms_of)):
        report(building, done, len(kept))
        ids = torch.zeros(1, len(forms), width, dtype=dtype)
        unknown = sorted({t for t in forms[0] if t not in index})
        for j, toks in enumerate(forms):
            ids[0, j, : len(toks)] = torch.tensor([index.get(t, 0) for t in toks])
        data_list.append(
            Data(
                x=g.x.to(torch.int16),  # categorical indices; small files load fast
                edge_index=g.edge_index.to(torch.int32),
                edge_attr=g.edge_attr.to(torch.int16),
                y=torch.tensor([float(targets[row])]),
                tokens=ids,
                lengths=torch.tensor([[len(t) for t in forms]]),
                smiles=smiles[row],
                scaffold=scaffold_of(smiles[row]) if scaffolds else "",
                row=torch.tensor([row]),
                unknown=torch.tensor([len(unknown)]),
            )
        )
    report(building, len(kept), len(kept))
    return Featurised(data_list, list(vocab), problems)


class MoleculeSet:
    """Valid molecules with targets and both views, as collated tensors.

    Node and edge tensors are concatenated over molecules with ``edge_index`` local to each
    molecule (PyG's ``InMemoryDataset`` layout); ``node_ptr``/``edge_ptr`` delimit them.
    """

    def __init__(self, data: Data, slices: dict[str, Tensor], tokens: list[str], n_skipped: int):
        self.x, self.edge_attr = data.x.long(), data.edge_attr.long()
        self.edge_index = data.edge_index.long()
        self.node_ptr, self.edge_ptr = slices["x"], slices["edge_index"]
        self.targets = data.y.float()
        self.token_ids = data.tokens.long()  # [M, 1 + K, L] padded with 0
        self.lengths = data.lengths  # [M, 1 + K]
        self.smiles: list[str] = list(data.smiles)
        self.scaffolds: list[str] = list(data.scaffold)
        self.rows = data.row  # each molecule's row in the source
        self.unknown = data.unknown  # tokens outside the vocabulary (prediction only)
        self.tokens, self.n_skipped = tokens, n_skipped

    @classmethod
    def from_featurised(cls, f: Featurised, n_input: int | None = None) -> MoleculeSet:
        if not f.data_list:
            raise SgtkError(
                f"none of the {len(f.problems)} SMILES could be parsed: check the "
                "`smiles_col` column holds SMILES strings"
            )
        data, slices = collate_molecules(f.data_list)
        return cls(data, slices, f.tokens, len(f.problems))

    @classmethod
    def from_smiles(cls, smiles: list[str], targets: list[float], variants: int = 0) -> MoleculeSet:
        """Featurise in memory, without a processed file (small sets, tests)."""
        return cls.from_featurised(featurise(smiles, targets, variants))

    def __len__(self) -> int:
        return len(self.smiles)

    @property
    def num_variants(self) -> int:
        return self.token_ids.shape[1]

    @property
    def graphs(self) -> list[Data]:
        """Each molecule's graph as a ``Data`` (for inspection; batches never use this)."""
        return [self.graph(i) for i in range(len(self))]

    def graph(self, i: int) -> Data:
        n = slice(int(self.node_ptr[i]), int(self.node_ptr[i + 1]))
        e = slice(int(self.edge_ptr[i]), int(self.edge_ptr[i + 1]))
        return Data(x=self.x[n], edge_index=self.edge_index[:, e], edge_attr=self.edge_attr[e])

    def graph_batch(self, idx: Tensor, y: Tensor, device: torch.device | str = "cpu") -> Batch:
        """The molecular graphs ``idx`` as one ``Batch`` (with ``edge_attr``), gathered with
        tensor ops from the collated tensors (no per-molecule ``Data`` list per step)."""
        node_ptr, edge_ptr = self.node_ptr, self.edge_ptr
        n_nodes = node_ptr[idx + 1] - node_ptr[idx]
        n_edges = edge_ptr[idx + 1] - edge_ptr[idx]
        new_ptr = torch.zeros(len(idx) + 1, dtype=torch.long)
        torch.cumsum(n_nodes, 0, out=new_ptr[1:])
        nodes = _ranges(node_ptr[idx], n_nodes)
        edges = _ranges(edge_ptr[idx], n_edges)
        graph_of_edge = torch.arange(len(idx)).repeat_interleave(n_edges)
        batch = Batch(
            x=self.x[nodes],
            edge_index=self.edge_index[:, edges] + new_ptr[:-1][graph_of_edge],
            edge_attr=self.edge_attr[edges],
            batch=torch.arange(len(idx)).repeat_interleave(n_nodes),
            ptr=new_ptr,
        )
        batch.y = y
        return batch.to(device)

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
        return path_graph_batch(
            ids.to(device), y.to(device), lengths=lengths.to(device), directed=directed
        )


def collate_molecules(data_list: list[Data]) -> tuple[Data, dict[str, Tensor]]:
    """``InMemoryDataset``'s layout (``edge_index`` local to each molecule), with slices even
    for one molecule, where ``InMemoryDataset.collate`` returns none."""
    from torch_geometric.data.collate import collate

    data, slices, _ = collate(Data, data_list, increment=False, add_batch=False)
    return data, slices


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
