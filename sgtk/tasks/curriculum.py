"""A curriculum over sequence lengths: start short, lengthen once val is solved there.

Bengio et al. (2009, "Curriculum learning") and Zaremba & Sutskever (2014, "Learning to
execute") train on easy instances first. For a memory task the easy instances are short
ones: a cell that stores the first digit for 20 steps is a good start for 40. Under the
protocol the shorter lengths only steer training: ``best.pt`` is chosen among evaluations at
the target length, and test is scored there once, at the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sgtk.errors import ConfigError


@dataclass
class LengthCurriculum:
    """Lengths ``start``, ``start * growth``, ... up to ``target``; the next one is taken
    when val accuracy at the current length reaches ``threshold``.

    ``growth`` is a factor (>= 1); each step lengthens by at least one.
    """

    start: int
    target: int
    threshold: float = 0.99
    growth: float = 1.5
    current: int = field(init=False)

    def __post_init__(self) -> None:
        if not 3 <= self.start <= self.target:
            example = max(3, self.target // 2)
            raise ConfigError(
                "curriculum",
                f"curriculum {self.start} must lie between 3 and `length` {self.target}: start "
                f"shorter than the target, e.g. {example}, or 0 to turn it off",
            )
        if not 0 < self.threshold <= 1:
            raise ConfigError(
                "curriculum_threshold",
                f"curriculum_threshold {self.threshold} must be in (0, 1], e.g. 0.99",
            )
        if not (math.isfinite(self.growth) and self.growth >= 1):
            raise ConfigError(
                "curriculum_growth", f"curriculum_growth {self.growth} must be >= 1, e.g. 1.5"
            )
        self.current = self.start

    @property
    def done(self) -> bool:
        return self.current >= self.target

    def next_length(self) -> int:
        return min(self.target, max(self.current + 1, math.ceil(self.current * self.growth)))

    def advance(self, accuracy: float) -> int | None:
        """Move to the next length if ``accuracy`` (val, at the current length) reaches the
        threshold; the new length, or None when it stays."""
        if self.done or accuracy < self.threshold:
            return None
        self.current = self.next_length()
        return self.current

    def state_dict(self) -> dict[str, Any]:
        return {"curriculum_length": self.current}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.current = int(state.get("curriculum_length", self.current))
