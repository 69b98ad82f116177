"""Read a comment file (or uploaded bytes), find its columns, clean its text → :class:`Comments`.

This is the library's boundary: every problem with the input becomes one :class:`DataError` that names
the file, the column or the row and says what to do. Past this module the data is trusted.

Nothing read here is unpickled or evaluated: CSV/TSV/TXT are parsed as text, JSON with :mod:`json`,
Parquet with pyarrow, XLSX with openpyxl; uploads stay in memory.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import html
import io
import json
import math
import re
import warnings
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from segmentation.errors import DataError

ROLES = ("user", "text", "item", "rating", "time")
COLUMN = {"user": "user_id", "text": "text", "item": "item_id", "rating": "rating", "time": "time"}

FORMATS = "CSV, TSV, JSONL/JSON, Parquet, XLSX or TXT"

# Names are compared lower-cased without spaces, underscores, dashes or dots. Order is priority: ids before
# names (two reviews by the same "John" are not the same person), "summary"/"title" only as a last resort.
_ALIASES: dict[str, tuple[str, ...]] = {
    "user": (
        "user_id", "reviewer_id", "customer_id", "author_id", "member_id", "profile_id", "account_id", "uid",
        "用户id", "用户编号", "user", "author", "reviewer", "customer", "member", "username", "user_name",
        "reviewer_name", "author_name", "customer_name", "profile_name", "用户", "用户名", "昵称",
    ),
    "text": (
        "text", "comment", "review", "review_text", "comment_text", "review_body", "body", "content",
        "comments", "reviews", "message", "feedback", "opinion", "评论", "内容", "评论内容", "评价", "文本",
        "summary", "title", "review_title", "摘要", "标题",
    ),
    "item": (
        "item_id", "asin", "product_id", "movie_id", "recipe_id", "book_id", "business_id", "sku",
        "商品id", "产品id", "item", "product", "movie", "recipe", "book", "business", "商品", "产品",
    ),
    "rating": (
        "rating", "overall", "stars", "star_rating", "star", "score", "review_score", "rate", "评分",
        "星级", "打分", "分数",
    ),
    "time": (
        "timestamp", "time", "date", "unix_review_time", "created_at", "review_time", "review_date",
        "datetime", "created", "posted_at", "date_time", "时间", "日期", "评论时间",
    ),
}
_BLOCK_TAGS = "p|br|div|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|hr|pre|section|article"
_BLOCK_TAG = re.compile(rf"</?(?:{_BLOCK_TAGS})\b[^<>]*>", re.IGNORECASE)
# Inline tags vanish without a space ("<b>very</b>good" was written as one word); "<3" or "a < b" are text.
_INLINE_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>|<!--.*?-->", re.DOTALL)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Control characters become spaces; zero-width spaces, soft hyphens and bidirectional overrides vanish
# (an override can make a comment display as something other than what it says). Zero-width joiners
# stay: emoji sequences such as 🤷‍♀️ and Persian words need them.
_SCRUB = {c: " " for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)]} | {
    c: None for c in [0x200B, 0x2060, 0xFEFF, 0x00AD, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
}
_CJK = re.compile("[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
_CJK_NEXT_TO_LETTER = re.compile(
    "(?<=[A-Za-z])[\u3400-\u4dbf\u4e00-\u9fff]|[\u3400-\u4dbf\u4e00-\u9fff](?=[A-Za-z])"
)
_PUNCT = re.compile("[\u00a0-\u00bf\u00d7\u00f7\u2010-\u206f\u2190-\u22ff\u2460-\u27bf]")
_DELIMITERS = (",", "\t", ";", "|")
_NS_BOUNDS = (pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC"))
_MAX_EXAMPLE = 40
_MISSING = frozenset({"nan", "na", "n/a", "nat", "null", "none", "-", "--", "?"})

MAX_ROWS = 1_000_000
"""Default row limit: beyond it the profiles, the k-NN graph and the map outgrow a laptop's memory."""
MAX_BYTES = 256 * 2**20
"""Default size limit of a file after decompression (the app's upload limit, 200 MB, sits below it)."""
MAX_TEXT_CHARS = 10_000
"""Longer comments are cut to this many characters: no encoder reads further (MiniLM stops near 1,000)."""


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-.]+", "", str(name).strip().lower())


_NORMALISED = {role: tuple(_norm(a) for a in aliases) for role, aliases in _ALIASES.items()}


