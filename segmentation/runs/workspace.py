"""The saved state: runs, the names people give segments, and the history of every rename.

One SQLite file (``workspace_dir()/workspace.sqlite``) in WAL mode. Every public call opens its own
connection and every write is one ``BEGIN IMMEDIATE`` transaction, so threads, processes (a Streamlit
server and a CLI at once) and a process killed mid-save never lose or half-write a name. Each run's full
assignments table (map coordinates included) is kept as Parquet beside it, in ``runs/<run key>.parquet``.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from segmentation.core.constraints import Interval, Text, encodable, validate
from segmentation.core.errors import ConfigError, DamagedWorkspaceError, reason
from segmentation.core.labels import NOISE
from segmentation.core.paths import WORKSPACE_ENV, is_corrupt, set_aside, workspace_dir

WORKSPACE_FILE = "workspace.sqlite"
SOURCES = ("user", "carried", "llm")
MAX_NAME_LENGTH = 80
MAX_DESCRIPTION_LENGTH = 500
BUSY_TIMEOUT_MS = 30_000
# 2: runs keep their pipeline version and a record (metrics, timings, notes, user count).
SCHEMA_VERSION = 3
RUNS_FOLDER = "runs"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_key     TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    config      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    saved_at    TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    assignments BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_fingerprint ON runs (fingerprint, seq);
CREATE TABLE IF NOT EXISTS segment_names (
    run_key     TEXT NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,
    segment_id  INTEGER NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL CHECK (source IN ('user', 'carried', 'llm')),
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (run_key, segment_id)
);
CREATE TABLE IF NOT EXISTS name_history (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    run_key         TEXT NOT NULL,
    segment_id      INTEGER NOT NULL,
    old_name        TEXT,
    new_name        TEXT NOT NULL,
    old_description TEXT,
    new_description TEXT NOT NULL,
    source          TEXT NOT NULL,
    changed_at      TEXT NOT NULL,
    from_run        TEXT,
    from_segment    INTEGER
);
CREATE INDEX IF NOT EXISTS history_by_segment ON name_history (run_key, segment_id, id);
"""

# Columns added after version 1, added in place to a workspace saved before (nothing is rewritten, so
# every saved name stays). A run saved before has pipeline version 1 and an empty record; a name carried
# before version 3 does not say where it came from.
_ADDED_COLUMNS = {
    "runs": {"pipeline_version": "INTEGER NOT NULL DEFAULT 1", "record": "TEXT NOT NULL DEFAULT '{}'"},
    "name_history": {"from_run": "TEXT", "from_segment": "INTEGER"},
}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_RUN_KEY = r"[0-9A-Za-z_-]+"
# One run as _record_damage reads it (the first nine columns), then its packed assignments.
_RUN_ROW = (
    "SELECT r.run_key, r.fingerprint, r.config, r.created_at, r.saved_at,"
    " (SELECT COUNT(*) FROM segment_names n WHERE n.run_key = r.run_key),"
    " r.pipeline_version, r.record, r.seq, r.assignments FROM runs r"
)
_CHUNK = 2**20
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class SegmentName:
    """A saved name of one segment of one run."""

    name: str
    description: str
    source: str
    updated_at: str


@dataclass(frozen=True)
class NameChange:
    """One row of the audit trail: a name (and description) replaced by another.

    A name carried over from an earlier run names that run and segment in ``from_run`` and
    ``from_segment`` (None otherwise, and for names carried before the workspace kept them).
    """

    run_key: str
    segment_id: int
    old_name: str | None
    new_name: str
    old_description: str | None
    new_description: str
    source: str
    changed_at: str
    from_run: str | None = None
    from_segment: int | None = None


