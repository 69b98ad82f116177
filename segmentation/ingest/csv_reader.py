"""The delimited-text readers: CSV/TSV (the delimiter picked from the header line, rows with unquoted
delimiters recovered where the text is the last column) and plain text, one comment a line."""

from __future__ import annotations

import csv
import io
import re

import pandas as pd

from segmentation.core.errors import DataError
from segmentation.ingest.columns import detect_fixed
from segmentation.ingest.limits import _check_shape

_DELIMITERS = (",", "\t", ";", "|")


def _first_line(text: str) -> str:
    for line in text[:65536].splitlines():
        if line.strip():
            return line
    return ""


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
