"""Input of the Ray engine: a file, a folder of parts or a glob → one cleaned table per part.

Every part goes through the local engine's boundary (:func:`segmentation.ingest.io.read_table` and
:func:`segmentation.ingest.io.from_frame`), so formats, encodings, cleaning and messages are the same; only the
roles are detected once, on the first part, and then fixed for every part so that all parts agree.
A part that cannot be used raises the local engine's :class:`DataError`, which names the part.
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from segmentation.core.errors import DataError
from segmentation.embed.cache import text_key
from segmentation.ingest.io import ROLES, detect_roles, from_frame, read_table

PART_SUFFIXES = (".parquet", ".csv", ".tsv", ".jsonl", ".json", ".txt", ".xlsx", ".gz")
# Plain text beside parts of a table format is documentation (README.txt), never comments.
_DOCUMENT_FORMATS = frozenset({".txt", ".txt.gz"})
# Rows of one part are numbered below this, so (part, row) packs into one sortable int64.
ROWS_PER_PART = 2**32


def resolve_parts(source: str | Path) -> tuple[list[Path], list[Path]]:
    """The part files of ``source``: a file, a folder (its comment files, recursively) or a glob.

    Every part of a folder or a glob must be in one format, as a data set split into parts is: a
    ``README.txt`` or ``notes.txt`` beside Parquet or CSV parts is documentation, not comments, and is
    skipped (``.txt`` is a format only when every part is one). Two table formats in one folder are
    refused: which of them holds the data is not ours to guess.

    Returns
    -------
    parts : list of Path
        The files to read, sorted.
    skipped : list of Path
        Text files skipped beside the parts of another format (say so: :func:`skipped_note`).

    Raises
    ------
    DataError
        When nothing matches, or the parts are in more than one table format.
    """
    text = str(source)
    path = Path(text).expanduser()
    if path.is_file():
        return [path], []
    if path.is_dir():
        parts = sorted(
            p for p in path.rglob("*")
            if p.is_file() and p.suffix.lower() in PART_SUFFIXES and not p.name.startswith((".", "_"))
        )
        if not parts:
            raise DataError(f"{path} holds no comment files ({', '.join(PART_SUFFIXES)})")
        return _one_format(parts, text)
    if any(c in text for c in "*?["):
        parts = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
        if not parts:
            raise DataError(f"no file matches {text}")
        return _one_format(parts, text)
    raise DataError(f"{path} does not exist; give a comments file, a folder of parts or a glob")


def part_format(part: Path) -> str:
    """A part's format as its name tells it: ``.parquet``, ``.csv``, ``.csv.gz`` …"""
    suffixes = [s.lower() for s in part.suffixes]
    return "".join(suffixes[-2:]) if suffixes[-1:] == [".gz"] else (suffixes[-1] if suffixes else "")


def _one_format(parts: list[Path], source: str) -> tuple[list[Path], list[Path]]:
    formats: dict[str, list[Path]] = {}
    for part in parts:
        formats.setdefault(part_format(part), []).append(part)
    tables = {fmt: files for fmt, files in formats.items() if fmt not in _DOCUMENT_FORMATS}
    if not tables:
        return parts, []  # every part is plain text: then text is the data
    if len(tables) > 1:
        counts = ", ".join(f"{len(files):,} {fmt}" for fmt, files in sorted(tables.items()))
        raise DataError(
            f"{source} mixes part formats ({counts}); keep one format per folder, or give a glob such as "
            f"{Path(source) / '*.parquet'}"
        )
    (chosen,) = tables.values()
    return chosen, [p for p in parts if part_format(p) in _DOCUMENT_FORMATS]


def skipped_note(skipped: list[Path], parts: list[Path]) -> str:
    """The run's note about text files skipped beside the data parts."""
    shown = ", ".join(p.name for p in skipped[:3]) + (", ..." if len(skipped) > 3 else "")
    return (f"skipped {len(skipped):,} text file{'s' if len(skipped) > 1 else ''} ({shown}) beside the "
            f"{len(parts):,} {part_format(parts[0])} parts: documentation, not comments")


def part_columns(part: Path) -> list[str]:
    """Column names of one part (Parquet: from its schema alone)."""
    if part.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        try:
            return [str(name) for name in pq.read_schema(part).names]
        except Exception as exc:  # pyarrow raises several types for a damaged footer
            raise DataError(f"{part.name} is not a readable Parquet file ({exc})") from None
    return [str(c) for c in read_table(part, max_rows=None).columns]


def resolve_roles(first_part: Path, overrides: Mapping[str, str | None]) -> dict[str, str | None]:
    """Roles of every part: the user's overrides, the rest detected on the first part's columns."""
    columns = part_columns(first_part)
    detected = detect_roles(columns)
    roles = {}
    for role in ROLES:
        chosen = overrides.get(role)
        if chosen is None:
            roles[role] = detected.get(role)
        else:
            roles[role] = chosen or None
    if roles["text"] is None:
        raise DataError(
            f"{first_part.name} has no comment text column (looked for names like text, comment, review, "
            f"body); columns found: {', '.join(columns)}. Choose it with --text-col."
        )
    return roles


def bucket_of(keys: pd.Series | np.ndarray, n_buckets: int) -> np.ndarray:
    """Stable bucket per hex sha256 key (its first 8 hex digits modulo ``n_buckets``)."""
    heads = pd.Series(keys, dtype=str).str.slice(0, 8).map(lambda h: int(h, 16)).to_numpy(dtype=np.int64)
    return (heads % n_buckets).astype(np.int32)


def user_key(user_ids: pd.Series) -> pd.Series:
    """Hex sha256 of each user id: buckets users independently of how ids are spelled."""
    return user_ids.map(lambda u: hashlib.sha256(str(u).encode("utf-8")).hexdigest())


def read_part(
    part: Path,
    part_index: int,
    roles: Mapping[str, str | None],
    *,
    n_parts: int,
    text_buckets: int,
    user_buckets: int,
) -> pd.DataFrame:
    """Read and clean one part; one row per comment with the keys the later stages group by.

    Returns
    -------
    pandas.DataFrame
        ``user_id``, ``text``, ``text_hash`` (the embedding cache's key), ``row_id`` (part and row packed
        in one int64: the local engine's row order for ties), ``text_bucket``, ``user_bucket``, and where
        the data has them ``item_id``, ``rating``, ``time``.

    Raises
    ------
    DataError
        The part is unreadable, empty, or lacks a column the first part had (the message names it).
    """
    comments = from_frame(
        read_table(part, max_rows=None),
        **{f"{role}_col": (roles[role] or "") for role in ROLES},
        source=part.name,
        max_rows=None,
    )
    frame = comments.frame
    users = frame["user_id"]
    if roles["user"] is None and n_parts > 1:
        # Each comment is its own user; "row-N" alone would repeat in every part.
        users = part.name + ":" + users
    out = pd.DataFrame({"user_id": users.astype(str), "text": frame["text"].astype(str)})
    out["text_hash"] = out["text"].map(text_key)
    out["row_id"] = np.int64(part_index) * ROWS_PER_PART + np.arange(len(out), dtype=np.int64)
    out["text_bucket"] = bucket_of(out["text_hash"], text_buckets)
    out["user_bucket"] = bucket_of(user_key(out["user_id"]), user_buckets)
    for column in ("item_id", "rating", "time"):
        if column in frame.columns:
            out[column] = frame[column].to_numpy()
    return out
