"""Uploaded files kept in the workspace by content hash, so a server restart does not lose them.

Each file is stored once as ``uploads/<sha256>`` with a small JSON beside it (``<sha256>.json``) that
holds its display name, the column mapping chosen for it and when it was last used (saved or loaded).
The bytes are only ever read back as data (parsed by ``io.read_table``), never executed or unpickled.

Any visitor can upload, so the kept files have a quota per workspace: 500 MB unless
``SEGMENT_STUDIO_UPLOAD_QUOTA_MB`` says otherwise. Past it, the least recently used files are removed,
never the one just saved. Saved runs and names live in the workspace database, not here, so they stay;
a run whose file was removed still opens, only re-running it asks for the file again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from segmentation.core.errors import ConfigError
from segmentation.core.paths import workspace_dir

UPLOADS_FOLDER = "uploads"
QUOTA_ENV = "SEGMENT_STUDIO_UPLOAD_QUOTA_MB"
DEFAULT_QUOTA_MB = 500.0
_DIGEST = re.compile(r"[0-9a-f]{64}")


def upload_quota_bytes() -> int:
    """The most bytes of kept uploads per workspace: ``$SEGMENT_STUDIO_UPLOAD_QUOTA_MB`` or 500 MB.

    Raises
    ------
    ConfigError
        The variable is not a positive number.
    """
    text = os.environ.get(QUOTA_ENV, "").strip()
    try:
        megabytes = float(text) if text else DEFAULT_QUOTA_MB
    except ValueError:
        megabytes = float("nan")
    if not megabytes > 0 or megabytes == float("inf"):
        raise ConfigError(f"{QUOTA_ENV}={text!r} is not a number of megabytes above 0; set it to e.g. 500")
    return int(megabytes * 2**20)


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
    quota_bytes : int, optional
        The most bytes of kept files; defaults to :func:`upload_quota_bytes`.
    """

    def __init__(self, folder: str | Path | None = None, quota_bytes: int | None = None) -> None:
        self.folder = Path(folder) if folder is not None else workspace_dir() / UPLOADS_FOLDER
        self.quota_bytes = quota_bytes

    def save(self, name: str, data: bytes) -> str:
        """Keep ``data`` under its sha256 (once: the same bytes are written once) and return the digest.

        Files used least recently are then removed until the kept files fit the quota; the file just
        saved is always kept, even alone above the quota (the upload size limit bounds it).
        """
        digest = sha256(data)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / digest
        if not path.exists():
            _write_atomically(path, data)
        meta = self._meta(digest)
        meta["name"] = str(name)
        meta["used"] = time.time()
        _write_atomically(self._meta_path(digest), json.dumps(meta).encode())
        self._evict(keep=digest)
        return digest

    def load(self, digest: str) -> StoredUpload | None:
        """The kept file with this digest, or None when it is not here (or the digest is malformed).

        A file whose bytes no longer match their digest counts as absent.
        """
        if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
            return None
        try:
            data = (self.folder / digest).read_bytes()
        except OSError:  # not kept, or removed by another session's eviction a moment ago
            return None
        if sha256(data) != digest:
            return None
        meta = self._meta(digest)
        meta["used"] = time.time()
        with contextlib.suppress(OSError):  # a read-only workspace still serves its files; only the use time ages
            _write_atomically(self._meta_path(digest), json.dumps(meta).encode())
        return StoredUpload(name=str(meta.get("name") or digest[:12]), data=data, digest=digest,
                            roles={str(k): str(v) for k, v in (meta.get("roles") or {}).items()})

    def kept(self) -> list[tuple[str, str, float]]:
        """The kept files as ``(digest, display name, last used as a POSIX time)``, most recently used first;
        their bytes are not read."""
        return [(digest, str(self._meta(digest).get("name") or digest[:12]), self._last_used(digest))
                for digest, _ in reversed(self._by_use())]

    def save_roles(self, digest: str, roles: dict[str, str]) -> None:
        """Remember the column mapping chosen for a kept file (ignored for a file that is not kept)."""
        if not _DIGEST.fullmatch(digest) or not (self.folder / digest).is_file():
            return
        meta = self._meta(digest)
        if meta.get("roles") == roles:
            return
        meta["roles"] = dict(roles)
        _write_atomically(self._meta_path(digest), json.dumps(meta).encode())

    def _by_use(self) -> list[tuple[str, int]]:
        """The kept files' digests and sizes, least recently used first."""
        files = []
        for path in self.folder.iterdir() if self.folder.is_dir() else ():
            if _DIGEST.fullmatch(path.name):
                try:
                    size = path.stat().st_size
                except OSError:
                    continue  # removed meanwhile
                files.append((self._last_used(path.name), path.name, size))
        return [(digest, size) for _, digest, size in sorted(files)]

    def _last_used(self, digest: str) -> float:
        used = self._meta(digest).get("used")
        if isinstance(used, (int, float)):
            return float(used)
        try:  # a file kept before use times were recorded: its write time
            return (self.folder / digest).stat().st_mtime
        except OSError:
            return 0.0

    def _evict(self, keep: str) -> None:
        quota = self.quota_bytes if self.quota_bytes is not None else upload_quota_bytes()
        files = self._by_use()
        total = sum(size for _, size in files)
        for digest, size in files:
            if total <= quota:
                break
            if digest == keep:
                continue
            # The data first: a meta file without its data is ignored, the reverse would be a kept file
            # with no name.
            (self.folder / digest).unlink(missing_ok=True)
            self._meta_path(digest).unlink(missing_ok=True)
            total -= size

    def _meta_path(self, digest: str) -> Path:
        return self.folder / f"{digest}.json"

    def _meta(self, digest: str) -> dict:
        try:
            meta = json.loads(self._meta_path(digest).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return meta if isinstance(meta, dict) else {}


def _write_atomically(path: Path, data: bytes) -> None:
    # A crash mid-write leaves the old file (or none), never a half-written one; the partial file's name
    # is unique, so two sessions writing the same file (a load marking it used) never collide.
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
