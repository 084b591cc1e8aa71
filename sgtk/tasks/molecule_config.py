"""The molecule task's settings (``[task]`` of ``sgtk train molecules``), torch-free so
``--help`` builds its options without loading torch."""

from __future__ import annotations

from dataclasses import dataclass, field

from sgtk.choices import READOUTS
from sgtk.data.csv_table import parse_delimiter
from sgtk.data.download import data_root_field
from sgtk.errors import ConfigError, SgtkError
from sgtk.tasks.registry import models_for
from sgtk.tasks.sizes import check_sizes

MOLECULE_MODELS = models_for("molecules")


@dataclass
class MoleculeConfig:
    model: str = field(default="gcn", metadata={"help": "The model (see `sgtk models`)."})
    dataset: str = field(
        default="nci-tpsa",
        metadata={"help": "nci-tpsa (offline), freesolv, esol or lipophilicity."},
    )
    data: str | None = field(
        default=None,
        metadata={"help": "Any CSV (or .csv.gz) of SMILES with a numeric target.", "path": True},
    )
    smiles_col: str = field(default="smiles", metadata={"help": "SMILES column of the data file."})
    target_col: str = field(default="target", metadata={"help": "Target column of the data file."})
    delimiter: str = field(
        default="auto",
        metadata={"help": "CSV delimiter of the data file: auto (default), ',', ';' or tab."},
    )  # auto-detects , ; or tab
    root: str | None = data_root_field()
    hidden: int = field(default=128, metadata={"help": "Hidden units."})
    layers: int = field(default=4, metadata={"help": "GCN layers."})
    embed: int = 64
    readout: str = field(default="mean", metadata={"help": "Graph readout."})
    dropout: float = field(default=0.0, metadata={"help": "Dropout before the head."})
    augment: int = field(
        default=10, metadata={"help": "Random SMILES per molecule for the sequence models."}
    )
    split: str = field(
        default="random", metadata={"help": "random or scaffold (Bemis-Murcko, as MoleculeNet)."}
    )
    split_seed: int = field(default=0, metadata={"help": "Seed of the random split."})
    drop_invalid: bool = field(
        default=False,
        metadata={
            "help": "Drop rows whose target is NaN or infinite (counted in the dataset's meta) "
            "instead of refusing the file (default: refuse, naming the rows).",
            "negative": "--refuse-invalid",
        },
    )  # drop rows whose target is NaN or infinite (else refused)

    def validate(self) -> None:
        if self.model not in MOLECULE_MODELS:
            raise SgtkError(
                f"unknown model {self.model!r} for molecules: choose one of "
                f"{', '.join(MOLECULE_MODELS)}"
            )
        from sgtk.data.splits import SPLITS  # torch

        check_sizes(self.hidden, self.layers)
        if self.readout not in READOUTS:
            raise ConfigError(
                "readout",
                f"readout {self.readout!r} is unknown: choose one of {', '.join(READOUTS)}",
            )
        if self.split not in SPLITS:
            raise ConfigError(
                "split", f"split {self.split!r} is unknown: choose one of {', '.join(SPLITS)}"
            )
        if self.augment < 0:
            raise ConfigError(
                "augment", f"augment {self.augment} must be >= 0, e.g. 10 (0: no random SMILES)"
            )
        if not 0 <= self.dropout < 1:
            raise ConfigError("dropout", f"dropout {self.dropout} must be in [0, 1), e.g. 0.1")
        self.delimiter_char()

    def delimiter_char(self) -> str | None:
        return None if self.delimiter == "auto" else parse_delimiter(self.delimiter)