@dataclass(frozen=True)
class RunInfo:
    """A saved run, without its assignments (``Workspace.assignments`` and ``Workspace.table`` read those).

    ``record`` holds what the run measured: ``metrics``, ``timings`` (seconds per stage), ``notes`` and
    ``n_users`` (empty for a run saved before the workspace kept them). ``damaged`` says why a run cannot
    be used (its saved record or one of its files is unreadable; empty when it is intact): such a run is
    listed, with what could be read of it, but never shown, restored or carried from.
    """

    run_key: str
    fingerprint: str
    config: dict
    created_at: str
    saved_at: str
    n_named: int
    pipeline_version: int = 1
    record: dict = field(default_factory=dict)
    damaged: str = ""

    @property
    def metrics(self) -> dict:
        return self.record.get("metrics", {})


class Match(NamedTuple):
    """An old segment and the new segment that shares most of its users."""

    old_id: int
    new_id: int
    jaccard: float


class CarriedName(NamedTuple):
    """A name copied from an old segment to the new segment that matched it."""

    old_id: int
    new_id: int
    name: str
    jaccard: float


@dataclass(frozen=True)
class CarryReport:
    """What ``Workspace.carry_over`` did.

    Attributes
    ----------
    carried : list of CarriedName
        Names copied onto new segments.
    new : list of int
        New segments that match no old segment (they need a name).
    dropped : list of int
        Named old segments that match no new segment (their names were not carried).
    kept : list of int
        New segments that matched a named old segment but already had a name, which was kept.
    from_run_key : str or None
        The run the names came from (None when there was no earlier named run).
    notes : list of str
        What the user should know: the earlier run was damaged, so no name could be carried from it.
    """

    carried: list[CarriedName] = field(default_factory=list)
    new: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)
    from_run_key: str | None = None
    notes: list[str] = field(default_factory=list)


