"""PyG-style fetching: ``root/<name>/raw/<file>``, checked against a pinned SHA-256, with
progress and one clear line when offline. A failed download leaves nothing behind."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import field
from pathlib import Path
from typing import Any

from sgtk.errors import SgtkError
from sgtk.progress import report

CHUNK = 1 << 16


def data_root(configured: str | Path | None = None) -> Path:
    """Where datasets, corpora and caches live: ``configured`` (``--data-root``) when given,
    else ``$SGTK_DATA``, else ``data/`` in the working folder (as PyG's ``root`` defaults)."""
    if configured not in (None, ""):
        return _checked_root(Path(str(configured)).expanduser(), "root", "`root`")
    if os.environ.get("SGTK_DATA"):
        return _checked_root(Path(os.environ["SGTK_DATA"]).expanduser(), None, "SGTK_DATA")
    return _checked_root(Path("data"), None, "./data")


def _checked_root(root: Path, field: str | None, named: str) -> Path:
    """``root`` when it is, or can become, a folder; else one line naming where it was set
    (``field`` is the config key a front end shows as its flag)."""
    for path in (root, *root.parents):
        if path.is_dir():
            return root
        if path.exists():
            where = "" if path == root else f" ({path} is a file)"
            if field is not None:  # the config's root (a front end shows its flag)
                said, fix = f"`{field}` {root}", f"pass a folder to {named}"
            elif named == "SGTK_DATA":
                said, fix = f"SGTK_DATA={root}", "point SGTK_DATA at a folder, or unset it"
            else:
                said, fix = f"the data root {root}", "move that file away, or set SGTK_DATA"
            raise SgtkError(f"{said} is not a folder{where}: {fix}", field=field)
    return root


def fetch(url: str, dest: Path, fix: str, sha256: str | None = None, timeout: float = 20.0) -> Path:
    """Download ``url`` to ``dest`` unless it is already there. The bytes go to a temp file
    beside ``dest`` and are renamed into place only once complete and, with ``sha256``, once
    their digest matches; on any failure the temp file and any folder made for it are removed.
    """
    dest = Path(dest)
    if dest.is_file():
        return dest
    made = [p for p in (dest.parent, *dest.parent.parents) if not p.exists()]
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            done = 0
            while chunk := response.read(CHUNK):
                f.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                report(f"downloading {dest.name}", done, total)
        if sha256 is not None and digest.hexdigest() != sha256:
            raise SgtkError(
                f"{url} did not match its pinned SHA-256 (got {digest.hexdigest()[:12]}…, "
                f"expected {sha256[:12]}…): the server sent another file; {fix}"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        reason = getattr(e, "reason", None) or e.strerror or e
        raise SgtkError(f"could not download {url} ({reason}); offline? {fix}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
        for folder in made:  # innermost first: only the folders this call made, if empty
            try:
                folder.rmdir()
            except OSError:
                break
    return dest


def data_root_field() -> Any:
    """The ``root`` field of a task config that reads datasets or corpora: None means
    :func:`data_root` (``$SGTK_DATA``, else ``./data``); ``--data-root`` on the command line."""
    return field(
        default=None,
        metadata={
            "help": "Where datasets, corpora and caches live (default: $SGTK_DATA, else ./data).",
            "flag": "--data-root",
            "path": True,
        },
    )
