"""Open a run folder written by the Ray engine as the :class:`SegmentResult` the app's pages read.

The folder holds every user's assignment but coordinates only for the map sample; sizes and shares come
from the full counts in ``segments.json``. Reading needs pyarrow, not Ray.

The path comes from the browser, so the folder must lie under an allowed root (:mod:`segmentation.core.paths`),
every file in it must be a regular file under a root too (a link out of the folder is refused like a path
outside), and each is size-capped. Whatever is wrong with a folder ends in one :class:`DataError` (or the
one :class:`ConfigError` for a path outside the roots), never in an error from pyarrow or JSON.
Keys this version does not know, in ``run.json`` or its ``config``, are ignored, as
:meth:`SegmentConfig.from_dict` ignores them for saved runs: a run written by a newer engine still opens.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass, fields
from numbers import Real
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from segmentation.core.errors import DataError, SegmentationError, reason
from segmentation.core.paths import JSON_MAX_BYTES, allowed_path, allowed_roots, read_regular_file
from segmentation.describe.segments import SegmentDescription
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import SegmentResult

ASSIGNMENT_COLUMNS = ("user_id", "segment", "segment_name", "confidence", "n_comments", "x", "y")
# Parquet of ten million users is about 300 MB; the cap keeps a hostile folder from filling memory.
ASSIGNMENTS_MAX_BYTES = 2 * 2**30
_SEGMENT_FIELDS = {f.name for f in fields(SegmentDescription)}


@dataclass(frozen=True)
class RunFolder:
    """A Ray run as the app shows it.

    Attributes
    ----------
    path : Path
    digest : str
        sha256 of ``run.json`` and ``segments.json``.
    run_id : str
        The run's identity for saved names: the id its ``run.json`` names, or for a folder written before runs
        named themselves ``ray-folder-`` and the digest's start (the key its names were saved under).
    result : SegmentResult
        Every user's assignment; ``x``/``y`` are NaN outside the map sample; no silhouette per user.
    n_comments, n_fit_users, n_mapped_users : int
        Full comment count, users the segmentation was fitted on, users on the map.
    """

    path: Path
    digest: str
    run_id: str
    result: SegmentResult
    n_comments: int
    n_fit_users: int
    n_mapped_users: int

    @property
    def n_users(self) -> int:
        return len(self.result.user_ids)

    @property
    def mapped(self) -> pd.DataFrame:
        """The assignments of the users on the map."""
        frame = self.result.assignments
        return frame[frame["x"].notna()].reset_index(drop=True)


def open_run_folder(path: str | Path) -> RunFolder:
    """Read ``assignments/``, ``segments.json`` and ``run.json`` of a Ray run folder.

    Parameters
    ----------
    path : str or Path
        The folder, as typed; it must lie under an allowed root (:func:`segmentation.core.paths.allowed_path`).

    Raises
    ------
    ConfigError
        The folder is outside the allowed roots (one message, whether it exists or not).
    DataError
        The folder is missing, is not a Ray run folder, or one of its files is damaged.
    """
    roots = allowed_roots()
    folder = allowed_path(path, roots)
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder; give the --out folder of a Ray run")
    wanted = [folder / "run.json", folder / "segments.json", folder / "assignments"]
    missing = [p.name for p in wanted if not os.path.lexists(p)]
    if missing:
        raise DataError(
            f"{folder} is not a run folder of the Ray engine (missing {', '.join(missing)}); "
            "open the --out folder of `python -m segmentation segment --engine ray`"
        )
    run_bytes, segments_bytes = (read_regular_file(allowed_path(p, roots), JSON_MAX_BYTES, str(p)) for p in wanted[:2])
    record = _json(run_bytes, folder, "run.json")
    if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
        raise DataError(f"{folder}/run.json is damaged: it must be an object with a \"config\" object")
    listed = _json(segments_bytes, folder, "segments.json")
    if not isinstance(listed, list):
        raise DataError(f"{folder}/segments.json is damaged: it must be a list of segments")
    segments = [_segment(item, folder) for item in listed]
    assignments = _read_assignments(allowed_path(wanted[2], roots), roots)
    try:
        config = SegmentConfig.from_dict(record["config"])
    except (SegmentationError, TypeError, ValueError) as error:
        raise DataError(f"{folder}/run.json holds a config this version cannot use: {reason(error)}") from None
    try:
        user_ids, labels = assignments["user_id"].to_numpy(dtype=object), assignments["segment"].to_numpy()
    except (pa.ArrowException, ValueError, TypeError) as error:  # values pyarrow read but cannot convert
        raise DataError(f"{folder}/assignments holds damaged Parquet ({type(error).__name__}: {reason(error)})"
                        ) from None
    result = SegmentResult(
        config=config,
        user_ids=user_ids,
        labels=labels,
        assignments=assignments,
        segments=segments,
        metrics=_numbers(record, "metrics", folder),
        timings=_numbers(record, "timings", folder),
        versions={str(k): str(v) for k, v in _mapping(record, "versions", folder).items()},
        notes=[str(note) for note in _list(record, "notes", folder)],
        silhouette=np.full(len(assignments), np.nan),
        sweep=_sweep(record.get("k_sweep"), folder),
    )
    digest = hashlib.sha256(run_bytes + b"\0" + segments_bytes).hexdigest()
    return RunFolder(
        path=folder,
        digest=digest,
        run_id=_run_id(record, folder) or f"ray-folder-{digest[:32]}",
        result=result,
        n_comments=_count(record, "n_comments", folder),
        n_fit_users=_count(record, "n_fit_users", folder),
        n_mapped_users=int(assignments["x"].notna().sum()),
    )


def _read_assignments(target: Path, roots: list[Path]) -> pd.DataFrame:
    """The assignments, read only from regular files under the roots and within the size cap."""
    if not target.is_dir():
        raise DataError(f"{target} is not a folder of Parquet files")
    files, total = [], 0

    def unreadable(error: OSError) -> None:  # os.walk would skip a folder it cannot list: part of the run lost
        raise DataError(f"{target} cannot be read: {error.strerror or error}")

    for parent, folders, names in os.walk(target, onerror=unreadable):
        for name in folders:
            if os.path.islink(os.path.join(parent, name)):
                raise DataError(f"{target} holds a link to a folder ({name}); the engine writes none")
        for name in sorted(names):
            if name.startswith((".", "_")):  # the writers' own markers (_SUCCESS, .crc), never data
                continue
            file = allowed_path(os.path.join(parent, name), roots)
            try:
                info = file.stat()
            except OSError as error:
                raise DataError(f"{target} holds {name}, which cannot be read: {error.strerror or error}") from None
            if not stat.S_ISREG(info.st_mode):
                raise DataError(f"{target} holds {name}, which is not a regular file")
            total += info.st_size
            files.append(str(file))
    if total > ASSIGNMENTS_MAX_BYTES:
        raise DataError(f"{target} holds {total:,} bytes of Parquet, more than the {ASSIGNMENTS_MAX_BYTES:,} read")
    if not files:
        raise DataError(f"{target} holds no Parquet files")
    # KeyError and IndexError below: the pandas metadata in a file's footer is damaged (it names a column or an
    # index that is not there), raised by pyarrow's pandas_compat while converting.
    try:
        # The validated files only, so pyarrow never lists or opens anything else in the folder.
        table = ds.dataset(files, format="parquet", partitioning="hive", partition_base_dir=str(target)).to_table()
        assignments = table.to_pandas()
    except (OSError, ValueError, TypeError, KeyError, IndexError, pa.ArrowException) as error:
        raise DataError(f"{target} holds damaged Parquet ({type(error).__name__}: {reason(error)})") from None
    absent = [c for c in ASSIGNMENT_COLUMNS if c not in assignments.columns]
    if absent:
        raise DataError(f"{target} lacks the columns {', '.join(absent)}")
    try:
        # The segment is a folder name (segment=N) the engine wrote; anything but a whole number is damage.
        segment = pd.to_numeric(assignments["segment"].astype(str), errors="raise")
        if segment.isna().any() or (segment % 1 != 0).any():
            raise ValueError("a segment is not a whole number")
        assignments["segment"] = segment.astype(np.int64)
        for column in ("confidence", "x", "y"):
            assignments[column] = pd.to_numeric(assignments[column], errors="raise").astype(float)
        assignments["n_comments"] = pd.to_numeric(assignments["n_comments"], errors="raise").astype(np.int64)
    except (TypeError, ValueError, OverflowError) as error:
        raise DataError(f"{target} holds a column that is not numeric where numbers belong ({reason(error)})") from None
    assignments["user_id"] = assignments["user_id"].astype(str)
    assignments["segment_name"] = assignments["segment_name"].astype(str)
    return assignments[list(ASSIGNMENT_COLUMNS)].sort_values("user_id").reset_index(drop=True)


def _json(data: bytes, folder: Path, name: str) -> object:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as error:  # RecursionError: nesting thousands deep
        raise DataError(f"{folder}/{name} is damaged: not JSON ({type(error).__name__})") from None


def _segment(item: object, folder: Path) -> SegmentDescription:
    damaged = DataError(f"{folder}/segments.json is damaged: a segment is not an object with an id, name and size")
    if not isinstance(item, dict):
        raise damaged
    values = {k: v for k, v in item.items() if k in _SEGMENT_FIELDS}  # unknown keys ignored, as in run.json
    try:
        segment = SegmentDescription(**values)
    except TypeError:
        raise damaged from None
    whole = all(isinstance(v, int) and not isinstance(v, bool) for v in (segment.id, segment.size))
    texts = [segment.keywords, segment.representative_comments, segment.top_items or [], segment.top_item_ids or []]
    lists = all(isinstance(v, list) and all(isinstance(t, str) for t in v) for v in texts)
    rating = segment.mean_rating is None or isinstance(segment.mean_rating, Real)
    if not (whole and isinstance(segment.name, str) and isinstance(segment.share, Real) and lists and rating):
        raise damaged
    return segment


def _mapping(record: dict, key: str, folder: Path) -> dict:
    value = record.get(key) or {}
    if not isinstance(value, dict):
        raise DataError(f"{folder}/run.json is damaged: {key!r} must be an object")
    return value


def _list(record: dict, key: str, folder: Path) -> list:
    value = record.get(key) or []
    if not isinstance(value, list):
        raise DataError(f"{folder}/run.json is damaged: {key!r} must be a list")
    return value


def _numbers(record: dict, key: str, folder: Path) -> dict[str, float]:
    values = _mapping(record, key, folder)
    if not all(isinstance(v, Real) or v is None for v in values.values()):
        raise DataError(f"{folder}/run.json is damaged: the values of {key!r} must be numbers")
    return {str(k): v for k, v in values.items()}


def _count(record: dict, key: str, folder: Path) -> int:
    value = record.get(key, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise DataError(f"{folder}/run.json is damaged: {key!r} must be a whole number ≥ 0")
    return value


def _sweep(sweep: object, folder: Path) -> pd.DataFrame | None:
    if sweep is None:
        return None
    if not isinstance(sweep, list) or not all(isinstance(row, dict) for row in sweep):
        raise DataError(f"{folder}/run.json is damaged: 'k_sweep' must be a list of objects")
    return pd.DataFrame(sweep)


_RUN_ID = re.compile(r"[A-Za-z0-9_.-]{1,80}")


def _run_id(record: dict, folder: Path) -> str | None:
    """The id ``run.json`` gives its run (None in a folder written before runs named themselves); it becomes a
    workspace key, so only a short plain token is taken."""
    run_id = record.get("run_id")
    if run_id is None:
        return None
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise DataError(f"{folder}/run.json is damaged: 'run_id' must be up to 80 letters, digits, '.', '_' or '-'")
    return run_id
