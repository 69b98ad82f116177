"""Bytes → a table of strings: size bounds, decoding, format sniffing, and the CSV/TSV/TXT, JSON,
Parquet and XLSX readers.

Nothing read here is unpickled or evaluated: text is parsed as text, JSON with :mod:`json`, Parquet with
pyarrow, XLSX with openpyxl; uploads stay in memory. Every problem becomes one :class:`DataError`.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import math
import re
import stat
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from segmentation.core.errors import DataError
from segmentation.core.text import CJK_PUNCTUATION, HAN
from segmentation.ingest.columns import detect_fixed

FORMATS = "CSV, TSV, JSONL/JSON, Parquet, XLSX or TXT"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CJK = re.compile(f"[{CJK_PUNCTUATION}{HAN}]")
_CJK_NEXT_TO_LETTER = re.compile(
    "(?<=[A-Za-z])[\u3400-\u4dbf\u4e00-\u9fff]|[\u3400-\u4dbf\u4e00-\u9fff](?=[A-Za-z])"
)
_PUNCT = re.compile("[\u00a0-\u00bf\u00d7\u00f7\u2010-\u206f\u2190-\u22ff\u2460-\u27bf]")
_DELIMITERS = (",", "\t", ";", "|")

MAX_BYTES = 256 * 2**20
"""Default size limit of a file after decompression (the app's upload limit, 200 MB, sits below it)."""
MAX_COLUMNS = 1000
"""Most columns a table may have: a comments file needs a handful, and each column costs a pass."""
_MAX_NUL_SHARE = 0.1
_MAX_NAME = 40
_MIN_CJK_BESIDE_UTF8 = 20
MAX_ROWS = 1_000_000
"""Default row limit: beyond it the profiles, the k-NN graph and the map outgrow a laptop's memory."""
MAX_CELLS = 50_000_000
"""Most cells (rows × columns) a table may have, checked before a reader materialises them."""


def read_table(
    source: str | Path | bytes,
    name: str | None = None,
    *,
    max_bytes: int | None = MAX_BYTES,
    max_rows: int | None = MAX_ROWS,
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
    max_rows : int or None
        Refuse JSON and JSON lines with more records than this (default :data:`MAX_ROWS`), counted before
        the records past the limit are parsed; other formats are counted by :func:`segmentation.ingest.io.from_frame`.

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
        data = _read_file(Path(source), max_bytes)
    try:
        frame, notes = _read_bytes(data, display, max_bytes, max_rows)
    except RecursionError:
        raise DataError(f"{display} is nested too deeply to read; flatten it to one record per comment") from None
    except UnicodeEncodeError:
        # A JSON "\\ud800" escape decodes to half a character, which no string column can hold.
        raise DataError(
            f"{display} holds a lone surrogate (a half character such as \\ud800), which is not text; "
            "fix or re-export the file"
        ) from None
    trimmed = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    clashes = sorted({c for c in trimmed if trimmed.count(c) > 1})
    if clashes:
        raw = [repr(str(c)) for c, t in zip(frame.columns, trimmed, strict=True) if t in clashes]
        raise DataError(
            f"{display}: columns {', '.join(raw[:4])} have the same name once spaces are trimmed; "
            "rename one of them"
        )
    frame.columns = trimmed
    if notes:
        frame.attrs["notes"] = [*frame.attrs.get("notes", ()), *notes]
    frame.attrs.setdefault("first_row", 2)
    return frame


def _read_file(path: Path, max_bytes: int | None) -> bytes:
    """Read a regular file, at most ``max_bytes + 1`` bytes of it (a device or a FIFO would never end)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise DataError(f"{path} does not exist; check the path") from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise DataError(f"{path} is a folder; give the path of a comments file")
    if not stat.S_ISREG(info.st_mode):
        raise DataError(f"{path} is not a regular file (a device, pipe or socket); give the path of a comments file")
    _check_size(info.st_size, max_bytes, str(path.name))
    try:
        with path.open("rb") as handle:
            data = handle.read(-1 if max_bytes is None else max_bytes + 1)
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    _check_size(len(data), max_bytes, str(path.name))  # it grew while we read it
    return data


def _read_bytes(
    data: bytes, display: str, max_bytes: int | None, max_rows: int | None
) -> tuple[pd.DataFrame, list[str]]:
    suffix = Path(display).suffix.lower()
    if suffix == ".gz" or data[:2] == b"\x1f\x8b":
        data = _gunzip(data, display, max_bytes)
        inner = Path(display)
        suffix = Path(inner.stem).suffix.lower() if suffix == ".gz" else suffix
    if not data.strip():
        raise DataError(f"{display} is empty; it needs a header row and at least one comment")
    kind = _sniff_kind(data, suffix, display)
    if kind == "parquet":
        return _read_parquet(data, display, max_bytes), []
    if kind == "xlsx":
        return _read_xlsx(data, display, max_bytes), []
    text, notes = _decode(data, display)
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
        frame = _read_json(text, display, lines=suffix in (".jsonl", ".ndjson"), max_rows=max_rows)
    elif kind == "lines":
        frame = _read_lines(text)
    else:
        frame, csv_notes = _read_csv(text, display, suffix)
        notes += csv_notes
    return frame, notes


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
        if not _is_xlsx(data, name):
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


def _is_xlsx(data: bytes, name: str) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return any(n.startswith("xl/") for n in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    except Exception as exc:  # zipfile raises others for a damaged header (NotImplementedError: "version 11.5")
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise DataError(f"{name} is a damaged zip archive ({reason}); save or export it again") from None


def _sniff_text_kind(text: str, suffix: str) -> str:
    head = text.lstrip()[:1]
    if head in ("{", "["):
        return "json"
    first = _first_line(text)
    if any(_count_outside_quotes(first, d) for d in _DELIMITERS):
        return "csv"
    return "lines"


def _decode(data: bytes, name: str) -> tuple[str, list[str]]:
    """Decode text: UTF-8 (BOM or not), UTF-16/32, else row by row (see :func:`_decode_8bit`).

    Returns the text and notes on what was repaired (NUL bytes removed, rows not in UTF-8).
    """
    junk = DataError(f"{name} is not a text table (it looks like binary data); upload a {FORMATS} file")
    if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        try:
            return data.decode("utf-32"), []
        except UnicodeDecodeError:
            raise junk from None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError:
            raise junk from None
    notes: list[str] = []
    if b"\x00" in data:
        # UTF-16 without a BOM shows a NUL in every other byte for ASCII-heavy text.
        sample = data[:4096]
        encoding = ""
        if len(sample) % 2 == 0 and sample[1::2].count(0) > 0.4 * len(sample) / 2:
            encoding = "utf-16-le"
        elif len(sample) % 2 == 0 and sample[0::2].count(0) > 0.4 * len(sample) / 2:
            encoding = "utf-16-be"
        if encoding:
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                raise junk from None
            if _looks_binary(text):
                raise junk
            return text, []
        n_nul = data.count(0)
        if n_nul > _MAX_NUL_SHARE * len(data):
            raise junk
        # NULs inside an otherwise text file (a bad export, a copy-paste): no text holds them.
        data = data.replace(b"\x00", b"")
        notes.append(f"removed {n_nul:,} NUL bytes, which are not text")
    text, repaired = _decode_8bit(data)
    if _looks_binary(text):
        raise junk
    return text, notes + repaired


def _cp1252_bytes(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    # cp1252 leaves five bytes undefined; latin-1 maps every byte.
    return "".join(bytes([b]).decode("cp1252", "ignore") or chr(b) for b in bad), error.end


codecs.register_error("segmentation.cp1252", _cp1252_bytes)


def _decode_8bit(data: bytes) -> tuple[str, list[str]]:
    """UTF-8 where it is valid, row by row; the other rows as GB18030 when they read as Chinese, else
    Windows-1252. A file pasted together from two exports keeps every UTF-8 row intact."""
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    rows = data.split(b"\n")
    utf8_rows: dict[int, str] = {}
    for i, row in enumerate(rows):
        try:
            utf8_rows[i] = row.decode("utf-8-sig" if i == 0 else "utf-8")
        except UnicodeDecodeError:
            continue
    legacy = [i for i in range(len(rows)) if i not in utf8_rows]
    has_utf8 = any(not rows[i].isascii() for i in utf8_rows)
    legacy_bytes = b"\n".join(rows[i] for i in legacy)
    try:
        chinese = legacy_bytes.decode("gb18030")
    except UnicodeDecodeError:
        chinese = ""
    # Beside UTF-8 rows without any Chinese, a row or two of accented bytes can pass for a few Chinese
    # characters ("ÀÀ" → "览"): there, GB18030 needs more evidence than a handful of characters.
    utf8_cjk = any(_CJK.search(utf8_rows[i]) for i in utf8_rows if not rows[i].isascii())
    enough = not has_utf8 or utf8_cjk or len(_CJK.findall(chinese)) >= _MIN_CJK_BESIDE_UTF8
    if chinese and enough and _plausibly_chinese(chinese):
        decode, label = (lambda row: row.decode("gb18030")), "GB18030"
    elif has_utf8:
        # Valid UTF-8 inside a row stays; only the bytes that are not UTF-8 read as Windows-1252.
        decode, label = (lambda row: row.decode("utf-8", "segmentation.cp1252")), "Windows-1252"
    else:
        decode, label = (lambda row: row.decode("cp1252", "segmentation.cp1252")), "Windows-1252"
    if not has_utf8:
        return decode(data), []
    text = "\n".join(utf8_rows[i] if i in utf8_rows else decode(rows[i]) for i in range(len(rows)))
    note = f"{len(legacy):,} rows are not UTF-8 and were read as {label}; the other rows are UTF-8"
    return text, [note]


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
    return detect_fixed([n.strip() for n in names], {})["text"] is not None and len(names) == count + 1


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


def _read_csv(text: str, name: str, suffix: str) -> tuple[pd.DataFrame, list[str]]:
    delimiter = _delimiter(text, suffix)
    first = _first_line(text)
    n_columns = _count_outside_quotes(first, delimiter) + 1
    _check_shape(n_columns, text.count("\n") + 1, name)
    if n_columns == 1 and "\x1f" not in text:
        # One column: commas in the comments are text, not delimiters (no header names a second field).
        delimiter = "\x1f"
    read = {"sep": delimiter, "dtype": str, "keep_default_na": False, "skip_blank_lines": True}
    try:
        frame = pd.read_csv(io.StringIO(text), **read)
        if isinstance(frame.index, pd.RangeIndex):
            return frame.fillna(""), []
        # Every row has more fields than the header, so pandas made the first field(s) an index.
        width = len(frame.columns) + frame.index.nlevels
        rows = pd.read_csv(io.StringIO(text), header=None, names=list(range(width)), **read)
    except pd.errors.EmptyDataError:
        raise DataError(f"{name} is empty; it needs a header row and at least one comment") from None
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        raise DataError(f"{name}: {_parser_message(str(exc))}") from None
    return _shifted_header(rows, n_columns, name, delimiter)


def _check_shape(n_columns: int, n_rows: int, name: str) -> None:
    if n_columns > MAX_COLUMNS:
        raise DataError(
            f"{name} has {n_columns:,} columns, more than the limit of {MAX_COLUMNS:,}; "
            "keep the columns you need (the text, the user, ...)"
        )
    if n_columns * n_rows > MAX_CELLS:
        raise DataError(
            f"{name} has {n_rows:,} rows × {n_columns:,} columns, more than the limit of {MAX_CELLS:,} cells; "
            "keep the columns you need or load a sample"
        )


def _shifted_header(rows: pd.DataFrame, n: int, name: str, delimiter: str) -> tuple[pd.DataFrame, list[str]]:
    """Recover a table whose rows carry more fields than its header (texts with unquoted delimiters).

    Extra fields that are empty everywhere (a delimiter ending every row) are dropped. Otherwise, when the
    text is the header's last column, the extra fields are the rest of each text and are joined back to
    it; anywhere else there is no telling which field is which, and the file is refused.
    """
    header = [str(v) for v in rows.iloc[0, :n].tolist()]
    body = rows.iloc[1:].reset_index(drop=True)
    extra = body.iloc[:, n:]
    kept = body.iloc[:, :n].fillna("")
    kept.columns = header
    if (extra.isna() | (extra == "")).all().all():
        return kept, [f"every row ends with an extra empty field ({delimiter!r} at the end of each line): dropped"]
    text = detect_fixed([h.strip() for h in header], {})["text"]
    if text is None or header[-1].strip() != text:
        raise DataError(
            f"{name}: the rows have {body.shape[1]} fields but the header has {n}: a text holds the "
            f"delimiter {delimiter!r} without quotes; quote the texts or put the text column last"
        )
    parts = body.iloc[:, n - 1 :]
    joined = [delimiter.join(v for v in row if isinstance(v, str) and v) for row in parts.itertuples(index=False)]
    kept[header[-1]] = pd.Series(joined, dtype="str")
    n_joined = int((extra.notna() & (extra != "")).any(axis=1).sum())
    return kept, [
        f"{n_joined:,} rows have more fields than the header: the text {header[-1].strip()!r} holds unquoted "
        f"{delimiter!r}, so those fields were joined back into it"
    ]


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


def _check_rows(n_rows: int, max_rows: int | None, name: str, *, at_least: bool = False) -> None:
    if max_rows is not None and n_rows > max_rows:
        # A stream stops at the first row past the limit: it knows only that there are more.
        count = f"more than {max_rows:,} rows, the limit" if at_least else (
            f"{n_rows:,} rows, more than the limit of {max_rows:,}")
        raise DataError(f"{name} has {count}; load a sample or raise the limit (max_rows)")


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


def _list(columns: Sequence[str]) -> str:
    """Column names for a message: at most 30, each cut to 40 characters as shown (junk can make a huge "name",
    and an invisible character is shown escaped, six times its length: cut after escaping)."""
    shown = ", ".join(f"'{_clip(repr(str(c))[1:-1])}'" for c in columns[:30])
    return shown + (f" and {len(columns) - 30} more" if len(columns) > 30 else "")


def _clip(name: str) -> str:
    return name if len(name) <= _MAX_NAME else name[:_MAX_NAME] + "…"
