"""Uploaded files kept in the workspace by content hash, so a server restart does not lose them.

Each file is stored once as ``uploads/<sha256>`` with a small JSON beside it (``<sha256>.json``) that
holds its display name and the column mapping chosen for it. The bytes are only ever read back as data
(parsed by ``io.read_table``), never executed or unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from segmentation.paths import workspace_dir

UPLOADS_FOLDER = "uploads"
_DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class StoredUpload:
    """A kept file: its display name, its bytes, their sha256 and the column mapping saved with it."""

    name: str
    data: bytes
    digest: str
    roles: dict[str, str]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, read in chunks (the same digest an upload of that file gets)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class UploadStore:
    """Uploaded files in ``<workspace>/uploads``, addressed by the sha256 of their bytes.

    Parameters
    ----------
    folder : str or Path, optional
        Where the files go; defaults to ``workspace_dir() / "uploads"``.
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else workspace_dir() / UPLOADS_FOLDER

    def save(self, name: str, data: bytes) -> str:
        """Keep ``data`` under its sha256 (once: the same bytes are written once) and return the digest."""
        digest = sha256(data)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / digest
        if not path.exists():
            _write_atomically(path, data)
        meta = self._meta(digest)
        meta["name"] = str(name)
        _write_atomically(self._meta_path(digest), json.dumps(meta).encode())
        return digest

    def load(self, digest: str) -> StoredUpload | None:
        """The kept file with this digest, or None when it is not here (or the digest is malformed).

        A file whose bytes no longer match their digest counts as absent.
        """
        if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
            return None
        path = self.folder / digest
        if not path.is_file():
            return None
        data = path.read_bytes()
        if sha256(data) != digest:
            return None
        meta = self._meta(digest)
        return StoredUpload(name=str(meta.get("name") or digest[:12]), data=data, digest=digest,
                            roles={str(k): str(v) for k, v in (meta.get("roles") or {}).items()})

    def save_roles(self, digest: str, roles: dict[str, str]) -> None:
        """Remember the column mapping chosen for a kept file (ignored for a file that is not kept)."""
        if not _DIGEST.fullmatch(digest) or not (self.folder / digest).is_file():
            return
        meta = self._meta(digest)
        if meta.get("roles") == roles:
            return
        meta["roles"] = dict(roles)
        _write_atomically(self._meta_path(digest), json.dumps(meta).encode())

    def _meta_path(self, digest: str) -> Path:
        return self.folder / f"{digest}.json"

    def _meta(self, digest: str) -> dict:
        try:
            meta = json.loads(self._meta_path(digest).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return meta if isinstance(meta, dict) else {}


def _write_atomically(path: Path, data: bytes) -> None:
    # A crash mid-write leaves the old file (or none), never a half-written one.
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)
