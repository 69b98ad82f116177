"""Read a comment file (or uploaded bytes), find its columns, clean its text → :class:`Comments`.

This is the library's boundary: every problem with the input becomes one :class:`DataError` that names
the file, the column or the row and says what to do. Past this module the data is trusted.
:mod:`segmentation.ingest.formats` turns bytes into a table, :mod:`segmentation.ingest.columns` finds the roles, and
this module converts, cleans and de-duplicates the values.
"""

from __future__ import annotations

import html
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from segmentation.core.constraints import InstanceOf, Interval, Text, validate
from segmentation.core.errors import DataError
from segmentation.ingest.columns import COLUMN, ROLES, detect_fixed, detect_roles
from segmentation.ingest.comments import Comments
from segmentation.ingest.formats import FORMATS, _display_name, read_table
from segmentation.ingest.limits import MAX_BYTES, MAX_COLUMNS, MAX_ROWS, _list
from segmentation.ingest.typed_readers import _cell

_BLOCK_TAGS = "p|br|div|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|hr|pre|section|article"
_BLOCK_TAG = re.compile(rf"</?(?:{_BLOCK_TAGS})\b[^<>]*>", re.IGNORECASE)
# Inline tags vanish without a space ("<b>very</b>good" was written as one word); "<3" or "a < b" are text.
_INLINE_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>|<!--.*?-->", re.DOTALL)
# Control characters become spaces; zero-width spaces, soft hyphens and bidirectional overrides vanish
# (an override can make a comment display as something other than what it says). Zero-width joiners
# stay: emoji sequences such as 🤷‍♀️ and Persian words need them.
_SCRUB = {c: " " for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)]} | {
    c: None for c in [0x200B, 0x2060, 0xFEFF, 0x00AD, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
}
_NS_BOUNDS = (pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC"))
_MAX_EXAMPLE = 40
_MISSING = frozenset({"nan", "na", "n/a", "nat", "null", "none", "-", "--", "?"})

MAX_RATING = 1e6
"""Ratings beyond ±this are missing: no scale goes so far, and 1e308 would overflow float32 downstream."""
MAX_TEXT_CHARS = 10_000

__all__ = [
    "COLUMN", "FORMATS", "MAX_BYTES", "MAX_COLUMNS", "MAX_ROWS", "MAX_TEXT_CHARS", "ROLES", "Comments", "clean_text",
    "detect_roles", "from_frame", "load_comments", "read_table",
]


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


def load_comments(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    user_col: str | None = None,
    text_col: str | None = None,
    item_col: str | None = None,
    rating_col: str | None = None,
    time_col: str | None = None,
    item_name_col: str | None = None,
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
    user_col, text_col, item_col, rating_col, time_col, item_name_col : str, optional
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
    ConfigError
        An argument has the wrong type (e.g. ``source=None``) or a limit is not a positive whole number.
    """
    validate("source", source, [InstanceOf((str, Path, bytes, bytearray, memoryview), "a path or a file's bytes")])
    validate("name", name, [Text(), None])
    validate("max_rows", max_rows, [Interval(int, 1, None), None])
    validate("max_bytes", max_bytes, [Interval(int, 1, None), None])
    frame = read_table(source, name=name, max_bytes=max_bytes, max_rows=max_rows)
    return from_frame(
        frame,
        user_col=user_col,
        text_col=text_col,
        item_col=item_col,
        rating_col=rating_col,
        time_col=time_col,
        item_name_col=item_name_col,
        source=_display_name(source, name),
        max_rows=max_rows,
    )


def from_frame(
    df: pd.DataFrame,
    *,
    user_col: str | None = None,
    text_col: str | None = None,
    item_col: str | None = None,
    rating_col: str | None = None,
    time_col: str | None = None,
    item_name_col: str | None = None,
    source: str = "",
    max_rows: int | None = MAX_ROWS,
) -> Comments:
    """Detect roles, convert, clean and de-duplicate a DataFrame → :class:`Comments`.

    Parameters
    ----------
    df : pandas.DataFrame
        The table as read (any dtypes; :func:`read_table` gives strings).
    user_col, text_col, item_col, rating_col, time_col, item_name_col : str, optional
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
    validate("df", df, [InstanceOf((pd.DataFrame,), "the table to read comments from")])
    overrides = {
        "user": user_col, "text": text_col, "item": item_col, "rating": rating_col, "time": time_col,
        "item_name": item_name_col,
    }
    for role, column in overrides.items():
        validate(f"{role}_col", column, [InstanceOf((str,)), None])
    where = source or "the table"
    try:
        return _from_frame(df, overrides, where=where, source=source, max_rows=max_rows)
    except UnicodeEncodeError:
        # Only a lone surrogate (half of a UTF-16 pair, e.g. from a JSON "\\ud800") cannot be stored.
        raise DataError(
            f"{where} holds a lone surrogate (a half character such as \\ud800), which is not text; "
            "fix or re-export the file"
        ) from None


def _from_frame(
    df: pd.DataFrame, overrides: dict[str, str | None], *, where: str, source: str, max_rows: int | None
) -> Comments:
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
    if len(columns) > MAX_COLUMNS:
        raise DataError(
            f"{where} has {len(columns):,} columns, more than the limit of {MAX_COLUMNS:,}; "
            "keep the columns you need (the text, the user, ...)"
        )
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise DataError(f"{where} has two columns named {_list(repeated)}; rename one of them")
    df = df.copy(deep=False)
    df.columns = columns
    first_row = int(df.attrs.get("first_row", 2))
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
    roles = detect_fixed(columns, fixed)
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
    if roles["item_name"] is not None:
        names = _strings(df[roles["item_name"]]).str.strip()
        frame["item_name"] = names.where(names != "", None)

    role_columns = {c for c in roles.values() if c}
    for column in columns:
        if column in role_columns:
            continue
        # A leftover column with a canonical name would pass for a role the user switched off.
        target = f"{column} (source)" if column in COLUMN.values() else column
        frame[target] = df[column].reset_index(drop=True)
    # One constructor call: adding columns one at a time copies the frame each time (quadratic).
    out = pd.DataFrame(frame)

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


@dataclass(frozen=True)
class _Role:
    """How the messages about a parsed column name its role and its values."""

    role: str  # "rating"
    has_none: str  # "has no numbers": no value of the column parsed
    unused: str  # "holds no numbers": the same, when the column was only detected
    not_values: str  # "are not numbers": some present values did not parse


_RATING = _Role("rating", "has no numbers", "holds no numbers", "are not numbers")
_TIME = _Role("time", "holds no dates", "holds no dates or unix times", "are not dates")


def _usable(
    parsed: pd.Series, raw: pd.Series, present: pd.Series, column: str, where: str, first_row: int,
    notes: list[str], chosen: bool, role: _Role,
) -> pd.Series | None:
    """``parsed`` when some values parsed (a note counts the present ones that did not); None, with a note, for a
    detected column with none; a ``DataError`` for a chosen one."""
    bad = present & parsed.isna()
    if not parsed.notna().any():
        if chosen:
            raise DataError(
                f"{where}: column {column!r} {role.has_none} ({_example_or_empty(raw, bad, first_row)}); "
                f"it cannot be the {role.role}"
            )
        notes.append(f"column {column!r} {role.unused}, so it is not used as the {role.role}")
        return None
    if bad.any():
        notes.append(
            f"{int(bad.sum()):,} values in {column!r} {role.not_values} ({_example(raw, bad, first_row)}); "
            f"they count as missing {role.role}s"
        )
    return parsed.reset_index(drop=True)


def _ratings(
    values: pd.Series, column: str, where: str, first_row: int, notes: list[str], chosen: bool
) -> pd.Series | None:
    raw = _strings(values).str.strip()
    numbers = pd.to_numeric(raw.str.replace(",", ".", regex=False), errors="coerce").astype("float64")
    outside = np.isfinite(numbers) & (numbers.abs() > MAX_RATING)
    numbers[~np.isfinite(numbers) | outside] = np.nan
    if outside.any():
        notes.append(
            f"{int(outside.sum()):,} values in {column!r} lie outside ±{MAX_RATING:,.0f} "
            f"({_example(raw, outside, first_row)}); they count as missing ratings"
        )
    return _usable(numbers, raw, _present(raw) & ~outside, column, where, first_row, notes, chosen, _RATING)


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
    return _usable(out, raw, present, column, where, first_row, notes, chosen, _TIME)


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
