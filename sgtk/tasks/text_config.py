"""The text task's settings (``[task]`` of ``sgtk train text``), torch-free so ``--help``
builds its options without loading torch."""

from __future__ import annotations

from dataclasses import dataclass, field

from sgtk.data.download import data_root_field
from sgtk.errors import ConfigError, SgtkError
from sgtk.models.registry import get
from sgtk.tasks.registry import check_graph, models_for
from sgtk.tasks.sizes import check_sizes

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
        check_sizes(self.hidden, self.layers)  # torch-free, as every check before the taus
        check_graph(self.graph, self.model, "text")
        if not 0 <= self.dropout < 1:  # also false for NaN
            raise ConfigError("dropout", f"dropout {self.dropout} must be in [0, 1), e.g. 0.1")
        if self.seq_length < 1:
            raise ConfigError(
                "seq_length", f"seq_length {self.seq_length} must be positive, e.g. 64"
            )
        if self.embed < 0:
            raise ConfigError(
                "embed", f"embed {self.embed} must be >= 0, e.g. 16 (0 means one-hot input)"
            )
        if self.eval_chars < 1:
            raise ConfigError(
                "eval_chars", f"eval_chars {self.eval_chars} must be positive, e.g. 16384"
            )
        if self.carry_state and self.model not in CARRY_MODELS:
            raise ConfigError(
                "carry_state",
                f"carry_state needs a recurrent model ({', '.join(CARRY_MODELS)}), not "
                f"{self.model!r}: leave it off",
            )
        if self.carry_train_state and self.model not in CARRY_MODELS:
            raise ConfigError(
                "carry_train_state",
                f"carry_train_state needs a recurrent model ({', '.join(CARRY_MODELS)}), not "
                f"{self.model!r}: set carry_train_state = false",
            )
        if self.sample_every < 0:
            raise ConfigError(
                "sample_every",
                f"sample_every {self.sample_every} must be >= 0 (0: at each evaluation)",
            )
        for name in ("sample_count", "sample_length"):
            if getattr(self, name) < 0:
                raise ConfigError(
                    name, f"{name} {getattr(self, name)} must be >= 0 (0: no samples.md)"
                )
        from sgtk.models.sampling import check_taus  # torch: last, after the cheap checks

        check_taus(self.sample_tau, "sample_tau")
