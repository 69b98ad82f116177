"""The comments every stage reads: one cleaned row per comment, with the roles of the source columns."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from segmentation.ingest.columns import COLUMN

# The columns that identify a data set. Item names only label items, and leaving them out keeps the
# fingerprints (the keys of saved runs and names) of files read before that role existed.
_FINGERPRINTED = ("user_id", "text", "item_id", "rating", "time")

@dataclass(frozen=True, eq=False)
class Comments:
    """Cleaned comments, one row per comment, ready to embed.

    Immutable by contract: the loader builds the frame and nothing changes it afterwards, so the
    fingerprint and the counts are computed once and kept.

    Attributes
    ----------
    frame : pandas.DataFrame
        RangeIndex ``0..n-1`` (row ``i`` aligns with ``embeddings[i]``). Canonical columns: ``user_id``
        (str), ``text`` (str, cleaned) and where present ``item_id`` (str), ``item_name`` (str),
        ``rating`` (float64, NaN allowed), ``time`` (datetime64[ns, UTC]). Other source columns keep their own names.
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

    @cached_property
    def n_users(self) -> int:
        return int(self.frame["user_id"].nunique())

    @property
    def n_comments(self) -> int:
        return len(self.frame)

    @cached_property
    def n_items(self) -> int:
        return int(self.frame["item_id"].nunique()) if self.has_items else 0

    def fingerprint(self) -> str:
        """Return a sha256 hex digest of the canonical columns, stable across runs and processes.

        Computed on the first call and kept: hashing every cell takes seconds at a million rows, and a
        page asks for it on every rerun.
        """
        return self._fingerprint

    @cached_property
    def _fingerprint(self) -> str:
        digest = hashlib.sha256(f"comments/v1/{len(self.frame)}".encode())
        for column in _FINGERPRINTED:
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
        identifiers (non-numeric with a distinct value for most users) are left out. Found on the first call
        and kept, as the fingerprint is: the Segment page asks on every rerun, and the search groups every
        comment by user (a seventh of that page's rerun on 18,177 real reviews).
        """
        return list(self._attribute_columns)

    @cached_property
    def _attribute_columns(self) -> tuple[str, ...]:
        frame = self.frame
        extras = [c for c in frame.columns if c not in COLUMN.values()]
        if not extras:
            return ()
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
        return tuple(out)

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