@dataclass(frozen=True, eq=False)
class Comments:
    """Cleaned comments, one row per comment, ready to embed.

    Attributes
    ----------
    frame : pandas.DataFrame
        RangeIndex ``0..n-1`` (row ``i`` aligns with ``embeddings[i]``). Canonical columns: ``user_id``
        (str), ``text`` (str, cleaned) and where present ``item_id`` (str), ``rating`` (float64, NaN
        allowed), ``time`` (datetime64[ns, UTC]). Other source columns keep their own names.
    roles : Mapping[str, str | None]
        Role → the source column it came from, ``None`` where absent.
    source : str
        File name shown to users.
    n_empty_dropped, n_duplicates_dropped : int
        Rows dropped because the cleaned text was empty, or because the row repeated an earlier one.
    notes : tuple of str
        What the loader decided on the user's behalf (e.g. "no user column: each comment is its own user").
    """

    frame: pd.DataFrame
    roles: Mapping[str, str | None]
    source: str = ""
    n_empty_dropped: int = 0
    n_duplicates_dropped: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def has_items(self) -> bool:
        return "item_id" in self.frame.columns

    @property
    def has_ratings(self) -> bool:
        return "rating" in self.frame.columns

    @property
    def has_times(self) -> bool:
        return "time" in self.frame.columns

    @property
    def n_users(self) -> int:
        return int(self.frame["user_id"].nunique())

    @property
    def n_comments(self) -> int:
        return len(self.frame)

    @property
    def n_items(self) -> int:
        return int(self.frame["item_id"].nunique()) if self.has_items else 0

    def fingerprint(self) -> str:
        """Return a sha256 hex digest of the canonical columns, stable across runs and processes."""
        digest = hashlib.sha256(f"comments/v1/{len(self.frame)}".encode())
        for column in COLUMN.values():
            if column not in self.frame.columns:
                continue
            values = self.frame[column]
            digest.update(f"\x00{column}\x00".encode())
            if column == "rating":
                numbers = values.to_numpy(dtype="<f8", na_value=np.nan).copy()
                numbers[np.isnan(numbers)] = np.nan  # one NaN bit pattern, whatever produced it
                digest.update(numbers.tobytes())
            elif column == "time":
                digest.update(np.asarray(values.array.asi8, dtype="<i8").tobytes())
            else:
                strings = values.astype(object).where(values.notna(), "\x00").tolist()
                digest.update("\x1e".join(strings).encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def attribute_columns(self) -> list[str]:
        """Return the extra columns that hold exactly one value per user (usable as user attributes).

        Columns that vary within a user, hold the same value for everyone, or look like free text or
        identifiers (non-numeric with a distinct value for most users) are left out.
        """
        frame = self.frame
        extras = [c for c in frame.columns if c not in COLUMN.values()]
        if not extras:
            return []
        n_users = self.n_users
        per_user = frame.groupby("user_id", sort=False)[extras].nunique(dropna=False).max()
        out = []
        for column in extras:
            values = frame[column]
            n_distinct = values.nunique(dropna=False)
            if per_user[column] != 1 or n_distinct < 2:
                continue
            present = values.dropna().astype(str).str.strip()
            present = present[present != ""]
            numeric = len(present) > 0 and pd.to_numeric(present, errors="coerce").notna().all()
            if not numeric and (n_distinct > max(20, n_users // 2) or present.str.len().mean() > 40):
                continue
            out.append(column)
        return out

    def summary(self) -> dict[str, Any]:
        """Return the figures the data page shows: counts, medians and the date range.

        Returns
        -------
        dict
            ``users``, ``comments``, ``items`` (None without items), ``median_comments_per_user``,
            ``median_text_length`` (characters), ``mean_rating`` (None without ratings), ``date_from``
            and ``date_to`` (ISO dates, None without times), ``empty_dropped``, ``duplicates_dropped``,
            ``notes``.
        """
        frame = self.frame
        per_user = frame.groupby("user_id", sort=False).size()
        date_from = date_to = None
        if self.has_times and frame["time"].notna().any():
            date_from = frame["time"].min().date().isoformat()
            date_to = frame["time"].max().date().isoformat()
        mean_rating = None
        if self.has_ratings and frame["rating"].notna().any():
            mean_rating = float(frame["rating"].mean())
        return {
            "users": self.n_users,
            "comments": self.n_comments,
            "items": self.n_items if self.has_items else None,
            "median_comments_per_user": float(per_user.median()),
            "median_text_length": float(frame["text"].str.len().median()),
            "mean_rating": mean_rating,
            "date_from": date_from,
            "date_to": date_to,
            "empty_dropped": self.n_empty_dropped,
            "duplicates_dropped": self.n_duplicates_dropped,
            "notes": list(self.notes),
        }


def clean_text(value: object) -> str:
    """Return comment text as a reader sees it: entities decoded, tags gone, whitespace normalised.

    Parameters
    ----------
    value : object
        A cell value; missing values (None, NaN, NA) give ``""``.

    Returns
    -------
    str
        The cleaned text, possibly empty.
    """
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = value if isinstance(value, str) else str(value)
    if "<" in text:
        text = _INLINE_TAG.sub("", _BLOCK_TAG.sub(" ", text))
    if "&" in text:
        text = html.unescape(text)
    # str.split() without arguments splits on all Unicode whitespace, non-breaking spaces included.
    return " ".join(text.translate(_SCRUB).split())


def detect_roles(columns: Sequence[str]) -> dict[str, str | None]:
    """Guess which column plays each role from its name.

    Names are compared case-insensitively, ignoring spaces, underscores, dashes and dots
    (``userId``, ``user_id`` and ``User ID`` all match). Id-like columns win over name-like ones.

    Parameters
    ----------
    columns : sequence of str
        Column names in file order.

    Returns
    -------
    dict
        Every role in :data:`ROLES` → a column name, or ``None`` where no column matched.
    """
    return _detect(list(columns), {})


def _detect(columns: list[str], fixed: Mapping[str, str | None]) -> dict[str, str | None]:
    roles: dict[str, str | None] = dict(fixed)
    used = {c for c in fixed.values() if c}
    by_norm: dict[str, str] = {}
    for column in columns:
        by_norm.setdefault(_norm(column), column)
    for role in ROLES:
        if role in roles:
            continue
        roles[role] = None
        for alias in _NORMALISED[role]:
            column = by_norm.get(alias)
            if column is not None and column not in used:
                roles[role] = column
                used.add(column)
                break
    return {role: roles[role] for role in ROLES}


def load_comments(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    user_col: str | None = None,
    text_col: str | None = None,
    item_col: str | None = None,
    rating_col: str | None = None,
    time_col: str | None = None,
    max_rows: int | None = MAX_ROWS,
    max_bytes: int | None = MAX_BYTES,
) -> Comments:
    """Read a comment file and return cleaned :class:`Comments`.

    Parameters
    ----------
    source : str, Path or bytes
        A path, or the raw bytes of an upload (then pass ``name``, whose extension picks the format).
    name : str, optional
        File name used for the format and in messages; defaults to the path's name or ``"upload"``.
    user_col, text_col, item_col, rating_col, time_col : str, optional
        Column for a role, overriding detection; ``""`` means "this file has no such column".
    max_rows : int or None
        Refuse files with more rows than this (default :data:`MAX_ROWS`; None: no limit).
    max_bytes : int or None
        Refuse files larger than this after decompression (default :data:`MAX_BYTES`; None: no limit).

    Returns
    -------
    Comments

    Raises
    ------
    DataError
        The file cannot be read, is too large, has no usable text, or an override names a missing column.
    """
    frame = read_table(source, name=name, max_bytes=max_bytes)
    return from_frame(
        frame,
        user_col=user_col,
        text_col=text_col,
        item_col=item_col,
        rating_col=rating_col,
        time_col=time_col,
        source=_display_name(source, name),
        max_rows=max_rows,
    )


def read_table(
    source: str | Path | bytes, name: str | None = None, *, max_bytes: int | None = MAX_BYTES
) -> pd.DataFrame:
    """Read a file or uploaded bytes into a DataFrame of strings (``""`` where a cell is empty).

    The format comes from the extension (``.gz`` is decompressed first), else from the content.
    ``frame.attrs["first_row"]`` is the spreadsheet row number of the first data row (2 below a
    header, 1 for JSON lines and plain text), so that messages point at the right row, and
    ``frame.attrs["notes"]`` (when present) lists what the reader chose, e.g. which sheet of a workbook.

    Parameters
    ----------
    source : str, Path or bytes
        A path or the raw bytes of an upload.
    name : str, optional
        File name for the format and in messages.
    max_bytes : int or None
        Refuse files larger than this, also after decompression (default :data:`MAX_BYTES`).

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    DataError
        The file is missing, too large, empty, binary junk, or not parseable in its format.
    """
    display = _display_name(source, name)
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        _check_size(len(data), max_bytes, display)
    else:
        path = Path(source)
        try:
            _check_size(path.stat().st_size, max_bytes, display)
            data = path.read_bytes()
        except FileNotFoundError:
            raise DataError(f"{path} does not exist; check the path") from None
        except IsADirectoryError:
            raise DataError(f"{path} is a folder; give the path of a comments file") from None
        except OSError as exc:
            raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    suffix = Path(display).suffix.lower()
    if suffix == ".gz" or data[:2] == b"\x1f\x8b":
        data = _gunzip(data, display, max_bytes)
        inner = Path(display)
        suffix = Path(inner.stem).suffix.lower() if suffix == ".gz" else suffix
    if not data.strip():
        raise DataError(f"{display} is empty; it needs a header row and at least one comment")
    kind = _sniff_kind(data, suffix, display)
    if kind == "parquet":
        frame = _read_parquet(data, display, max_bytes)
    elif kind == "xlsx":
        frame = _read_xlsx(data, display, max_bytes)
    else:
        text = _decode(data, display)
        if not text.strip():
            raise DataError(f"{display} is empty; it needs a header row and at least one comment")
        if kind == "text":
            kind = _sniff_text_kind(text, suffix)
        elif kind == "csv" and text.lstrip()[:2] in ("[{", "{\""):
            # JSON saved under a .csv name: read what it is rather than a table of braces.
            kind = "json"
        elif kind == "lines" and _is_table_header(_first_line(text)):
            # A .txt export of a table ("user_id,text" on top) is a table, not one comment a line.
            kind = "csv"
        if kind == "json":
            frame = _read_json(text, display, lines=suffix in (".jsonl", ".ndjson"))
        elif kind == "lines":
            frame = _read_lines(text)
        else:
            frame = _read_csv(text, display, suffix)
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    frame.attrs.setdefault("first_row", 2)
    return frame


def from_frame(
    df: pd.DataFrame,
    *,
    user_col: str | None = None,
    text_col: str | None = None,
    item_col: str | None = None,
    rating_col: str | None = None,
    time_col: str | None = None,
    source: str = "",
    max_rows: int | None = MAX_ROWS,
) -> Comments:
    """Detect roles, convert, clean and de-duplicate a DataFrame → :class:`Comments`.

    Parameters
    ----------
    df : pandas.DataFrame
        The table as read (any dtypes; :func:`read_table` gives strings).
    user_col, text_col, item_col, rating_col, time_col : str, optional
        Column for a role, overriding detection; ``""`` means "no such column".
    source : str
        File name for messages.
    max_rows : int or None
        Refuse tables with more rows than this (default :data:`MAX_ROWS`; None: no limit).

    Returns
    -------
    Comments
        Comments longer than :data:`MAX_TEXT_CHARS` are cut to that length, with a note.

    Raises
    ------
    DataError
        No text column, an override names a missing column, too many rows, or every comment is empty.
    """
    where = source or "the table"
    columns = [str(c) for c in df.columns]
    if not columns:
        raise DataError(f"{where} has no columns; it needs a header row naming a text column")
    if len(df) == 0:
        raise DataError(f"{where} has a header but no rows (columns: {_list(columns)})")
    if max_rows is not None and len(df) > max_rows:
        raise DataError(
            f"{where} has {len(df):,} rows, more than the limit of {max_rows:,}; "
            "load a sample or raise the limit (max_rows)"
        )
    df = df.copy()
    df.columns = columns
    first_row = int(df.attrs.get("first_row", 2))
    overrides = {"user": user_col, "text": text_col, "item": item_col, "rating": rating_col, "time": time_col}
    fixed: dict[str, str | None] = {}
    for role, column in overrides.items():
        if column is None:
            continue
        if column == "":
            fixed[role] = None
        elif column not in columns:
            raise DataError(
                f"{where}: column {column!r} (chosen as {role} column) is not in the file; "
                f"columns: {_list(columns)}"
            )
        else:
            fixed[role] = column
    chosen = [c for c in fixed.values() if c]
    if len(set(chosen)) < len(chosen):
        raise DataError(f"{where}: one column was chosen for two roles ({_list(chosen)}); pick distinct ones")
    roles = _detect(columns, fixed)
    if roles["text"] is None:
        raise DataError(
            f"{where} has no comment text column (looked for names like text, comment, review, body); "
            f"columns found: {_list(columns)}. Choose the column that holds the comments.",
            cli_hint="--text-col NAME",
        )

    notes: list[str] = [str(note) for note in df.attrs.get("notes", ())]
    n = len(df)
    frame: dict[str, Any] = {}
    if roles["user"] is None:
        frame["user_id"] = pd.Series([f"row-{i + 1}" for i in range(n)], dtype="str")
        notes.append(f"no user column: each of the {n:,} comments is treated as its own user")
    else:
        users = _strings(df[roles["user"]]).str.strip()
        missing = users == ""
        if missing.any():
            users = users.where(~missing, pd.Series([f"row-{i + 1}" for i in range(n)], dtype="str"))
            notes.append(
                f"{int(missing.sum()):,} rows have no {roles['user']!r} value (first: row "
                f"{_first(missing) + first_row}); each is treated as its own user"
            )
        frame["user_id"] = users
    frame["text"] = pd.Series([clean_text(v) for v in df[roles["text"]].tolist()], dtype="str")
    too_long = frame["text"].str.len() > MAX_TEXT_CHARS
    if too_long.any():
        frame["text"] = frame["text"].str.slice(0, MAX_TEXT_CHARS)
        notes.append(
            f"{int(too_long.sum()):,} comments are longer than {MAX_TEXT_CHARS:,} characters (first: row "
            f"{_first(too_long) + first_row}); they were cut to that length, beyond what any encoder reads"
        )
    if roles["item"] is not None:
        items = _strings(df[roles["item"]]).str.strip()
        frame["item_id"] = items.where(items != "", None)
    if roles["rating"] is not None:
        rating = _ratings(df[roles["rating"]], roles["rating"], where, first_row, notes, "rating" in fixed)
        if rating is None:
            roles["rating"] = None
        else:
            frame["rating"] = rating
    if roles["time"] is not None:
        times = _times(df[roles["time"]], roles["time"], where, first_row, notes, "time" in fixed)
        if times is None:
            roles["time"] = None
        else:
            frame["time"] = times

    role_columns = {c for c in roles.values() if c}
    out = pd.DataFrame(frame)
    for column in columns:
        if column in role_columns:
            continue
        # A leftover column with a canonical name would pass for a role the user switched off.
        target = f"{column} (source)" if column in COLUMN.values() else column
        out[target] = df[column].reset_index(drop=True)

    empty = out["text"] == ""
    n_empty = int(empty.sum())
    if n_empty == n:
        raise DataError(
            f"every comment in {where} is empty (column {roles['text']!r}); choose another text column"
        )
    out = out[~empty]
    duplicated = out.duplicated()
    n_duplicates = int(duplicated.sum())
    out = out[~duplicated].reset_index(drop=True)
    if n_empty:
        notes.append(f"dropped {n_empty:,} empty comments")
    if n_duplicates:
        notes.append(f"dropped {n_duplicates:,} duplicate rows")
    return Comments(
        frame=out,
        roles=roles,
        source=source,
        n_empty_dropped=n_empty,
        n_duplicates_dropped=n_duplicates,
        notes=tuple(notes),
    )


# -- reading -------------------------------------------------------------------------------------------


def _display_name(source: str | Path | bytes, name: str | None) -> str:
    if name:
        return str(name)
    if isinstance(source, bytes | bytearray | memoryview):
        return "upload"
    return Path(source).name


def _check_size(size: int, max_bytes: int | None, name: str, what: str = "") -> None:
    if max_bytes is not None and size > max_bytes:
        raise DataError(
            f"{name} is {_megabytes(size)}{what}, more than the limit of {_megabytes(max_bytes)}; "
            "load a sample (fewer rows) or raise the limit (max_bytes)"
        )


def _megabytes(size: int) -> str:
    return f"{size / 2**20:,.1f} MB"


def _gunzip(data: bytes, name: str, max_bytes: int | None) -> bytes:
    # Decompress in bounded steps: a tiny .gz can expand to gigabytes (a "zip bomb").
    limit = None if max_bytes is None else max_bytes + 1
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            out = stream.read(-1 if limit is None else limit)
    except (OSError, EOFError, zlib.error):
        raise DataError(f"{name} is not a valid gzip file (truncated or corrupt); gzip it again") from None
    if limit is not None and len(out) >= limit:
        _check_size(len(out), max_bytes, name, " once decompressed")
    return out


def _sniff_kind(data: bytes, suffix: str, name: str) -> str:
    """Return 'parquet', 'xlsx', 'json', 'lines', 'csv' or 'text' (text: decide after decoding)."""
    if data[:4] == b"PAR1":
        return "parquet"
    if data[:4] == b"PK\x03\x04":
        if not _is_xlsx(data):
            raise DataError(f"{name} is a zip archive but not an Excel .xlsx file; unzip it first")
        return "xlsx"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise DataError(f"{name} is an old Excel .xls file; save it as .xlsx or CSV")
    if suffix in (".parquet", ".pq"):
        raise DataError(f"{name} is not a Parquet file (no PAR1 header); export it again or use CSV")
    if suffix in (".xlsx", ".xlsm"):
        raise DataError(f"{name} is not an Excel .xlsx file (not a zip archive); save it again as .xlsx")
    if suffix == ".xls":
        raise DataError(f"{name} is an old Excel .xls file; save it as .xlsx or CSV")
    if suffix in (".json", ".jsonl", ".ndjson"):
        return "json"
    if suffix == ".txt":
        return "lines"
    if suffix in (".csv", ".tsv", ".tab"):
        return "csv"
    return "text"


def _is_xlsx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return any(n.startswith("xl/") for n in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def _sniff_text_kind(text: str, suffix: str) -> str:
    head = text.lstrip()[:1]
    if head in ("{", "["):
        return "json"
    first = _first_line(text)
    if any(_count_outside_quotes(first, d) for d in _DELIMITERS):
        return "csv"
    return "lines"


def _decode(data: bytes, name: str) -> str:
    """Decode text: UTF-8 (BOM or not), UTF-16, GB18030 when it reads as Chinese, else cp1252/latin-1."""
    junk = DataError(f"{name} is not a text table (it looks like binary data); upload a {FORMATS} file")
    if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        try:
            return data.decode("utf-32")
        except UnicodeDecodeError:
            raise junk from None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise junk from None
    if b"\x00" in data:
        # UTF-16 without a BOM shows a NUL in every other byte for ASCII-heavy text.
        sample = data[:4096]
        if len(sample) % 2 == 0 and sample[1::2].count(0) > 0.4 * len(sample) / 2:
            encoding = "utf-16-le"
        elif len(sample) % 2 == 0 and sample[0::2].count(0) > 0.4 * len(sample) / 2:
            encoding = "utf-16-be"
        elif data.count(0) <= 0.001 * len(data):
            # A few stray NULs (a bad export or a copy-paste) in an otherwise text file: drop them.
            encoding = ""
        else:
            raise junk
        try:
            text = data.decode(encoding) if encoding else _decode_8bit(data.replace(b"\x00", b""))
        except UnicodeDecodeError:
            raise junk from None
    else:
        text = _decode_8bit(data)
    if _looks_binary(text):
        raise junk
    return text


def _cp1252_bytes(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    # cp1252 leaves five bytes undefined; latin-1 maps every byte.
    return "".join(bytes([b]).decode("cp1252", "ignore") or chr(b) for b in bad), error.end


codecs.register_error("segmentation.cp1252", _cp1252_bytes)


def _decode_8bit(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    loose = data.decode("utf-8-sig", "replace")
    n_bad = loose.count("\ufffd")
    n_multibyte = sum(1 for ch in loose if ord(ch) > 127) - n_bad
    if n_multibyte > 2 * n_bad:
        # Mostly UTF-8 with a few stray single-byte characters (files pasted together from two exports):
        # read those few bytes as Windows-1252 instead of misreading every UTF-8 character.
        return data.decode("utf-8-sig", "segmentation.cp1252")
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = ""
    if text and _plausibly_chinese(text):
        return text
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _plausibly_chinese(text: str) -> bool:
    sample = text[:20000]
    non_ascii = [ch for ch in sample if ord(ch) > 127]
    cjk = sum(1 for ch in non_ascii if _CJK.match(ch))
    other = sum(1 for ch in non_ascii if not _CJK.match(ch) and not _PUNCT.match(ch))
    # Latin-1 accents read as GB18030 pair up with the next ASCII letter into a CJK character that sits
    # inside a Latin word ("Crème" → "Cr鑝e"); real Chinese comes in runs of CJK characters.
    inside_words = len(_CJK_NEXT_TO_LETTER.findall(sample))
    # Common Chinese characters (GB2312) have two high bytes; an accent read with the ASCII byte after it
    # lands on a rare GBK character whose second byte is ASCII ("°C" → "癈").
    ascii_trail = sum(1 for ch in non_ascii if _CJK.match(ch) and len(b := ch.encode("gb18030")) == 2 and b[1] < 0x80)
    return cjk > 0 and other <= 0.05 * cjk and inside_words <= 0.5 * cjk and ascii_trail <= 0.5 * cjk


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    controls = len(_CONTROL.findall(sample)) + sample.count("\ufffd")
    return controls > 0.02 * len(sample)


def _first_line(text: str) -> str:
    for line in text[:65536].splitlines():
        if line.strip():
            return line
    return ""


def _is_table_header(line: str) -> bool:
    delimiter = _delimiter(line, "")
    count = _count_outside_quotes(line, delimiter)
    if not count:
        return False
    names = next(csv.reader([line], delimiter=delimiter), [])
    return _detect([n.strip() for n in names], {})["text"] is not None and len(names) == count + 1


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == delimiter and not quoted:
            count += 1
    return count


def _delimiter(text: str, suffix: str) -> str:
    """Pick the delimiter from the header line: the candidate it holds most often."""
    first = _first_line(text)
    preferred = "\t" if suffix in (".tsv", ".tab") else ","
    counts = {d: _count_outside_quotes(first, d) for d in _DELIMITERS}
    best = max(counts.values())
    if best == 0 or counts[preferred] == best:
        return preferred
    return max(_DELIMITERS, key=lambda d: counts[d])


def _read_csv(text: str, name: str, suffix: str) -> pd.DataFrame:
    delimiter = _delimiter(text, suffix)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=True,
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{name} is empty; it needs a header row and at least one comment") from None
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        raise DataError(f"{name}: {_parser_message(str(exc))}") from None
    return frame.fillna("")


def _parser_message(message: str) -> str:
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if fields:
        expected, line, saw = fields.groups()
        return (
            f"row {line} has {saw} fields but the header has {expected}; quote texts that contain the "
            "delimiter, or check the delimiter"
        )
    quote = re.search(r"EOF inside string starting at row (\d+)", message)
    if quote:
        return f"a quote opened on row {int(quote.group(1)) + 1} is never closed; fix the quoting"
    return f"cannot parse the table ({message.splitlines()[0][:200]})"


def _read_lines(text: str) -> pd.DataFrame:
    lines = re.split(r"\r\n|\r|\n", text)
    if lines and lines[-1] == "":
        lines.pop()
    frame = pd.DataFrame({"text": pd.Series(lines, dtype="str")})
    frame.attrs["first_row"] = 1
    return frame


def _json_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def _json_series(values: list[Any]) -> pd.Series:
    return pd.Series([_json_cell(v) for v in values], dtype="str")


def _records_frame(records: list[Any], name: str, what: str) -> pd.DataFrame:
    if not records:
        raise DataError(f"{name} holds no records; it needs one object per comment, with a text field")
    columns: dict[str, list[str]] = {}
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise DataError(f"{name}: {what} {i + 1} is not an object with named fields (one per comment)")
        for key in record:
            columns.setdefault(str(key), [""] * i)
        for key, values in columns.items():
            values.append(_json_cell(record.get(key)))
    return pd.DataFrame({k: pd.Series(v, dtype="str") for k, v in columns.items()})


def _read_json(text: str, name: str, *, lines: bool) -> pd.DataFrame:
    # Numbers stay as written ("007", "4.50"): ids and ratings are converted later, column by column.
    loads = {"parse_int": str, "parse_float": str, "parse_constant": str}
    if not lines:
        try:
            data = json.loads(text, **loads)
        except json.JSONDecodeError as exc:
            if exc.msg != "Extra data":
                raise DataError(
                    f"{name}: not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})"
                ) from None
        else:
            frame = _json_document_frame(data, name)
            frame.attrs["first_row"] = 1
            return frame
    records = []
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line, **loads))
        except json.JSONDecodeError as exc:
            raise DataError(f"{name}: line {number} is not valid JSON ({exc.msg})") from None
    frame = _records_frame(records, name, "line")
    frame.attrs["first_row"] = 1
    return frame


def _json_document_frame(data: object, name: str) -> pd.DataFrame:
    if isinstance(data, list):
        return _records_frame(data, name, "element")
    if isinstance(data, dict):
        values = list(data.values())
        tables = [v for v in values if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)]
        if len(tables) == 1:
            return _records_frame(tables[0], name, "element")
        if values and all(isinstance(v, list) for v in values) and len({len(v) for v in values}) == 1:
            return pd.DataFrame({str(k): _json_series(v) for k, v in data.items()})
        if values and all(isinstance(v, dict) for v in values):
            index = list(dict.fromkeys(k for v in values for k in v))
            return pd.DataFrame({str(k): _json_series([v.get(i) for i in index]) for k, v in data.items()})
    raise DataError(f"{name}: JSON must be a list of objects (one per comment) or JSON lines")


def _cell(value: object) -> str:
    """Render a typed cell (Parquet, Excel) as the string a person would have typed."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return ""
        if float(value).is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(float(value))
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _typed_to_strings(frame: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for column in frame.columns:
        values = frame[column].astype(object)
        out[str(column)] = pd.Series([_cell(v) for v in values.tolist()], dtype="str")
    return pd.DataFrame(out)


def _read_parquet(data: bytes, name: str, max_bytes: int | None) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_metadata(io.BytesIO(data))
        unpacked = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
        _check_size(unpacked, max_bytes, name, " once decompressed")
        # Converting to strings is inside: a damaged page can hold bytes that are not UTF-8.
        return _typed_to_strings(pq.read_table(io.BytesIO(data)).to_pandas())
    except DataError:
        raise
    except Exception as exc:  # pyarrow raises many types (ArrowInvalid, OSError, ...) for a bad file
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise DataError(f"{name} is not a readable Parquet file ({reason}); export it again") from None


def _read_xlsx(data: bytes, name: str, max_bytes: int | None) -> pd.DataFrame:
    """Read the sheet a user means: the first one with a comment column, else the first non-empty one."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        _check_size(sum(i.file_size for i in archive.infolist()), max_bytes, name, " once unzipped")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles it does not know
            sheets = pd.read_excel(
                io.BytesIO(data), sheet_name=None, dtype=object, engine="openpyxl", keep_default_na=False, na_values=[]
            )
    except Exception as exc:  # openpyxl/zipfile raise many types for a damaged workbook
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise DataError(f"{name} is not a readable .xlsx workbook ({reason}); save it again") from None
    filled = {str(title): frame for title, frame in sheets.items() if not frame.columns.empty}
    if not filled:
        raise DataError(f"{name}: every sheet is empty; put a header row and the comments in the first sheet")
    with_text = [t for t, f in filled.items() if _detect([str(c) for c in f.columns], {})["text"]]
    title = with_text[0] if with_text else next(iter(filled))
    frame = _typed_to_strings(filled[title])
    if len(sheets) > 1:
        why = "the first with a comment column" if with_text else "the first that is not empty"
        others = [str(t) for t in sheets if str(t) != title]
        frame.attrs["notes"] = [
            f"{name} has {len(sheets)} sheets: read {title!r} ({why}); ignored {_list(others)}"
        ]
    return frame


# -- converting ----------------------------------------------------------------------------------------


def _list(columns: Sequence[str]) -> str:
    shown = ", ".join(repr(c) for c in columns[:30])
    return shown + (f" and {len(columns) - 30} more" if len(columns) > 30 else "")


def _first(mask: pd.Series) -> int:
    return int(np.flatnonzero(mask.to_numpy())[0])


def _strings(values: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
        objects = values.astype(object).tolist()
        strings = [v if isinstance(v, str) else _cell(v) for v in objects]
    else:
        strings = [_cell(v) for v in values.astype(object).tolist()]
    return pd.Series(strings, dtype="str")


def _example(raw: pd.Series, bad: pd.Series, first_row: int) -> str:
    i = _first(bad)
    value = str(raw.iloc[i])
    value = value if len(value) <= _MAX_EXAMPLE else value[:_MAX_EXAMPLE] + "…"
    return f"row {i + first_row}: {value!r}"


def _example_or_empty(raw: pd.Series, bad: pd.Series, first_row: int) -> str:
    return _example(raw, bad, first_row) if bad.any() else "every value is empty"


def _present(raw: pd.Series) -> pd.Series:
    # Exporters write a missing number as "NaN", "NA", "null" ...: missing, not a value that failed to parse.
    return (raw != "") & ~raw.str.lower().isin(_MISSING)


def _ratings(
    values: pd.Series, column: str, where: str, first_row: int, notes: list[str], chosen: bool
) -> pd.Series | None:
    raw = _strings(values).str.strip()
    numbers = pd.to_numeric(raw.str.replace(",", ".", regex=False), errors="coerce").astype("float64")
    numbers[~np.isfinite(numbers)] = np.nan
    present = _present(raw)
    bad = present & numbers.isna()
    if not numbers.notna().any():
        if chosen:
            raise DataError(
                f"{where}: column {column!r} has no numbers ({_example_or_empty(raw, bad, first_row)}); "
                "it cannot be the rating"
            )
        notes.append(f"column {column!r} holds no numbers, so it is not used as the rating")
        return None
    if bad.any():
        notes.append(
            f"{int(bad.sum()):,} values in {column!r} are not numbers ({_example(raw, bad, first_row)}); "
            "they count as missing ratings"
        )
    return numbers.reset_index(drop=True)


def _times(
    values: pd.Series, column: str, where: str, first_row: int, notes: list[str], chosen: bool
) -> pd.Series | None:
    raw = _strings(values).str.strip()
    present = _present(raw)
    numbers = pd.to_numeric(raw.where(present, None), errors="coerce")
    numeric = numbers.notna()
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    if numeric.any():
        out[numeric] = _from_numbers(numbers[numeric], raw[numeric])
    rest = present & ~numeric
    if rest.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(raw[rest], utc=True, errors="coerce")
            retry = parsed.isna()
            if retry.any():
                parsed[retry] = pd.to_datetime(raw[rest][retry], utc=True, errors="coerce", format="mixed")
        inside = parsed.notna() & (parsed >= _NS_BOUNDS[0]) & (parsed <= _NS_BOUNDS[1])
        out[rest & inside.reindex(raw.index, fill_value=False)] = parsed[inside].astype("datetime64[ns, UTC]")
    bad = present & out.isna()
    if not out.notna().any():
        if chosen:
            raise DataError(
                f"{where}: column {column!r} holds no dates ({_example_or_empty(raw, bad, first_row)}); "
                "it cannot be the time"
            )
        notes.append(f"column {column!r} holds no dates or unix times, so it is not used as the time")
        return None
    if bad.any():
        notes.append(
            f"{int(bad.sum()):,} values in {column!r} are not dates ({_example(raw, bad, first_row)}); "
            "they count as missing times"
        )
    return out.reset_index(drop=True)


def _from_numbers(numbers: pd.Series, raw: pd.Series) -> pd.Series:
    """Unix seconds, milliseconds, micro- or nanoseconds by magnitude; 8-digit YYYYMMDD as dates."""
    if raw.str.fullmatch(r"(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])").all():
        return pd.to_datetime(raw, format="%Y%m%d", utc=True, errors="coerce").astype("datetime64[ns, UTC]")
    magnitude = float(numbers.abs().median())
    scale = 1 if magnitude < 1e11 else 10**3 if magnitude < 1e14 else 10**6 if magnitude < 1e17 else 10**9
    numbers = numbers.astype("float64")
    inside = (numbers / scale).between(-9.2e9, 9.2e9)
    safe = numbers.where(inside, 0.0)
    factor = 10**9 // scale
    # Integers stay exact: float seconds * 1e9 would round to ~256 ns.
    exact = (safe % 1 == 0).all()
    nanos = safe.astype("int64") * factor if exact else (safe * factor).round().astype("int64")
    out = pd.Series(pd.to_datetime(nanos.to_numpy(), unit="ns", utc=True), index=numbers.index)
    return out.where(inside, pd.NaT).astype("datetime64[ns, UTC]")
