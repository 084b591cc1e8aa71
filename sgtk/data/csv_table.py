"""Spreadsheet CSVs as people have them: a byte-order mark, `,` `;` or tab delimiters, `#`
comment lines, and one line naming the fix for anything else."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from sgtk.errors import ConfigError
from sgtk.io.files import read_text

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass
class CsvTable:
    columns: list[str]
    rows: list[list[str]]
    delimiter: str  # the character used, detected or given
    lines: list[int] = field(default_factory=list)  # each row's line in the file, from 1

    @property
    def delimiter_name(self) -> str:
        return DELIMITERS.get(self.delimiter, repr(self.delimiter))

    def column(self, name: str) -> list[str]:
        i = self.columns.index(name)
        return [row[i] if i < len(row) else "" for row in self.rows]


def parse_delimiter(delimiter: str | None) -> str | None:
    """``None`` (detect), one of , ; tab, or their names (``tab``, ``\\t``, ``semicolon``)."""
    if delimiter is None:
        return None
    names = {v: k for k, v in DELIMITERS.items()} | {"\\t": "\t"}
    delimiter = names.get(delimiter, delimiter)
    if delimiter not in DELIMITERS:
        raise ConfigError(
            "delimiter",
            f"delimiter {delimiter!r} is not supported: use ',', ';' or tab (or leave it out "
            "to detect it)",
        )
    return delimiter


def detect_delimiter(header: str) -> str:
    """The candidate that splits the header line into the most fields (quotes respected);
    comma on a tie, so a one-column file reads as CSV."""
    counts = {d: len(next(csv.reader([header], delimiter=d), [])) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: counts[d])  # dicts keep order: comma wins ties


def read_csv_rows(path: Path | str, delimiter: str | None = None, field: str = "data") -> CsvTable:
    """Header and rows of a CSV (gzip allowed); lines starting with ``#`` are comments."""
    return parse_csv_text(read_text(path, field), path, delimiter, field)


def parse_csv_text(
    text: str, path: Path | str, delimiter: str | None = None, field: str = "data"
) -> CsvTable:
    """:func:`read_csv_rows` on text already read (``path``, from the config's ``field``,
    names it in messages)."""
    numbered = [
        (n, line)
        for n, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.startswith("#")
    ]
    if not numbered:
        raise ConfigError(field, f"{field} {path} has no header line: is it empty?")
    lines = [line for _, line in numbered]
    used = parse_delimiter(delimiter) or detect_delimiter(lines[0])
    try:
        parsed = list(csv.reader(lines, delimiter=used))
    except csv.Error as e:
        invalid = f"{field} {path} is not a valid CSV ({e}): check its quoting"
        raise ConfigError(field, invalid) from None
    columns = [c.strip() for c in parsed[0]]
    seen: dict[str, int] = {}
    for i, name in enumerate(columns):
        if name and name in seen:  # which one would be read is a guess: refuse, never pick
            raise ConfigError(
                field,
                f"{field} {path} has two columns named {name!r} (columns {seen[name] + 1} and "
                f"{i + 1}): rename one",
            )
        seen[name] = i
    return CsvTable(columns, parsed[1:], used, [n for n, _ in numbered[1:]])
