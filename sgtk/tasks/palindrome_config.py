"""The palindrome task's settings (``[task]`` of ``sgtk train palindrome``), torch-free so
``--help`` builds its options without loading torch."""

from __future__ import annotations

from dataclasses import dataclass, field

from sgtk.choices import INITS, READOUTS
from sgtk.errors import ConfigError
from sgtk.models.registry import check_init
from sgtk.tasks.curriculum import LengthCurriculum
from sgtk.tasks.registry import check_graph, check_model
from sgtk.tasks.sizes import check_sizes


@dataclass
class PalindromeConfig:
    model: str = field(default="lstm", metadata={"help": "The model (see `sgtk models`)."})
    length: int = field(default=10, metadata={"help": "Palindrome length T (>= 3).", "short": "-T"})
    hidden: int = field(default=128, metadata={"help": "Hidden units."})
    layers: int = field(default=4, metadata={"help": "GCN layers k (receptive field k hops)."})
    readout: str = field(default="last", metadata={"help": "Graph readout (last: the last node)."})
    init: str = field(
        default="auto",
        metadata={"help": "auto, xavier, orthogonal (rnn, gru), forget (lstm), chrono (lstm, gru)"},
    )
    one_hot: bool = field(
        default=True, metadata={"help": "Digit features.", "negative": "--scalar"}
    )
    pos_dim: int = field(default=0, metadata={"help": "GCN positional-encoding size."})
    directed: bool = True  # causal edges: the target is the digit after the last node
    graph: str = field(
        default="auto",
        metadata={
            "help": "Sequence graph: path, window:K, dilated or complete (auto: the model's own)."
        },
    )  # path, window:K, dilated or complete; auto: the model's own
    curriculum: int = field(
        default=0, metadata={"help": "Start at this length, lengthen once val is solved (0: off)."}
    )  # the first length of a curriculum up to `length`; 0: none
    curriculum_threshold: float = 0.99  # val accuracy that moves it to the next length
    curriculum_growth: float = 1.5  # next length = ceil(current * growth), up to `length`

    def validate(self) -> None:
        # numbers first, then names: every check here is torch-free, so a bad value is
        # refused in well under a second, before torch and PyG load
        if self.length < 3:
            raise ConfigError(
                "length",
                f"length {self.length} is too short: a palindrome task needs length >= 3, e.g. 5",
            )
        check_sizes(self.hidden, self.layers)
        self.make_curriculum()
        check_model(self.model, "palindrome")
        check_graph(self.graph, self.model, "palindrome")
        if self.readout not in READOUTS:
            raise ConfigError(
                "readout",
                f"readout {self.readout!r} is unknown: choose one of {', '.join(READOUTS)}",
            )
        if self.init not in INITS:
            raise ConfigError(
                "init", f"init {self.init!r} is unknown: choose one of {', '.join(INITS)}"
            )
        check_init(self.init, self.model)  # one the model can take, never silently replaced

    def make_curriculum(self) -> LengthCurriculum | None:
        if self.curriculum == 0:
            return None
        return LengthCurriculum(
            self.curriculum, self.length, self.curriculum_threshold, self.curriculum_growth
        )

    def resolved_init(self) -> str:
        """``auto``: the model's own (orthogonal W_hh for the RNN, chrono for the LSTM and the
        GRU), which hold memory over hundreds of steps where Xavier init stops near T=20."""
        return check_init(self.init, self.model)
