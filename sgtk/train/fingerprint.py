"""Fingerprints of a run's input data, for its manifest: a resume refuses changed data."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any


def file_fingerprint(path: Path | str) -> dict[str, Any]:
    """Size and SHA-256 of a regular file, read in chunks (a pipe gets its name only)."""
    path = Path(path)
    if not path.is_file():
        return {"file": path.name}
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return {"file": path.name, "size": size, "sha256": digest.hexdigest()}


def text_fingerprint(name: str, text: str) -> dict[str, Any]:
    """Size and SHA-256 of text as read (also right for a pipe, which cannot be read twice)."""
    data = text.encode("utf-8")
    return {"file": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
