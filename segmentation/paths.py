"""Where the workspace lives: the embedding cache and the saved names share one folder."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from segmentation.errors import ConfigError

WORKSPACE_ENV = "SEGMENT_STUDIO_HOME"
DEFAULT_WORKSPACE = ".segment-studio"


def workspace_dir(create: bool = True) -> Path:
    """Return the workspace folder: ``$SEGMENT_STUDIO_HOME`` or ``./.segment-studio``.

    Raises
    ------
    ConfigError
        With ``create``, when the folder cannot be made or written to (a file stands at its path, a
        parent is read-only): one line naming the folder and the setting to change.
    """
    path = Path(os.environ.get(WORKSPACE_ENV) or DEFAULT_WORKSPACE).expanduser()
    if create:
        where = f"the workspace folder {path} (set by {WORKSPACE_ENV})" if os.environ.get(WORKSPACE_ENV) else (
            f"the workspace folder {path}"
        )
        if path.exists() and not path.is_dir():
            raise ConfigError(f"{where} is a file, not a folder; set {WORKSPACE_ENV} to a folder")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(
                f"cannot create {where}: {error.strerror or error}; set {WORKSPACE_ENV} to a writable folder"
            ) from None
        if not os.access(path, os.W_OK | os.X_OK):
            raise ConfigError(f"{where} is read-only; set {WORKSPACE_ENV} to a writable folder")
    return path


# SQLite's primary result codes for "this file is damaged" and "this file is not a database".
_CORRUPT_CODES = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}


def is_corrupt(error: sqlite3.DatabaseError) -> bool:
    """Whether an SQLite error says the file is damaged (not busy, locked or read-only)."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _CORRUPT_CODES
    return "malformed" in str(error) or "not a database" in str(error)


def set_aside(path: Path) -> Path:
    """Move a damaged SQLite file (and its -wal/-shm companions) to ``NAME.corrupt-TIME``; return the backup."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    backup = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.replace(backup.with_name(backup.name + suffix))
    return backup
