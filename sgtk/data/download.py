"""PyG-style fetching: ``root/<name>/raw/<file>``, with one clear line when offline."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from sgtk.errors import SgtkError
from sgtk.train.checkpoint import atomic_write_bytes


def fetch(url: str, dest: Path, fix: str, timeout: float = 20.0) -> Path:
    """Download ``url`` to ``dest`` unless it is already there; atomically, never half-written."""
    dest = Path(dest)
    if dest.is_file():
        return dest
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = response.read()
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise SgtkError(f"could not download {url} ({reason}); offline? {fix}") from None
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(dest, data)
    return dest
