"""The limits a file must keep (bytes, rows, columns, cells), the checks that refuse it past them, and the
cut-down column list that messages quote (junk can make a huge "name").

Every reader checks against these before it materialises what it reads.
"""

from __future__ import annotations

from collections.abc import Sequence

from segmentation.core.errors import DataError

MAX_BYTES = 256 * 2**20
"""Default size limit of a file after decompression (the app's upload limit, 200 MB, sits below it)."""
MAX_COLUMNS = 1000
"""Most columns a table may have: a comments file needs a handful, and each column costs a pass."""
MAX_ROWS = 1_000_000
"""Default row limit: beyond it the profiles, the k-NN graph and the map outgrow a laptop's memory."""
MAX_CELLS = 50_000_000
"""Most cells (rows × columns) a table may have, checked before a reader materialises them."""
_MAX_NAME = 40


def _check_size(size: int, max_bytes: int | None, name: str, what: str = "") -> None:
    if max_bytes is not None and size > max_bytes:
        raise DataError(
            f"{name} is {_megabytes(size)}{what}, more than the limit of {_megabytes(max_bytes)}; "
            "load a sample (fewer rows) or raise the limit (max_bytes)"
        )


def _megabytes(size: int) -> str:
    return f"{size / 2**20:,.1f} MB"


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


def _check_rows(n_rows: int, max_rows: int | None, name: str, *, at_least: bool = False) -> None:
    if max_rows is not None and n_rows > max_rows:
        # A stream stops at the first row past the limit: it knows only that there are more.
        count = f"more than {max_rows:,} rows, the limit" if at_least else (
            f"{n_rows:,} rows, more than the limit of {max_rows:,}")
        raise DataError(f"{name} has {count}; load a sample or raise the limit (max_rows)")


def _list(columns: Sequence[str]) -> str:
    """Column names for a message: at most 30, each cut to 40 characters as shown (junk can make a huge "name",
    and an invisible character is shown escaped, six times its length: cut after escaping)."""
    shown = ", ".join(f"'{_clip(repr(str(c))[1:-1])}'" for c in columns[:30])
    return shown + (f" and {len(columns) - 30} more" if len(columns) > 30 else "")


def _clip(name: str) -> str:
    return name if len(name) <= _MAX_NAME else name[:_MAX_NAME] + "…"
