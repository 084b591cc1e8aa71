"""``metrics.jsonl``: one JSON object per evaluation, each with a ``step`` key."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class MetricsLog:
    def __init__(self, path: Path):
        self.path = Path(path)

    def append(self, record: dict[str, Any]) -> None:
        # One write per line and an fsync: a crash leaves at most a torn last line, which
        # truncate_after() drops on resume.
        line = json.dumps(record, sort_keys=True) + "\n"
        try:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            from sgtk.train.checkpoint import WriteFailed

            raise WriteFailed(self.path, e) from None

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        records = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a torn last line from a crash
        return records

    def truncate_after(self, step: int) -> None:
        """Keep the records up to ``step`` (the resumed checkpoint); drop the rest, and the
        final record of a finished run, which a longer resumed run writes again."""
        kept = [r for r in self.read() if r["step"] <= step and not r.get("final")]
        from sgtk.train.checkpoint import atomic_write_bytes

        data = "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept)
        atomic_write_bytes(self.path, data.encode())
