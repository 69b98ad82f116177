"""The saved state: runs, the names people give segments, and the history of every rename.

One SQLite file (``workspace_dir()/workspace.sqlite``) in WAL mode. Every public call opens its own
connection and every write is one ``BEGIN IMMEDIATE`` transaction, so threads, processes (a Streamlit
server and a CLI at once) and a process killed mid-save never lose or half-write a name. Each run's full
assignments table (map coordinates included) is kept as Parquet beside it, in ``runs/<run key>.parquet``.
The tables and the records it keeps (a run's details, a name, a rename), with the checks and packing of a
stored row, live in :mod:`segmentation.runs.records`; pairing the segments of two runs to carry names over in
:mod:`segmentation.runs.matching`.
"""

from __future__ import annotations

import json
import re
import sqlite3
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from segmentation.core.constraints import Interval, Text, validate
from segmentation.core.errors import ConfigError, DamagedWorkspaceError, reason
from segmentation.core.labels import NOISE
from segmentation.core.paths import WORKSPACE_ENV, is_corrupt, set_aside, workspace_dir
from segmentation.runs.matching import CarriedName, CarryReport, match_segments
from segmentation.runs.records import (
    _ADDED_COLUMNS,
    _RUN_KEY,
    _RUN_ROW,
    _SCHEMA,
    _UNREADABLE,
    SCHEMA_VERSION,
    NameChange,
    RunInfo,
    SegmentName,
    _assignments_of,
    _blob_damage,
    _clean_name,
    _pack,
    _record_damage,
    _text,
    _unpack,
    damaged_message,
)

WORKSPACE_FILE = "workspace.sqlite"
BUSY_TIMEOUT_MS = 30_000
RUNS_FOLDER = "runs"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


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
                with transaction(connection):
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
        with self._explained(), closing(self._connect()) as connection, transaction(connection):
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

    def save_evaluation(self, run_key: str, payload: Mapping[str, Any]) -> None:
        """Keep the recommendation evaluation of a run's data and settings (the run need not be saved yet: the
        evaluation of a config is the same whichever run of it is reported); the latest replaces the one before."""
        path = self._run_file(run_key, ".evaluation.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(path.name + ".tmp")
        scratch.write_text(json.dumps(payload, ensure_ascii=False, allow_nan=False), encoding="utf-8")
        scratch.replace(path)

    def evaluation(self, run_key: str) -> dict[str, Any] | None:
        """The evaluation kept for a run (:meth:`save_evaluation`), None where none was kept.

        Raises
        ------
        ConfigError
            When the kept file is unreadable.
        """
        path = self._run_file(run_key, ".evaluation.json")
        if not path.is_file():
            return None
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ConfigError(damaged_message(run_key, f"{path.name} is unreadable: {reason(error)}")) from None
        if not isinstance(payload, dict):
            raise ConfigError(damaged_message(run_key, f"{path.name} holds no evaluation"))
        return payload

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
        # NotImplementedError: zipfile's answer to a version or compression it does not read.
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as error:
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
def transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """One write transaction on ``connection`` (opened with ``isolation_level=None``), rolled back on any error."""
    # IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout instead of one
    # failing with "database is locked" when it tries to upgrade a read lock.
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


__all__ = ["WORKSPACE_FILE", "Workspace", "transaction"]
