"""The text task's settings (``[task]`` of ``sgtk train text``), torch-free so ``--help``
builds its options without loading torch."""

from __future__ import annotations

from dataclasses import dataclass, field

from sgtk.data.download import data_root_field
from sgtk.errors import SgtkError
from sgtk.models.registry import get
from sgtk.tasks.registry import check_graph, models_for

TEXT_MODELS = models_for("text")
# models with forward_tokens(tokens, state): a CharLSTM
CARRY_MODELS = tuple(m for m in TEXT_MODELS if get(m).carries_state)


@dataclass
class TextConfig:
    model: str = field(default="lstm", metadata={"help": "The model (see `sgtk models`)."})
    data: str | None = field(default=None, metadata={"help": "Any UTF-8 text file.", "path": True})
    corpus: str = field(
        default="tinyshakespeare",
        metadata={"help": "Built-in corpus, downloaded into data/ on first use."},
    )
    root: str | None = data_root_field()
    seq_length: int = field(default=64, metadata={"help": "Characters per window."})
    hidden: int = field(default=384, metadata={"help": "Hidden units."})
    layers: int = field(default=2, metadata={"help": "LSTM layers, or GCN layers k."})
    embed: int = field(default=64, metadata={"help": "Embedding size (0: one-hot input)."})
    dropout: float = field(default=0.0, metadata={"help": "Dropout between layers."})
    graph: str = field(
        default="auto",
        metadata={
            "help": "Sequence graph: path, window:K, dilated or complete (auto: the model's own)."
        },
    )  # path, window:K, dilated or complete; auto: the model's own
    eval_chars: int = 16384
    carry_state: bool = field(
        default=False,
        metadata={
            "help": "Evaluate an LSTM with its state carried across windows (default: cold "
            "windows, the same for every model).",
            "negative": "--cold-windows",
        },
    )
    carry_train_state: bool = False
    fit_budget: bool = True
    fitted: str = ""
    sample_every: int = field(
        default=0, metadata={"help": "samples.md every N steps (0: at each evaluation)."}
    )
    sample_count: int = field(default=5, metadata={"help": "Samples per temperature."})
    sample_tau: list[float] = field(
        default_factory=lambda: [0.5, 1.0, 2.0],
        metadata={"help": "Temperatures of samples.md, e.g. 0.5,1,2."},
    )
    sample_length: int = field(default=80, metadata={"help": "Characters per sample."})

    def validate(self) -> None:
        if self.model not in TEXT_MODELS:
            raise SgtkError(
                f"unknown model {self.model!r} for text: choose one of {', '.join(TEXT_MODELS)}"
            )
        if self.hidden <= 0 or self.layers <= 0:  # torch-free, as every check before the taus
            raise SgtkError(f"--hidden {self.hidden} and --layers {self.layers} must be positive")
        check_graph(self.graph, self.model, "text")
        if not 0 <= self.dropout < 1:  # also false for NaN
            raise SgtkError(f"--dropout {self.dropout} must be in [0, 1)")
        if self.seq_length < 1:
            raise SgtkError(f"--seq-length {self.seq_length} must be positive (try 64)")
        if self.embed < 0:
            raise SgtkError(f"--embed {self.embed} must be >= 0 (0 means one-hot input)")
        if self.eval_chars < 1:
            raise SgtkError(f"eval_chars {self.eval_chars} must be positive (try 16384)")
        if self.carry_state and self.model not in CARRY_MODELS:
            raise SgtkError(
                f"--carry-state needs a recurrent model ({', '.join(CARRY_MODELS)}), not "
                f"{self.model!r}: drop --carry-state"
            )
        if self.carry_train_state and self.model not in CARRY_MODELS:
            raise SgtkError(
                f"carry_train_state needs a recurrent model ({', '.join(CARRY_MODELS)}), not "
                f"{self.model!r}: set carry_train_state = false"
            )
        if self.sample_every < 0:
            raise SgtkError(
                f"--sample-every {self.sample_every} must be >= 0 (0: at each evaluation)"
            )
        if self.sample_count < 0 or self.sample_length < 0:
            raise SgtkError("--sample-count and --sample-length must be >= 0 (0: no samples.md)")
        from sgtk.models.sampling import check_taus  # torch: last, after the cheap checks

        check_taus(self.sample_tau, "--sample-tau")
