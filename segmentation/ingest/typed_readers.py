"""The readers of typed formats, Parquet (pyarrow) and XLSX (openpyxl, streamed), with each cell rendered as
the string a person would have typed (:func:`_cell`). Both libraries load only when such a file comes."""

from __future__ import annotations

import io
import math
import warnings
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from segmentation.core.errors import DataError
from segmentation.ingest.columns import detect_fixed
from segmentation.ingest.limits import MAX_CELLS, MAX_COLUMNS, _check_shape, _check_size, _list


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
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_metadata(io.BytesIO(data))
        _check_shape(metadata.num_columns, metadata.num_rows, name)
        unpacked = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
        _check_size(unpacked, max_bytes, name, " once decompressed")
        schema = metadata.schema.to_arrow_schema()
        texts = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
                 or pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]
        # Text columns stay dictionary-encoded until their expanded size is known: a few KB of
        # dictionary can repeat one long value into gigabytes.
        table = pq.read_table(io.BytesIO(data), read_dictionary=texts)
        expanded = 0
        for column in table.columns:
            for chunk in column.chunks:
                if pa.types.is_dictionary(chunk.type):
                    lengths = pc.binary_length(chunk.dictionary).fill_null(0).to_numpy(zero_copy_only=False)
                    indices = chunk.indices.fill_null(0).to_numpy(zero_copy_only=False)
                    expanded += int(lengths[indices].sum()) if len(lengths) else 0
                else:
                    expanded += chunk.nbytes
        _check_size(expanded, max_bytes, name, " once its values are expanded")
        # Converting to strings is inside: a damaged page can hold bytes that are not UTF-8.
        return _typed_to_strings(table.to_pandas())
    except DataError:
        raise
    except Exception as exc:  # pyarrow raises many types (ArrowInvalid, OSError, ...) for a bad file
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise DataError(f"{name} is not a readable Parquet file ({reason}); export it again") from None


def _read_xlsx(data: bytes, name: str, max_bytes: int | None) -> pd.DataFrame:
    """Read the sheet a user means: the first one with a comment column, else the first non-empty one.

    Rows are streamed (openpyxl's read-only mode) and counted against :data:`MAX_COLUMNS` and
    :data:`MAX_CELLS` as they come, after the sheet's declared dimensions are checked, so that one cell
    at XFD1048576 is refused instead of materialising seventeen billion empty ones.
    """
    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_size(sum(i.file_size for i in archive.infolist()), max_bytes, name, " once unzipped")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles it does not know
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                titles = [str(t) for t in book.sheetnames]
                headers = {title: _xlsx_header(book[title], name) for title in titles}
                filled = [t for t in titles if headers[t] is not None]
                if not filled:
                    raise DataError(
                        f"{name}: every sheet is empty; put a header row and the comments in the first sheet"
                    )
                with_text = [t for t in filled if detect_fixed([_cell(c).strip() for c in headers[t]], {})["text"]]
                title = with_text[0] if with_text else filled[0]
                frame = _xlsx_frame(book[title], name)
            finally:
                book.close()
    except DataError:
        raise
    except Exception as exc:  # openpyxl/zipfile raise many types for a damaged workbook
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise DataError(f"{name} is not a readable .xlsx workbook ({reason}); save it again") from None
    if len(titles) > 1:
        why = "the first with a comment column" if with_text else "the first that is not empty"
        others = [t for t in titles if t != title]
        frame.attrs["notes"] = [
            f"{name} has {len(titles)} sheets: read {title!r} ({why}); ignored {_list(others)}"
        ]
    return frame


def _xlsx_rows(sheet: Any, name: str) -> Iterator[tuple]:
    """A sheet's rows with trailing empty cells removed, refused past the column and cell caps."""
    declared_rows, declared_columns = sheet.max_row or 0, sheet.max_column or 0
    if declared_columns > MAX_COLUMNS or declared_rows * declared_columns > MAX_CELLS:
        _check_shape(declared_columns, declared_rows, f"{name} (sheet {sheet.title!r})")
    cells = 0
    for row in sheet.iter_rows(values_only=True):
        end = len(row)
        while end and (row[end - 1] is None or row[end - 1] == ""):
            end -= 1
        cells += max(end, 1)
        if end > MAX_COLUMNS:
            _check_shape(end, 1, f"{name} (sheet {sheet.title!r})")
        if cells > MAX_CELLS:
            raise DataError(
                f"{name} (sheet {sheet.title!r}) has more than {MAX_CELLS:,} cells; keep the columns you need "
                "or load a sample"
            )
        yield row[:end]


def _xlsx_header(sheet: Any, name: str) -> tuple | None:
    for row in _xlsx_rows(sheet, name):
        if row:
            return row
    return None


def _xlsx_frame(sheet: Any, name: str) -> pd.DataFrame:
    rows = _xlsx_rows(sheet, name)
    header: tuple = ()
    for row in rows:
        if row:
            header = row
            break
    body = [row for row in rows]
    while body and not body[-1]:
        body.pop()
    width = max([len(header), *(len(r) for r in body)])
    names = [_cell(c) if c is not None and _cell(c) != "" else f"Unnamed: {i}" for i, c in enumerate(header)]
    names += [f"Unnamed: {i}" for i in range(len(names), width)]
    # Column by column in one step; repeated header names get pandas' ".1" suffixes.
    columns = {}
    for i, column in enumerate(_unique(names)):
        columns[column] = pd.Series([_cell(r[i]) if i < len(r) else "" for r in body], dtype="str")
    return pd.DataFrame(columns)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            out.append(f"{name}.{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out
