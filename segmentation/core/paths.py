"""Where the workspace lives, and which server paths the app may read.

The embedding cache and the saved names share one folder, the workspace (``$SEGMENT_STUDIO_HOME``).

A path typed in the browser (a run folder, a model folder) names a file on the *server*, so the app reads
only under allowed roots: the workspace, plus the folders the operator lists in the environment variable
``SEGMENT_STUDIO_ALLOWED_ROOTS`` (separated by ``os.pathsep``, ``:`` on Linux), e.g.
``SEGMENT_STUDIO_ALLOWED_ROOTS=/data/runs:/models``. An environment variable rather than a secrets key,
because the CLI and the Ray workers read the same setting without Streamlit. Symlinks are resolved before
the check, and every path outside gets the same message whether or not it exists, so nothing can be probed.
"""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import stat
import sys
from datetime import datetime, timezone
from pathlib import Path

from segmentation.core.errors import ConfigError, DataError

WORKSPACE_ENV = "SEGMENT_STUDIO_HOME"
DEFAULT_WORKSPACE = ".segment-studio"
ALLOWED_ROOTS_ENV = "SEGMENT_STUDIO_ALLOWED_ROOTS"
# A run record or a segment list is kilobytes; 16 MB leaves room for thousands of segments and still
# bounds what a file linked to an endless source (/dev/zero) can cost.
JSON_MAX_BYTES = 16 * 2**20
# A typed path is echoed back in messages; past this it is cut, so a pasted megabyte is not shown whole.
_SHOWN_CHARS = 200


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


def allowed_roots() -> list[Path]:
    """The folders the app may read under: the workspace and those listed in ``$SEGMENT_STUDIO_ALLOWED_ROOTS``.

    Returns
    -------
    list of Path
        Resolved (symlinks followed), so a path is compared with where the roots really are.
    """
    listed = [workspace_dir(create=False)]
    listed += [Path(p.strip()).expanduser() for p in os.environ.get(ALLOWED_ROOTS_ENV, "").split(os.pathsep)
               if p.strip()]
    return [resolved for resolved in map(_resolve, listed) if resolved is not None]


def allowed_path(path: str | Path, roots: list[Path] | None = None) -> Path:
    """Resolve ``path`` and return it when it lies under an allowed root.

    Parameters
    ----------
    path : str or Path
        As typed (``~`` expanded; relative to the working folder).
    roots : list of Path, optional
        Resolved roots; defaults to :func:`allowed_roots`.

    Returns
    -------
    Path
        The resolved path, symlinks followed: read this one, not ``path``.

    Raises
    ------
    ConfigError
        One message for every path outside the roots, the same words whether it exists or not (and for a
        path that cannot be resolved at all), so the message never tells what is on the server.
    """
    text = str(path).strip()
    resolved = _resolve(Path(text).expanduser()) if text else None
    roots = allowed_roots() if roots is None else roots
    if resolved is None or not any(resolved.is_relative_to(root) for root in roots):
        shown = text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…"
        raise ConfigError(
            f"{shown!r} is not in a folder this app may read: use a folder inside the workspace or one the "
            f"operator lists in {ALLOWED_ROOTS_ENV}"
        )
    return resolved


def _resolve(path: Path) -> Path | None:
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL byte, an unreadable parent
        return None


def read_regular_file(path: Path, max_bytes: int, shown: str | None = None) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``, opened so that nothing else can block or flood.

    The file is opened non-blocking and checked with ``fstat`` on the open descriptor, so a FIFO, a device
    (``/dev/zero``) or a socket is refused before a byte is read, and at most ``max_bytes + 1`` bytes are
    ever read (a file that grows while read cannot exhaust memory).

    Parameters
    ----------
    path : Path
        The file (resolved, after :func:`allowed_path`).
    max_bytes : int
        The most bytes accepted.
    shown : str, optional
        How messages name the file (the path the user knows, not where a link leads); ``path.name`` if None.

    Raises
    ------
    DataError
        Naming the file: it cannot be opened, is not a regular file, or is larger than ``max_bytes``.
    """
    shown = path.name if shown is None else shown
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise DataError(f"cannot read {shown}: {error.strerror or error}") from None
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise DataError(f"{shown} is not a regular file (a pipe, device or socket); only plain files are read")
        too_large = DataError(f"{shown} is larger than {max_bytes:,} bytes, the most read for such a file")
        if info.st_size > max_bytes:
            raise too_large
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_large
    return data


def point_numba_cache() -> None:
    """Point numba's on-disk cache at ``workspace_dir()/numba-cache`` where site-packages is read-only.

    numba writes its compiled cache beside the compiled package; where that is not writable the compiled code
    would be thrown away with every process (seconds to tens of seconds of compiling at each start). The variable
    only takes effect before numba is first imported, so every module that compiles with numba (UMAP's layouts,
    k-means' single-user moves) calls this before importing it, whichever comes first in a process.
    """
    if "NUMBA_CACHE_DIR" in os.environ or "numba" in sys.modules:
        return
    spec = importlib.util.find_spec("numba")
    if spec is None or spec.origin is None:
        return
    if not os.access(Path(spec.origin).parent.parent, os.W_OK):
        cache = workspace_dir() / "numba-cache"
        cache.mkdir(parents=True, exist_ok=True)
        os.environ["NUMBA_CACHE_DIR"] = str(cache)
