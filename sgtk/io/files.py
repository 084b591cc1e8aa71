"""Files in and out: inputs read once and bounded (gzip or plain, UTF-8), outputs written
atomically; every failure is one line naming the fix.

A path is opened and read once, so a pipe (``/dev/stdin``, ``<(...)``) gives all of its bytes,
and never more than :func:`max_input_bytes` of them: ``--data /dev/zero`` ends in one line.
"""

from __future__ import annotations

import errno
import gzip
import io
import os
import stat
import tempfile
import zlib
from pathlib import Path
from typing import BinaryIO, TextIO

from sgtk.errors import ConfigError, SgtkError
from sgtk.progress import report

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


def check_readable(path: Path | str, field: str = "data") -> Path:
    """``path`` as a readable file, or one line saying what is wrong with it.

    Only a regular file is opened to find out: a pipe or a device is not read from here, so
    the one read that follows still gets its first bytes.
    """
    path = _existing_file(path, field)
    try:
        if stat.S_ISREG(path.stat().st_mode):
            with open(path, "rb") as f:
                f.read(1)
        elif not os.access(path, os.R_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as e:
        raise _unreadable(path, field, e) from None
    return path


def _existing_file(path: Path | str, field: str) -> Path:
    """``path`` if something other than a folder is there, else one line saying what is."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(field, f"{field} {path} is a directory, not a file: pass the file in it")
    if not path.exists():
        raise ConfigError(field, f"{field} {path} does not exist: check the path")
    return path


def _unreadable(path: Path, field: str, e: OSError) -> SgtkError:
    why = e.strerror or e
    return ConfigError(field, f"{field} {path} cannot be read ({why}): check its permissions")


def _open_binary(path: Path | str, field: str) -> BinaryIO:
    """``path`` opened once, gunzipped on the fly when its first bytes say gzip."""
    path = _existing_file(path, field)
    try:
        raw = open(path, "rb")
        is_gzip = raw.peek(2)[:2] == _GZIP_MAGIC  # peek: the bytes stay in the stream
    except OSError as e:
        raise _unreadable(path, field, e) from None
    if path.suffix == ".gz" and not is_gzip:
        raw.close()
        raise ConfigError(
            field, f"{field} {path} ends in .gz but is not gzip: rename or recompress it"
        )
    return gzip.GzipFile(fileobj=raw, mode="rb") if is_gzip else raw  # type: ignore[return-value]


def _plain_size(f: BinaryIO) -> int | None:
    """The byte count of a plain regular file (what a read will return), else None."""
    if isinstance(f, gzip.GzipFile):
        return None
    try:
        info = os.fstat(f.fileno())
    except OSError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def read_bytes(path: Path | str, field: str = "data", limit: int | None = None) -> bytes:
    """All bytes of ``path`` (gunzipped), read once and never more than ``limit``
    (default :func:`max_input_bytes`); more is one line with the limit in it."""
    limit = max_input_bytes() if limit is None else limit
    chunks, total = [], 0
    f = _open_binary(path, field)
    size = _plain_size(f)
    what = f"reading {Path(path).name}"
    try:
        while total <= limit:
            chunk = f.read(min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            report(what, total, size)
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        damaged = f"{field} {path} is a damaged gzip file ({e}): recompress it"
        raise ConfigError(field, damaged) from None
    except OSError as e:
        raise _unreadable(Path(path), field, e) from None
    finally:
        f.close()
        if isinstance(f, gzip.GzipFile) and f.fileobj is not None:
            f.fileobj.close()
    if total > limit:
        raise ConfigError(
            field,
            f"{field} {path} holds more than {limit:,} bytes, the limit on input read into "
            f"memory: pass a smaller file, or raise the limit with {MAX_INPUT_ENV}",
        )
    return b"".join(chunks)


def open_text(path: Path | str, field: str = "data") -> TextIO:
    """A UTF-8 text stream over ``path``, gunzipped on the fly when the file is gzip.

    A leading byte-order mark is dropped (``utf-8-sig``): Excel writes one. ``field`` names
    the config field the path came from, for the error line (a front end shows its flag).
    """
    return io.TextIOWrapper(_open_binary(path, field), encoding="utf-8-sig")


def read_text(path: Path | str, field: str = "data") -> str:
    """The whole (possibly gzipped) text file, with a clear line on bad bytes."""
    raw = read_bytes(path, field)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(
            field, f"{field} {path} is not UTF-8 text ({e.reason}): convert it"
        ) from None


class WriteFailed(SgtkError, OSError):
    """A file could not be written (full disk, lost permission...): one line, not a traceback.

    Still an ``OSError``, so code that handles I/O errors keeps handling it.
    """

    def __init__(self, path: Path | str, error: OSError):
        fix = (
            "free some disk space"
            if error.errno in (errno.ENOSPC, errno.EDQUOT)
            else "check that the folder is writable"
        )
        self.message = (
            f"could not write {path} ({error.strerror or error}): {fix}, then run again "
            "(a training run resumes from its last checkpoint); the earlier version of the file is "
            "intact"
        )
        super().__init__(error.errno, self.message, str(path))

    def __str__(self) -> str:
        return self.message


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, then rename over ``path``.

    On any failure the temp file is removed and ``path`` keeps its earlier content.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise WriteFailed(path, e) from None
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would make shared run folders unreadable
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and not isinstance(e, WriteFailed):
            raise WriteFailed(path, e) from None
        raise
