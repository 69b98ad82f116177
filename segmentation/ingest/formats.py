"""Bytes → a table of strings: :func:`read_table`, reading a file within bounds, gunzipping, sniffing the
format and decoding the text; the readers per format live beside it (``csv_reader``, ``json_reader``,
``typed_readers``), the limits in ``limits``.

Nothing read here is unpickled or evaluated: text is parsed as text, JSON with :mod:`json`, Parquet with
pyarrow, XLSX with openpyxl; uploads stay in memory. Every problem becomes one :class:`DataError`.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import stat
import zipfile
import zlib
from pathlib import Path

import pandas as pd

from segmentation.core.errors import DataError
from segmentation.core.text import CJK_PUNCTUATION, HAN
from segmentation.ingest.columns import detect_fixed
from segmentation.ingest.csv_reader import (
    _DELIMITERS,
    _count_outside_quotes,
    _delimiter,
    _first_line,
    _read_csv,
    _read_lines,
)
from segmentation.ingest.json_reader import _read_json
from segmentation.ingest.limits import MAX_BYTES, MAX_ROWS, _check_size
from segmentation.ingest.typed_readers import _read_parquet, _read_xlsx

FORMATS = "CSV, TSV, JSONL/JSON, Parquet, XLSX or TXT"
# What a file picker offers: the suffixes above, each also gzipped (the reader sniffs the content either way).
UPLOAD_SUFFIXES = ("csv", "tsv", "txt", "parquet", "jsonl", "json", "xlsx", "gz")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CJK = re.compile(f"[{CJK_PUNCTUATION}{HAN}]")
_CJK_NEXT_TO_LETTER = re.compile(
    "(?<=[A-Za-z])[\u3400-\u4dbf\u4e00-\u9fff]|[\u3400-\u4dbf\u4e00-\u9fff](?=[A-Za-z])"
)
_PUNCT = re.compile("[\u00a0-\u00bf\u00d7\u00f7\u2010-\u206f\u2190-\u22ff\u2460-\u27bf]")
_MAX_NUL_SHARE = 0.1
_MIN_CJK_BESIDE_UTF8 = 20


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


def _is_table_header(line: str) -> bool:
    delimiter = _delimiter(line, "")
    count = _count_outside_quotes(line, delimiter)
    if not count:
        return False
    names = next(csv.reader([line], delimiter=delimiter), [])
    return detect_fixed([n.strip() for n in names], {})["text"] is not None and len(names) == count + 1
