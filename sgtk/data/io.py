"""Reading the files people actually have: gzip or plain text, spreadsheet CSVs with a
byte-order mark and `,` `;` or tab delimiters; every failure is one line naming the fix.

A path is opened and read once, so a pipe (``/dev/stdin``, ``<(...)``) gives all of its bytes,
and never more than :func:`max_input_bytes` of them: ``--data /dev/zero`` ends in one line.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import stat
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

from sgtk.errors import SgtkError

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
_GZIP_MAGIC = b"\x1f\x8b"
# Generous: the largest text corpora people train a char model on fit, /dev/zero does not.
MAX_INPUT_BYTES = 1 << 30
MAX_INPUT_ENV = "SGTK_MAX_INPUT_BYTES"
_CHUNK = 1 << 20


def max_input_bytes() -> int:
    """The most bytes (after gunzip) any input is read into memory: ``SGTK_MAX_INPUT_BYTES``,
    else :data:`MAX_INPUT_BYTES` (1 GiB)."""
    value = os.environ.get(MAX_INPUT_ENV)
    if not value:
        return MAX_INPUT_BYTES
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if limit < 1:
        raise SgtkError(f"{MAX_INPUT_ENV}={value!r} is not a positive number of bytes")
    return limit


def check_readable(path: Path | str, flag: str = "--data") -> Path:
    """``path`` as a readable file, or one line saying what is wrong with it.

    Only a regular file is opened to find out: a pipe or a device is not read from here, so
    the one read that follows still gets its first bytes.
    """
    path = Path(path)
    if path.is_dir():
        raise SgtkError(f"{flag} {path} is a directory, not a file: pass the file inside it")
    if not path.exists():
        raise SgtkError(f"{flag} {path} does not exist: check the path")
    try:
        if stat.S_ISREG(path.stat().st_mode):
            with open(path, "rb") as f:
                f.read(1)
        elif not os.access(path, os.R_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as e:
        raise _unreadable(path, flag, e) from None
    return path


def _unreadable(path: Path, flag: str, e: OSError) -> SgtkError:
    return SgtkError(f"{flag} {path} cannot be read ({e.strerror or e}): check its permissions")


def _open_binary(path: Path | str, flag: str) -> BinaryIO:
    """``path`` opened once, gunzipped on the fly when its first bytes say gzip."""
    path = Path(path)
    if path.is_dir():
        raise SgtkError(f"{flag} {path} is a directory, not a file: pass the file inside it")
    if not path.exists():
        raise SgtkError(f"{flag} {path} does not exist: check the path")
    try:
        raw = open(path, "rb")
        is_gzip = raw.peek(2)[:2] == _GZIP_MAGIC  # peek: the bytes stay in the stream
    except OSError as e:
        raise _unreadable(path, flag, e) from None
    if path.suffix == ".gz" and not is_gzip:
        raw.close()
        raise SgtkError(f"{flag} {path} ends in .gz but is not gzip: rename or recompress it")
    return gzip.GzipFile(fileobj=raw, mode="rb") if is_gzip else raw  # type: ignore[return-value]


def read_bytes(path: Path | str, flag: str = "--data", limit: int | None = None) -> bytes:
    """All bytes of ``path`` (gunzipped), read once and never more than ``limit``
    (default :func:`max_input_bytes`); more is one line with the limit in it."""
    limit = max_input_bytes() if limit is None else limit
    chunks, total = [], 0
    f = _open_binary(path, flag)
    try:
        while total <= limit:
            chunk = f.read(min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise SgtkError(f"{flag} {path} is a damaged gzip file ({e}): recompress it") from None
    except OSError as e:
        raise _unreadable(Path(path), flag, e) from None
    finally:
        f.close()
        if isinstance(f, gzip.GzipFile) and f.fileobj is not None:
            f.fileobj.close()
    if total > limit:
        raise SgtkError(
            f"{flag} {path} holds more than {limit:,} bytes, the limit on input read into "
            f"memory: pass a smaller file, or raise the limit with {MAX_INPUT_ENV}"
        )
    return b"".join(chunks)


def open_text(path: Path | str, flag: str = "--data") -> TextIO:
    """A UTF-8 text stream over ``path``, gunzipped on the fly when the file is gzip.

    A leading byte-order mark is dropped (``utf-8-sig``): Excel writes one. ``flag`` names
    the option the path came from, for the error line.
    """
    return io.TextIOWrapper(_open_binary(path, flag), encoding="utf-8-sig")


def read_text(path: Path | str, flag: str = "--data") -> str:
    """The whole (possibly gzipped) text file, with a clear line on bad bytes."""
    raw = read_bytes(path, flag)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SgtkError(f"{flag} {path} is not UTF-8 text ({e.reason}): convert it") from None


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
    return parse_csv_text(read_text(path, flag), path, delimiter, flag)


def parse_csv_text(
    text: str, path: Path | str, delimiter: str | None = None, flag: str = "--data"
) -> CsvTable:
    """:func:`read_csv_rows` on text already read (``path`` names it in messages)."""
    numbered = [
        (n, line)
        for n, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.startswith("#")
    ]
    if not numbered:
        raise SgtkError(f"{flag} {path} has no header line: is it empty?")
    lines = [line for _, line in numbered]
    used = parse_delimiter(delimiter) or detect_delimiter(lines[0])
    try:
        parsed = list(csv.reader(lines, delimiter=used))
    except csv.Error as e:
        raise SgtkError(f"{flag} {path} is not a valid CSV ({e}): check its quoting") from None
    columns = [c.strip() for c in parsed[0]]
    seen: dict[str, int] = {}
    for i, name in enumerate(columns):
        if name and name in seen:  # which one would be read is a guess: refuse, never pick
            raise SgtkError(
                f"{flag} {path} has two columns named {name!r} (columns {seen[name] + 1} and "
                f"{i + 1}): rename one"
            )
        seen[name] = i
    return CsvTable(columns, parsed[1:], used, [n for n, _ in numbered[1:]])
