"""Reading the files people actually have: gzip or plain text, spreadsheet CSVs with a
byte-order mark and `,` `;` or tab delimiters; every failure is one line naming the fix."""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from sgtk.errors import SgtkError

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
_GZIP_MAGIC = b"\x1f\x8b"


def check_readable(path: Path | str, flag: str = "--data") -> Path:
    """``path`` as a readable file, or one line saying what is wrong with it."""
    path = Path(path)
    if path.is_dir():
        raise SgtkError(f"{flag} {path} is a directory, not a file: pass the file inside it")
    if not path.exists():
        raise SgtkError(f"{flag} {path} does not exist: check the path")
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as e:
        raise SgtkError(
            f"{flag} {path} cannot be read ({e.strerror or e}): check its permissions"
        ) from None
    return path


def open_text(path: Path | str, flag: str = "--data") -> TextIO:
    """A UTF-8 text stream over ``path``, gunzipped on the fly when the file is gzip.

    A leading byte-order mark is dropped (``utf-8-sig``): Excel writes one. ``flag`` names
    the option the path came from, for the error line.
    """
    path = check_readable(path, flag)
    with open(path, "rb") as f:
        is_gzip = f.read(2) == _GZIP_MAGIC
    if path.suffix == ".gz" and not is_gzip:
        raise SgtkError(f"{flag} {path} ends in .gz but is not gzip: rename or recompress it")
    raw = gzip.open(path, "rb") if is_gzip else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig")


def read_text(path: Path | str, flag: str = "--data") -> str:
    """The whole (possibly gzipped) text file, with a clear line on bad bytes."""
    with open_text(path, flag) as f:
        try:
            return f.read()
        except UnicodeDecodeError as e:
            raise SgtkError(f"{flag} {path} is not UTF-8 text ({e.reason}): convert it") from None
        except (gzip.BadGzipFile, EOFError) as e:
            raise SgtkError(f"{flag} {path} is a damaged gzip file ({e}): recompress it") from None


@dataclass
class CsvTable:
    columns: list[str]
    rows: list[list[str]]
    delimiter: str  # the character used, detected or given

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
        raise SgtkError(
            f"--delimiter {delimiter!r} is not supported: use ',', ';' or tab (or leave it out "
            "to detect it)"
        )
    return delimiter


def detect_delimiter(header: str) -> str:
    """The candidate that splits the header line into the most fields (quotes respected);
    comma on a tie, so a one-column file reads as CSV."""
    counts = {d: len(next(csv.reader([header], delimiter=d), [])) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: counts[d])  # dicts keep order: comma wins ties


def read_csv_rows(path: Path | str, delimiter: str | None = None, flag: str = "--data") -> CsvTable:
    """Header and rows of a CSV (gzip allowed); lines starting with ``#`` are comments."""
    text = read_text(path, flag)
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not lines:
        raise SgtkError(f"{flag} {path} has no header line: is it empty?")
    used = parse_delimiter(delimiter) or detect_delimiter(lines[0])
    try:
        parsed = list(csv.reader(lines, delimiter=used))
    except csv.Error as e:
        raise SgtkError(f"{flag} {path} is not a valid CSV ({e}): check its quoting") from None
    columns = [c.strip() for c in parsed[0]]
    return CsvTable(columns, parsed[1:], used)
