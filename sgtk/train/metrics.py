"""``metrics.jsonl``: one JSON object per evaluation, each with a ``step`` key.

Read tolerantly: a torn last line (a crash mid-write) is dropped; any other bad line is kept
aside, never a reason to lose the records after it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class MetricsRead:
    records: list[dict[str, Any]] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line number, text)
    torn: bool = False  # the last line had no newline and did not parse


def _record(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:  # JSONDecodeError, and RecursionError-free nonsense such as "{"
        return None
    step = record.get("step") if isinstance(record, dict) else None
    if not isinstance(step, int) or isinstance(step, bool):
        return None
    return record


def read_metrics(path: Path | str) -> MetricsRead:
    """Every valid record of ``path`` in order, and the bad lines with their numbers."""
    path = Path(path)
    read = MetricsRead()
    if not path.is_file():
        return read
    text = path.read_bytes().decode("utf-8", errors="replace")
    lines = text.split("\n")
    last = len(lines) - 1  # text.split leaves "" after a final newline
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record = _record(line)
        if record is not None:
            read.records.append(record)
        elif number - 1 == last:
            read.torn = True  # no newline after it: the write was cut
        else:
            read.bad.append((number, line))
    return read


class MetricsLog:
    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def corrupt_path(self) -> Path:
        return self.path.with_name(self.path.name + ".corrupt")

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
            from sgtk.io.files import WriteFailed

            raise WriteFailed(self.path, e) from None

    def read(self) -> list[dict[str, Any]]:
        return read_metrics(self.path).records

    def truncate_after(self, step: int) -> None:
        """Keep the records up to ``step`` (the resumed checkpoint); drop the later ones and
        the final record of a finished run, which a longer resumed run writes again. A bad
        line in the middle moves to ``metrics.jsonl.corrupt`` with its line number."""
        from sgtk.io.files import atomic_write_bytes

        read = read_metrics(self.path)
        if read.bad:
            old = self.corrupt_path.read_bytes() if self.corrupt_path.is_file() else b""
            aside = "".join(f"line {n}: {text}\n" for n, text in read.bad)
            atomic_write_bytes(self.corrupt_path, old + aside.encode())
        kept = [r for r in read.records if r["step"] <= step and not r.get("final")]
        data = "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept)
        atomic_write_bytes(self.path, data.encode())