def run_key(fingerprint: str, config: Mapping) -> str:
    """Return a short stable key for one segmentation of one data set.

    Parameters
    ----------
    fingerprint : str
        The data set's fingerprint (``Comments.fingerprint()``).
    config : mapping
        The run's configuration (JSON-serialisable; other values are keyed by their ``str``).

    Returns
    -------
    str
        The first 16 hex digits of the sha256 of both, independent of the config's key order.
    """
    payload = json.dumps({"fingerprint": fingerprint, "config": config}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def match_segments(old: Mapping[str, int], new: Mapping[str, int], threshold: float = 0.5) -> list[Match]:
    """Pair old segments with new ones by the users they share.

    Parameters
    ----------
    old, new : mapping of user id to segment id
        Two assignments, typically of the same users; the noise label ``-1`` never matches.
    threshold : float, default 0.5
        Least Jaccard index (shared users over users in either) for a pair to count.

    Returns
    -------
    list of Match
        One-to-one pairs with ``jaccard >= threshold``, chosen to maximise the total Jaccard
        (Hungarian assignment), sorted by old id. When two new segments overlap one old segment
        equally, only one of them gets it.
    """
    if not 0.0 < threshold <= 1.0:
        raise ConfigError(f"The matching threshold must be in (0, 1]; got {threshold}.")
    old_sizes = Counter(int(segment) for segment in old.values() if segment != NOISE)
    new_sizes = Counter(int(segment) for segment in new.values() if segment != NOISE)
    if not old_sizes or not new_sizes:
        return []
    old_ids, new_ids = sorted(old_sizes), sorted(new_sizes)
    old_row = {segment: row for row, segment in enumerate(old_ids)}
    new_column = {segment: column for column, segment in enumerate(new_ids)}
    intersection = np.zeros((len(old_ids), len(new_ids)))
    for user, segment in old.items():
        other = new.get(user, NOISE)
        if segment != NOISE and other != NOISE:
            intersection[old_row[int(segment)], new_column[int(other)]] += 1
    old_count = np.array([old_sizes[segment] for segment in old_ids], dtype=float)
    new_count = np.array([new_sizes[segment] for segment in new_ids], dtype=float)
    union = old_count[:, None] + new_count[None, :] - intersection
    jaccard = intersection / union
    # Pairs under the threshold must not steal a partner from a pair above it, so they weigh nothing.
    weights = np.where(jaccard >= threshold, jaccard, 0.0)
    # Imported here: scipy costs a second at import and only carry-over needs it.
    from scipy.optimize import linear_sum_assignment

    rows, columns = linear_sum_assignment(weights, maximize=True)
    matches = [
        Match(int(old_ids[r]), int(new_ids[c]), float(jaccard[r, c]))
        for r, c in zip(rows, columns, strict=True)
        if weights[r, c] > 0.0
    ]
    return sorted(matches)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _clean_name(name: str, description: str, source: str) -> tuple[str, str]:
    if source not in SOURCES:
        raise ConfigError(f"Unknown name source {source!r}; use one of {', '.join(SOURCES)}.")
    if not isinstance(name, str) or not isinstance(description, str):
        raise ConfigError("A segment name and its description must be text.")
    # A name is a one-line label: any run of whitespace (newlines included) becomes one space.
    name = _WHITESPACE.sub(" ", name).strip()
    description = description.strip()
    if not name:
        raise ConfigError("A segment name cannot be empty; type a few words that describe the segment.")
    if len(name) > MAX_NAME_LENGTH:
        raise ConfigError(
            f"A segment name can have at most {MAX_NAME_LENGTH} characters; this has {len(name)}."
        )
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise ConfigError(
            f"A segment description can have at most {MAX_DESCRIPTION_LENGTH} characters; "
            f"this has {len(description)}."
        )
    if _CONTROL.search(name) or _CONTROL.search(description):
        raise ConfigError("A segment name or description cannot contain control characters.")
    if not (encodable(name) and encodable(description)):
        raise ConfigError(
            "A segment name or description cannot contain a lone surrogate (half a character, such as \\ud800)."
        )
    return name, description


def _pack(assignments: Mapping[str, int]) -> bytes:
    users = [str(user) for user in assignments]
    segments = [int(segment) for segment in assignments.values()]
    payload = json.dumps({"users": users, "segments": segments}, ensure_ascii=False, separators=(",", ":"))
    return zlib.compress(payload.encode("utf-8"), 6)


# What unpacking damaged assignments raises: corrupt zlib data, bytes that are not UTF-8, not JSON, JSON
# of another shape (no "users", a number, lists of unequal length, values of the wrong type).
_UNREADABLE = (zlib.error, UnicodeDecodeError, ValueError, TypeError, KeyError, RecursionError)


def _assignments_of(blob: bytes) -> dict[str, int]:
    payload = json.loads(zlib.decompress(blob).decode("utf-8"))
    users, segments = payload["users"], payload["segments"]
    if not all(isinstance(user, str) for user in users) or not all(type(s) is int for s in segments):
        raise ValueError("a user id is not text or a segment is not a whole number")
    return dict(zip(users, segments, strict=True))


def _unpack(blob: bytes, run_key: str) -> dict[str, int]:
    """The assignments packed by :func:`_pack`; ``ConfigError`` naming the run when they are damaged."""
    try:
        return _assignments_of(blob)
    except _UNREADABLE as error:
        why = f"its saved assignments are unreadable: {reason(error)}"
        raise ConfigError(damaged_message(run_key, why)) from None


def damaged_message(run_key: str, reason: str) -> str:
    """The one message for a saved run that cannot be read, whatever part of it is damaged."""
    return (
        f"run {run_key} is damaged ({reason}); it cannot be shown or reused. Run the segmentation again "
        "to save a new run (`python -m segmentation runs` lists the damaged run as damaged)"
    )


def _blob_damage(blob: object) -> str:
    """Why a packed assignments blob is unreadable ("" when it decompresses whole), in bounded memory."""
    if not isinstance(blob, bytes):
        return "its saved assignments are not stored data"
    stream, pending = zlib.decompressobj(), blob
    try:
        while not stream.eof:
            # At most _CHUNK bytes out per call (the output is thrown away): a blob that inflates to
            # gigabytes costs time, never memory.
            out = stream.decompress(pending, _CHUNK)
            pending = stream.unconsumed_tail
            if not out:
                break
    except zlib.error as error:
        return f"its saved assignments are corrupt: {reason(error)}"
    return "" if stream.eof else "its saved assignments are cut short"


def _text(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _record_damage(row: tuple) -> tuple[str, dict, dict]:
    """Why a runs row cannot be used ("" when it can), and its config and record as far as they read."""
    key, fingerprint, config, created, saved, _, version, record, seq = row
    parsed = {}
    for column, text in (("config", config), ("record", record)):
        try:
            value = json.loads(text) if isinstance(text, str) else None
        except (ValueError, RecursionError):  # not JSON, a number too long to convert, nested too deep
            value = None
        if not isinstance(value, dict):
            return f"its {column} is not a JSON object", {}, {}
        parsed[column] = value
    if not isinstance(parsed["record"].get("metrics", {}), dict):
        return "its metrics are not a JSON object", parsed["config"], {}
    if not (isinstance(key, str) and re.fullmatch(_RUN_KEY, key)):
        return "its run id is missing or not an id", parsed["config"], parsed["record"]
    texts = {"fingerprint": fingerprint, "created_at": created, "saved_at": saved}
    missing = [column for column, value in texts.items() if not isinstance(value, str)]
    if missing:
        return f"its {missing[0]} is missing or not text", parsed["config"], parsed["record"]
    if type(version) is not int or type(seq) is not int:
        return "its pipeline version or order is not a whole number", parsed["config"], parsed["record"]
    return "", parsed["config"], parsed["record"]


class Workspace:
    """Runs and segment names saved in one SQLite file.

    Parameters
    ----------
    path : str or Path, optional
        The database file; defaults to ``workspace_dir() / "workspace.sqlite"``.

    Notes
    -----
    The object holds only the path: each call opens and closes its own connection, so one
    ``Workspace`` may be shared by threads, and any number of processes may open the same file.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else workspace_dir() / WORKSPACE_FILE
        with self._explained():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as connection:
                # WAL is a property of the file: set once, every later connection inherits it.
                connection.execute("PRAGMA journal_mode=WAL")
                with _transaction(connection):
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            connection.execute(statement)
                    for table, added in _ADDED_COLUMNS.items():
                        present = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
                        for column, declaration in added.items():
                            if column not in present:
                                connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
                    connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @classmethod
    def start_fresh(cls, path: str | Path | None = None) -> tuple[Workspace, Path]:
        """Keep a damaged workspace file as a backup beside it and start an empty workspace.

        Parameters
        ----------
        path : str or Path, optional
            The damaged database file; defaults to ``workspace_dir() / "workspace.sqlite"``.

        Returns
        -------
        (Workspace, Path)
            The new, empty workspace and the backup (``workspace.sqlite.corrupt-TIME``), which still
            holds everything that was saved, for recovery.
        """
        path = Path(path) if path is not None else workspace_dir() / WORKSPACE_FILE
        backup = set_aside(path)
        return cls(path), backup

    @contextmanager
    def _explained(self) -> Iterator[None]:
        """Turn SQLite's failures into one clear message: damaged, or not writable."""
        try:
            yield
        except sqlite3.DatabaseError as error:
            if is_corrupt(error):
                raise DamagedWorkspaceError(
                    f"the workspace {self.path} is damaged ({error}); nothing was changed. Start a fresh "
                    "workspace: the damaged file is kept beside it as a backup",
                    self.path,
                ) from None
            raise ConfigError(
                f"cannot use the workspace {self.path}: {error}; make its folder writable or set "
                f"{WORKSPACE_ENV} to another folder"
            ) from None
        except OSError as error:
            raise ConfigError(
                f"cannot use the workspace {self.path}: {error.strerror or error}; set {WORKSPACE_ENV} "
                "to a writable folder"
            ) from None

    @property
    def runs_folder(self) -> Path:
        """Where each run's assignments table is kept as Parquet (beside the SQLite file)."""
        return self.path.parent / RUNS_FOLDER

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # FULL: a name the call reported saved survives a power cut, not only a killed process.
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
        return connection

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._explained(), closing(self._connect()) as connection, _transaction(connection):
            yield connection

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._explained(), closing(self._connect()) as connection:
            yield connection

    # Runs ---------------------------------------------------------------------------------------

    def save_run(
        self,
        run_key: str,
        fingerprint: str,
        config: Mapping,
        assignments: Mapping[str, int],
        *,
        pipeline_version: int = 1,
        record: Mapping | None = None,
        table: pd.DataFrame | None = None,
        arrays: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """Save (or re-save) a run and its user → segment assignments.

        Parameters
        ----------
        run_key : str
            The run's key (``run_key(fingerprint, config)``).
        fingerprint : str
            The data set's fingerprint.
        config : mapping
            The run's configuration, stored as JSON.
        assignments : mapping of user id to segment id
            Every user's segment (``-1`` for noise).
        pipeline_version : int, default 1
            The version of the pipeline that computed the run (``segmentation.pipeline.segment.PIPELINE_VERSION``).
        record : mapping, optional
            What the run measured (``metrics``, ``timings``, ``notes``, ``n_users``), stored as JSON.
        table : DataFrame, optional
            The full assignments table (``SegmentResult.assignments``), kept as Parquet in
            ``runs_folder``; written before the database row, so a saved row never lacks its table.
        arrays : mapping of str to ndarray, optional
            What placing new users needs (``segmentation.cluster.placement.Placement.to_arrays``), kept beside the
            table as ``.npz`` (read back without pickle).

        Notes
        -----
        Saving a run again replaces its config, record and assignments, keeps its names and makes it the
        latest run of its data set.
        """
        config_json = json.dumps(dict(config), sort_keys=True, default=str)
        record_json = json.dumps(dict(record or {}), sort_keys=True, default=str)
        blob = _pack(assignments)
        if table is not None:
            self._write_table(run_key, table)
        if arrays is not None:
            self._write_arrays(run_key, arrays)
        now = _now()
        with self._write() as connection:
            # A hand-damaged order (text, NULL) must not rank the new run below the others.
            (seq,) = connection.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM runs WHERE typeof(seq) = 'integer'"
            ).fetchone()
            connection.execute(
                "INSERT INTO runs (run_key, fingerprint, config, created_at, saved_at, seq, assignments,"
                " pipeline_version, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (run_key) DO UPDATE SET fingerprint = excluded.fingerprint,"
                " config = excluded.config, saved_at = excluded.saved_at, seq = excluded.seq,"
                " assignments = excluded.assignments, pipeline_version = excluded.pipeline_version,"
                " record = excluded.record",
                (run_key, fingerprint, config_json, now, now, seq, blob, int(pipeline_version), record_json),
            )

    def _run_file(self, run_key: str, suffix: str) -> Path:
        if not re.fullmatch(_RUN_KEY, run_key):  # a key names a file: never a path
            raise ConfigError(f"{run_key!r} is not a run id; `python -m segmentation runs` lists them.")
        return self.runs_folder / f"{run_key}{suffix}"

    def _write_table(self, run_key: str, table: pd.DataFrame) -> None:
        path = self._run_file(run_key, ".parquet")
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(path.name + ".tmp")
        table.to_parquet(scratch, index=False, engine="pyarrow")
        scratch.replace(path)  # atomic: a reader sees the old table or the new one, never half

    def _write_arrays(self, run_key: str, arrays: Mapping[str, np.ndarray]) -> None:
        path = self._run_file(run_key, ".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(path.name + ".tmp")
        with scratch.open("wb") as handle:
            np.savez(handle, **dict(arrays))
        scratch.replace(path)

    def arrays(self, run_key: str) -> dict[str, np.ndarray] | None:
        """Return the arrays kept with a run (None when it kept none: saved before they were kept).

        Raises
        ------
        ConfigError
            When the file is unreadable (not an ``.npz``, cut short, corrupt, or holding objects).
        """
        path = self._run_file(run_key, ".npz")
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as stored:
                return {name: stored[name] for name in stored.files}
        except Exception as error:  # numpy and zipfile raise many types for a damaged file
            raise ConfigError(damaged_message(run_key, f"{path.name} is unreadable: {reason(error)}")) from None

    def table(self, run_key: str) -> pd.DataFrame | None:
        """Return a saved run's full assignments table (None when the run kept none: saved before tables).

        Raises
        ------
        ConfigError
            When the file is unreadable (cut short, corrupt) or lacks whole-number segments by user.
        """
        path = self._run_file(run_key, ".parquet")
        if not path.is_file():
            return None
        try:
            table = pd.read_parquet(path, engine="pyarrow")
        except Exception as error:  # pyarrow raises many types (ArrowInvalid, OSError, ...)
            raise ConfigError(damaged_message(run_key, f"{path.name} is unreadable: {reason(error)}")) from None
        if not {"user_id", "segment"} <= set(table.columns) or not pd.api.types.is_integer_dtype(table["segment"]):
            raise ConfigError(damaged_message(run_key, f"{path.name} lacks whole-number segments by user"))
        return table

    def assignments(self, run_key: str) -> dict[str, int]:
        """Return a saved run's user → segment assignments (empty when the run is unknown).

        Raises
        ------
        ConfigError
            When the saved assignments are unreadable.
        """
        with self._read() as connection:
            row = connection.execute("SELECT assignments FROM runs WHERE run_key = ?", (run_key,)).fetchone()
        return _unpack(row[0], run_key) if row else {}

    def run(self, run_key: str) -> RunInfo | None:
        """Return a saved run's details, or None when it is unknown.

        Raises
        ------
        ConfigError
            When the run is damaged (the message says how); the listings show it with ``damaged`` set.
        """
        runs = self._runs("r.run_key = ?", (run_key,))
        if runs and runs[0].damaged:
            raise ConfigError(damaged_message(run_key, runs[0].damaged))
        return runs[0] if runs else None

    def latest_run(self, fingerprint: str) -> str | None:
        """Return the key of the most recently saved intact run of a data set, or None."""
        runs = [info for info in self.previous_runs(fingerprint) if not info.damaged]
        return runs[0].run_key if runs else None

    def previous_runs(self, fingerprint: str) -> list[RunInfo]:
        """Return every saved run of a data set, most recently saved first."""
        return self._runs("r.fingerprint = ?", (fingerprint,))

    def all_runs(self) -> list[RunInfo]:
        """Return every saved run of every data set, most recently saved first (damaged ones marked)."""
        return self._runs("1 = 1", ())

    def _runs(self, where: str, parameters: tuple) -> list[RunInfo]:
        """Runs as far as they read: a damaged one is listed with its reason, never breaking the list."""
        runs = []
        with self._read() as connection:
            cursor = connection.execute(f"{_RUN_ROW} WHERE {where} ORDER BY r.seq DESC", parameters)
            for row in cursor:  # one blob in memory at a time
                damaged, config, record = _record_damage(row[:9])
                damaged = damaged or _blob_damage(row[9]) or self._files_damage(row[0])
                key, fingerprint, _, created, saved, named, version = row[:7]
                runs.append(RunInfo(
                    *(_text(value) for value in (key, fingerprint)), config,
                    *(_text(value) for value in (created, saved)), named,
                    version if type(version) is int else 0, record, damaged,
                ))
        return runs

    def _files_damage(self, run_key: str) -> str:
        """Why a run's files are unreadable, from what costs a few reads: the Parquet footer, the npz index.

        A page corrupt inside an intact Parquet file is found only when the table is read (``table``).
        """
        import pyarrow.parquet as pq

        table, arrays = self._run_file(run_key, ".parquet"), self._run_file(run_key, ".npz")
        try:
            if table.is_file():
                pq.read_metadata(table)
        except Exception as error:  # pyarrow raises many types for a damaged footer
            return f"{table.name} is unreadable: {reason(error)}"
        try:
            if arrays.is_file():
                with zipfile.ZipFile(arrays) as archive:
                    if not all(name.endswith(".npy") for name in archive.namelist()):
                        return f"{arrays.name} holds files that are not arrays"
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            return f"{arrays.name} is unreadable: {reason(error)}"
        return ""

    # Names --------------------------------------------------------------------------------------

    def save_name(
        self, run_key: str, segment_id: int, name: str, description: str = "", source: str = "user"
    ) -> None:
        """Name a segment of a saved run (and record the change in the history).

        Parameters
        ----------
        run_key : str
            A run saved with ``save_run``.
        segment_id : int
            The segment to name.
        name : str
            1–80 characters after trimming; inner whitespace collapses to single spaces.
        description : str, default ""
            Up to 500 characters after trimming.
        source : {"user", "carried", "llm"}, default "user"
            Who chose the name.

        Raises
        ------
        ConfigError
            When the name or description is empty, too long or has control characters, the
            source is unknown, or the run was never saved.
        """
        validate("run_key", run_key, [Text()])
        segment_id = validate("segment_id", segment_id, [Interval(int, NOISE, None)])
        name, description = _clean_name(name, description, source)
        with self._write() as connection:
            self._require_run(connection, run_key)
            self._put_name(connection, run_key, segment_id, name, description, source)

    def names(self, run_key: str) -> dict[int, SegmentName]:
        """Return the saved names of a run's segments, by segment id."""
        with self._read() as connection:
            return self._names_in(connection, run_key)

    def history(self, run_key: str, segment_id: int | None = None) -> list[NameChange]:
        """Return the name changes of a run (or of one of its segments), oldest first."""
        query = (
            "SELECT run_key, segment_id, old_name, new_name, old_description, new_description, source,"
            " changed_at, from_run, from_segment FROM name_history WHERE run_key = ?"
        )
        parameters: tuple = (run_key,)
        if segment_id is not None:
            query += " AND segment_id = ?"
            parameters += (int(segment_id),)
        with self._read() as connection:
            rows = connection.execute(query + " ORDER BY id", parameters).fetchall()
        return [NameChange(*row) for row in rows]

    def lineage(self, run_key: str, segment_id: int) -> list[NameChange]:
        """Return every change of a segment's name across runs, oldest first.

        Where the segment's name was carried over from an earlier run, that run's segment's changes come
        first, and so on back to where the name was first typed (or suggested).
        """
        changes: list[NameChange] = []
        seen: set[tuple[str, int]] = set()
        position: tuple[str, int] | None = (run_key, int(segment_id))
        while position is not None and position not in seen:  # a guard: carrying never makes a cycle
            seen.add(position)
            own = self.history(*position)
            changes[:0] = own
            carried = next((c for c in reversed(own) if c.from_run is not None), None)
            position = None if carried is None else (carried.from_run, int(carried.from_segment))
        return changes

    def carry_over(
        self,
        from_run_key: str | None,
        to_run_key: str,
        threshold: float = 0.5,
        *,
        edited: Callable[[str, dict[str, int]], dict[str, int]] | None = None,
    ) -> CarryReport:
        """Copy names from an earlier run onto the matching segments of a new run.

        Parameters
        ----------
        from_run_key : str or None
            The run whose names to carry; None picks the most recently saved other run of the same
            data set that has at least one name.
        to_run_key : str
            The new run (saved with ``save_run``).
        threshold : float, default 0.5
            Least Jaccard index of shared users for a new segment to inherit an old segment's name.
        edited : callable, optional
            ``edited(run_key, assignments)``: a run's assignments after its hand edits, so that names go
            by the segments people saw (the service passes ``segmentation.runs.edits``'); must only read.

        Returns
        -------
        CarryReport
            What was carried, which segments are new, which named ones were dropped, and which
            matched segments kept the name already set on the new run (never overwritten).
        """
        with self._write() as connection:
            target = connection.execute(
                "SELECT fingerprint, assignments FROM runs WHERE run_key = ?", (to_run_key,)
            ).fetchone()
            if target is None:
                raise ConfigError(f"Run {to_run_key!r} was never saved; save it before carrying names.")
            if from_run_key is None:
                row = connection.execute(
                    "SELECT r.run_key FROM runs r WHERE r.fingerprint = ? AND r.run_key != ?"
                    " AND EXISTS (SELECT 1 FROM segment_names n WHERE n.run_key = r.run_key)"
                    " ORDER BY r.seq DESC LIMIT 1",
                    (target[0], to_run_key),
                ).fetchone()
                if row is None:
                    return CarryReport()
                from_run_key = row[0]
            source = connection.execute(_RUN_ROW + " WHERE r.run_key = ?", (from_run_key,)).fetchone()
            if source is None:
                raise ConfigError(f"Run {from_run_key!r} was never saved; there are no names to carry.")
            new_assignments = _unpack(target[1], to_run_key)
            damaged = _record_damage(source[:9])[0]
            try:
                old_assignments = {} if damaged else _assignments_of(source[9])
            except _UNREADABLE as error:
                damaged = f"its saved assignments are unreadable: {reason(error)}"
            if damaged:
                # The new run is saved all the same: a damaged earlier run only has no names to give.
                note = (f"No names were carried over from run {from_run_key}: it is damaged ({damaged}); "
                        "name these segments again.")
                return CarryReport(new=sorted(set(new_assignments.values()) - {NOISE}), notes=[note])
            if edited is not None:
                old_assignments = edited(from_run_key, old_assignments)
                new_assignments = edited(to_run_key, new_assignments)
            old_names = self._names_in(connection, from_run_key)
            existing = self._names_in(connection, to_run_key)

            matches = match_segments(old_assignments, new_assignments, threshold)
            carried, kept = [], []
            for match in matches:
                if match.old_id not in old_names:
                    continue
                if match.new_id in existing:
                    kept.append(match.new_id)
                    continue
                old = old_names[match.old_id]
                self._put_name(connection, to_run_key, match.new_id, old.name, old.description, "carried",
                               origin=(from_run_key, match.old_id))
                carried.append(CarriedName(match.old_id, match.new_id, old.name, match.jaccard))
            matched_old = {match.old_id for match in matches}
            matched_new = {match.new_id for match in matches}
            new_ids = sorted(set(new_assignments.values()) - matched_new - {NOISE})
            dropped = sorted(set(old_names) - matched_old - {NOISE})
        return CarryReport(carried, new_ids, dropped, kept, from_run_key)

    @staticmethod
    def _names_in(connection: sqlite3.Connection, run_key: str) -> dict[int, SegmentName]:
        rows = connection.execute(
            "SELECT segment_id, name, description, source, updated_at FROM segment_names"
            " WHERE run_key = ? ORDER BY segment_id",
            (run_key,),
        ).fetchall()
        return {row[0]: SegmentName(*row[1:]) for row in rows}

    @staticmethod
    def _require_run(connection: sqlite3.Connection, run_key: str) -> None:
        if connection.execute("SELECT 1 FROM runs WHERE run_key = ?", (run_key,)).fetchone() is None:
            raise ConfigError(f"Run {run_key!r} was never saved; run the segmentation before naming it.")

    @staticmethod
    def _put_name(
        connection: sqlite3.Connection,
        run_key: str,
        segment_id: int,
        name: str,
        description: str,
        source: str,
        origin: tuple[str, int] | None = None,
    ) -> None:
        previous = connection.execute(
            "SELECT name, description, source FROM segment_names WHERE run_key = ? AND segment_id = ?",
            (run_key, segment_id),
        ).fetchone()
        if previous == (name, description, source):
            return
        now = _now()
        connection.execute(
            "INSERT INTO segment_names (run_key, segment_id, name, description, source, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_key, segment_id) DO UPDATE SET"
            " name = excluded.name, description = excluded.description, source = excluded.source,"
            " updated_at = excluded.updated_at",
            (run_key, segment_id, name, description, source, now),
        )
        old_name, old_description = previous[:2] if previous else (None, None)
        connection.execute(
            "INSERT INTO name_history (run_key, segment_id, old_name, new_name, old_description,"
            " new_description, source, changed_at, from_run, from_segment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_key, segment_id, old_name, name, old_description, description, source, now,
             *(origin if origin is not None else (None, None))),
        )


@contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    # IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout instead of one
    # failing with "database is locked" when it tries to upgrade a read lock.
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


__all__ = [
    "CarriedName",
    "CarryReport",
    "Match",
    "NameChange",
    "RunInfo",
    "SegmentName",
    "Workspace",
    "match_segments",
    "run_key",
]
