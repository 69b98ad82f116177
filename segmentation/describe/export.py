"""Downloads: user → segment assignments and segment descriptions, with the saved names applied.

Spreadsheet formats (CSV, XLSX) are opened in Excel or LibreOffice, which run a cell that starts with
``=``, ``+``, ``-`` or ``@`` as a formula. Comments and names come from users, so every such text cell is
neutralised as OWASP recommends (a leading single quote); numbers stay numbers.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from segmentation.describe.segments import SegmentDescription

if TYPE_CHECKING:
    from segmentation.describe.behaviour import BehaviourProfile

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# A plain number ("-1", "+3.5", "-2e5") is read as that number, never as a formula: it stays as written,
# so that an id exported from the source matches the source.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
SEGMENT_COLUMN = "segment"
NAME_COLUMN = "segment_name"
DESCRIPTION_COLUMN = "segment_description"


def safe_cell(value: Any) -> Any:
    """Neutralise one spreadsheet cell against formula injection.

    Parameters
    ----------
    value : Any
        A cell value.

    Returns
    -------
    Any
        A string starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return, prefixed with a
        single quote, unless it is a plain number such as ``"-1"``; anything else (numbers included,
        negative ones too) unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _name_of(value: Any) -> str:
    return value if isinstance(value, str) else value.name


def apply_names(df: pd.DataFrame, names: Mapping[int, Any] | None = None) -> pd.DataFrame:
    """Return a copy of an assignments table whose ``segment_name`` column shows the saved names.

    Parameters
    ----------
    df : DataFrame
        Assignments with a ``segment`` column (``SegmentResult.assignments``).
    names : mapping of segment id to str or SegmentName, optional
        Saved names (``Workspace.names(run_key)``); segments without one keep their current name. Where
        a saved name has a description, a ``segment_description`` column carries it.

    Returns
    -------
    DataFrame
        The copy.
    """
    out = df.copy()
    if not names:
        return out
    chosen = {int(segment): _name_of(value) for segment, value in names.items()}
    current = out[NAME_COLUMN] if NAME_COLUMN in out.columns else pd.Series("", index=out.index, dtype=object)
    renamed = out[SEGMENT_COLUMN].map(chosen)
    out[NAME_COLUMN] = renamed.where(renamed.notna(), current).astype(object)
    described = {int(segment): value.description for segment, value in names.items()
                 if getattr(value, "description", "")}
    if described:  # the one line written for the marketing team travels with each user
        out[DESCRIPTION_COLUMN] = out[SEGMENT_COLUMN].map(described).fillna("").astype(object)
    return out


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of a table ready for any CSV or spreadsheet the product writes, stdout included.

    Parameters
    ----------
    df : DataFrame

    Returns
    -------
    DataFrame
        Text cells and column names passed through :func:`safe_cell`; numeric and time columns unchanged.
    """
    out = df.copy()
    for column in out.columns:
        if not (
            pd.api.types.is_numeric_dtype(out[column]) or pd.api.types.is_datetime64_any_dtype(out[column])
        ):
            out[column] = out[column].map(safe_cell).astype(object)
    out.columns = [safe_cell(str(column)) for column in out.columns]
    return out


def assignments_csv(df: pd.DataFrame, names: Mapping[int, Any] | None = None) -> bytes:
    """Return the assignments as CSV bytes (UTF-8 with a BOM so that Excel reads non-ASCII text).

    Parameters
    ----------
    df : DataFrame
        Assignments (``SegmentResult.assignments``).
    names : mapping of segment id to str or SegmentName, optional
        Saved names to apply to ``segment_name``.

    Returns
    -------
    bytes
        CSV with formula-like text cells neutralised by ``safe_cell``.
    """
    return neutralise(apply_names(df, names)).to_csv(index=False).encode("utf-8-sig")


def assignments_xlsx(df: pd.DataFrame, names: Mapping[int, Any] | None = None) -> bytes:
    """Return the assignments as an Excel workbook, text cells neutralised like the CSV."""
    buffer = io.BytesIO()
    out = neutralise(apply_names(df, names))
    for column in out.columns:
        # Excel cannot store time zones; the instant is kept, shown in UTC.
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.tz_convert("UTC").dt.tz_localize(None)
    out.to_excel(buffer, index=False, engine="openpyxl")
    return buffer.getvalue()


def assignments_parquet(df: pd.DataFrame, names: Mapping[int, Any] | None = None) -> bytes:
    """Return the assignments as Parquet bytes (typed columns, text unchanged)."""
    buffer = io.BytesIO()
    apply_names(df, names).to_parquet(buffer, index=False, engine="pyarrow")
    return buffer.getvalue()


def assignments_json(df: pd.DataFrame, names: Mapping[int, Any] | None = None) -> bytes:
    """Return the assignments as a UTF-8 JSON array of records (NaN as null)."""
    out = apply_names(df, names)
    return out.to_json(orient="records", force_ascii=False, date_format="iso").encode("utf-8")


def segments_json(
    descriptions: Iterable[SegmentDescription], names: Mapping[int, Any] | None = None,
    behaviour: BehaviourProfile | None = None, parents: Mapping[int, int] | None = None,
) -> bytes:
    """Return the segment descriptions as a UTF-8 JSON array, saved names applied.

    Parameters
    ----------
    descriptions : iterable of SegmentDescription
        The segments (``SegmentResult.segments``).
    names : mapping of segment id to str or SegmentName, optional
        Saved names; a ``SegmentName`` also gives the ``description``. ``suggested_name`` keeps the
        generated name either way.
    behaviour : BehaviourProfile, optional
        The run's behaviour profile (:func:`segmentation.describe.behaviour.behaviour_profile`); each record
        then carries its segment's ``behaviour``.
    parents : mapping of segment id to int, optional
        Where a hierarchy was built (``Hierarchy.parent``): each record then carries ``parent``, its broad group
        in the coarse layer (null for noise).

    Returns
    -------
    bytes
        Indented JSON; every record has ``name``, ``suggested_name`` and ``description``, ``behaviour`` where a
        profile is given and ``parent`` where a hierarchy is.
    """
    names = names or {}
    records = []
    for segment in descriptions:
        record = segment.to_dict()
        saved = names.get(segment.id)
        record["suggested_name"] = segment.name
        record["name"] = segment.name if saved is None else _name_of(saved)
        record["description"] = getattr(saved, "description", "")
        if behaviour is not None:
            record["behaviour"] = behaviour.for_json(segment.id)
        if parents is not None:
            record["parent"] = parents.get(segment.id)
        records.append(_plain(record))
    return json.dumps(records, ensure_ascii=False, indent=2, allow_nan=False).encode("utf-8")


def _plain(value: Any) -> Any:
    """Turn NumPy scalars and NaN into what strict JSON accepts."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


__all__ = [
    "apply_names",
    "assignments_csv",
    "assignments_json",
    "assignments_parquet",
    "assignments_xlsx",
    "neutralise",
    "safe_cell",
    "segments_json",
]
