"""The JSON reader: JSON lines, a list of records, or an object holding one table; records are parsed one at
a time, so that the row limit applies before the whole document is parsed. Numbers stay as written."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

import pandas as pd

from segmentation.core.errors import DataError
from segmentation.ingest.limits import MAX_COLUMNS, _check_rows, _check_shape


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


def _records_frame(records: Iterable[Any], name: str, what: str, max_rows: int | None) -> pd.DataFrame:
    """Columns from records as they come (a stream, so that rows past ``max_rows`` are never parsed)."""
    columns: dict[str, list[str]] = {}
    n = 0
    for record in records:
        if not isinstance(record, dict):
            raise DataError(f"{name}: {what} {n + 1} is not an object with named fields (one per comment)")
        _check_rows(n + 1, max_rows, name, at_least=True)
        for key in record:
            key = str(key)
            if key not in columns:  # only a new key pays for the padding of the rows before it
                columns[key] = [""] * n
        if len(columns) > MAX_COLUMNS:
            _check_shape(len(columns), 1, name)
        for key, values in columns.items():
            values.append(_json_cell(record.get(key)))
        n += 1
    if not n:
        raise DataError(f"{name} holds no records; it needs one object per comment, with a text field")
    return pd.DataFrame({k: pd.Series(v, dtype="str") for k, v in columns.items()})


class _TrailingText(Exception):
    """Text follows the first JSON value: JSON lines under a .json name."""


_DECODER = json.JSONDecoder(parse_int=str, parse_float=str, parse_constant=str)
_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _skip_space(text: str, at: int) -> int:
    return _JSON_SPACE.match(text, at).end()


def _array_items(text: str, at: int, end: list[int]) -> Iterator[Any]:
    """Yield the elements of the JSON array whose ``[`` is at ``text[at]``, parsing one at a time.

    A caller that stops early never pays for the rest: this is how the row limit applies before the whole
    document is parsed. ``end`` receives the index just past the closing ``]``.
    """
    at = _skip_space(text, at + 1)
    if text.startswith("]", at):
        end.append(at + 1)
        return
    while True:
        value, at = _DECODER.raw_decode(text, at)
        yield value
        at = _skip_space(text, at)
        if text.startswith("]", at):
            end.append(at + 1)
            return
        if not text.startswith(",", at):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, at)
        at = _skip_space(text, at + 1)


def _object_members(text: str, at: int, max_rows: int | None, name: str) -> tuple[dict[str, Any], int]:
    """Parse the JSON object whose ``{`` is at ``text[at]``; a list member longer than ``max_rows`` is
    refused as it is read (every shape of a table in an object has one row per list element)."""
    members: dict[str, Any] = {}
    at = _skip_space(text, at + 1)
    if text.startswith("}", at):
        return members, at + 1
    while True:
        if not text.startswith('"', at):
            raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, at)
        key, at = _DECODER.raw_decode(text, at)
        at = _skip_space(text, at)
        if not text.startswith(":", at):
            raise json.JSONDecodeError("Expecting ':' delimiter", text, at)
        at = _skip_space(text, at + 1)
        if text.startswith("[", at):
            end: list[int] = []
            items = []
            for item in _array_items(text, at, end):
                items.append(item)
                _check_rows(len(items), max_rows, name, at_least=True)
            members[key], at = items, end[0]
        else:
            members[key], at = _DECODER.raw_decode(text, at)
        at = _skip_space(text, at)
        if text.startswith("}", at):
            return members, at + 1
        if not text.startswith(",", at):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, at)
        at = _skip_space(text, at + 1)


def _read_json(text: str, name: str, *, lines: bool, max_rows: int | None) -> pd.DataFrame:
    # Numbers stay as written ("007", "4.50"): ids and ratings are converted later, column by column.
    if not lines:
        try:
            frame = _json_document(text, name, max_rows)
        except json.JSONDecodeError as exc:
            raise DataError(f"{name}: not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})") from None
        except _TrailingText:
            pass
        else:
            frame.attrs["first_row"] = 1
            return frame
    rows = re.split(r"\r\n|\r|\n", text)
    if max_rows is not None and len(rows) > max_rows:
        # Counted before any line is parsed; blank lines are no rows.
        _check_rows(sum(1 for line in rows if line.strip()), max_rows, name)
    records = (_json_line(number, line, name) for number, line in enumerate(rows, start=1) if line.strip())
    frame = _records_frame(records, name, "line", max_rows)
    frame.attrs["first_row"] = 1
    return frame


def _json_line(number: int, line: str, name: str) -> Any:
    try:
        return _DECODER.decode(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{name}: line {number} is not valid JSON ({exc.msg})") from None


def _json_document(text: str, name: str, max_rows: int | None) -> pd.DataFrame:
    """One JSON document as a table; :class:`_TrailingText` when more text follows it (JSON lines)."""
    start = _skip_space(text, 0)
    if text.startswith("[", start):
        end: list[int] = []
        frame = _records_frame(_array_items(text, start, end), name, "element", max_rows)
        _trailing(text, end[0])
        return frame
    if not text.startswith("{", start):
        _, at = _DECODER.raw_decode(text, start)  # a lone string or number: no table
        _trailing(text, at)
        raise DataError(f"{name}: JSON must be a list of objects (one per comment) or JSON lines")
    data, at = _object_members(text, start, max_rows, name)
    _trailing(text, at)
    return _json_object_frame(data, name, max_rows)


def _trailing(text: str, at: int) -> None:
    if _skip_space(text, at) < len(text):
        raise _TrailingText


def _json_object_frame(data: dict[str, Any], name: str, max_rows: int | None) -> pd.DataFrame:
    values = list(data.values())
    tables = [v for v in values if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)]
    if len(tables) == 1:
        return _records_frame(tables[0], name, "element", max_rows)
    if values and all(isinstance(v, list) for v in values) and len({len(v) for v in values}) == 1:
        return pd.DataFrame({str(k): _json_series(v) for k, v in data.items()})
    if values and all(isinstance(v, dict) for v in values):
        index = list(dict.fromkeys(k for v in values for k in v))
        _check_rows(len(index), max_rows, name)
        return pd.DataFrame({str(k): _json_series([v.get(i) for i in index]) for k, v in data.items()})
    raise DataError(f"{name}: JSON must be a list of objects (one per comment) or JSON lines")
