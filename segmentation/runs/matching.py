"""Pairing the segments of two runs by the users they share, and the report of names carried over that way.

:func:`match_segments` pairs old segments with new ones one to one (Hungarian assignment on the Jaccard index
of their users); ``Workspace.carry_over`` copies names along those pairs and says what it did in a
:class:`CarryReport`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from segmentation.core.errors import ConfigError
from segmentation.core.labels import NOISE


class Match(NamedTuple):
    """An old segment and the new segment that shares most of its users."""

    old_id: int
    new_id: int
    jaccard: float


class CarriedName(NamedTuple):
    """A name copied from an old segment to the new segment that matched it."""

    old_id: int
    new_id: int
    name: str
    jaccard: float


@dataclass(frozen=True)
class CarryReport:
    """What ``Workspace.carry_over`` did.

    Attributes
    ----------
    carried : list of CarriedName
        Names copied onto new segments.
    new : list of int
        New segments that match no old segment (they need a name).
    dropped : list of int
        Named old segments that match no new segment (their names were not carried).
    kept : list of int
        New segments that matched a named old segment but already had a name, which was kept.
    from_run_key : str or None
        The run the names came from (None when there was no earlier named run).
    notes : list of str
        What the user should know: the earlier run was damaged, so no name could be carried from it.
    """

    carried: list[CarriedName] = field(default_factory=list)
    new: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)
    from_run_key: str | None = None
    notes: list[str] = field(default_factory=list)


def match_segments(old: Mapping[str, int], new: Mapping[str, int], threshold: float = 0.5) -> list[Match]:
    """Pair old segments with new ones by the users they share.

    Parameters
    ----------
    old, new : mapping of user id to segment id
        Two assignments, typically of the same users; the noise label ``-1`` never matches.
    threshold : float, default 0.5
        Least Jaccard index (shared users over users in either) for a pair to count.

    Returns
    -------
    list of Match
        One-to-one pairs with ``jaccard >= threshold``, chosen to maximise the total Jaccard
        (Hungarian assignment), sorted by old id. When two new segments overlap one old segment
        equally, only one of them gets it.
    """
    if not 0.0 < threshold <= 1.0:
        raise ConfigError(f"The matching threshold must be in (0, 1]; got {threshold}.")
    old_sizes = Counter(int(segment) for segment in old.values() if segment != NOISE)
    new_sizes = Counter(int(segment) for segment in new.values() if segment != NOISE)
    if not old_sizes or not new_sizes:
        return []
    old_ids, new_ids = sorted(old_sizes), sorted(new_sizes)
    old_row = {segment: row for row, segment in enumerate(old_ids)}
    new_column = {segment: column for column, segment in enumerate(new_ids)}
    intersection = np.zeros((len(old_ids), len(new_ids)))
    for user, segment in old.items():
        other = new.get(user, NOISE)
        if segment != NOISE and other != NOISE:
            intersection[old_row[int(segment)], new_column[int(other)]] += 1
    old_count = np.array([old_sizes[segment] for segment in old_ids], dtype=float)
    new_count = np.array([new_sizes[segment] for segment in new_ids], dtype=float)
    union = old_count[:, None] + new_count[None, :] - intersection
    jaccard = intersection / union
    # Pairs under the threshold must not steal a partner from a pair above it, so they weigh nothing.
    weights = np.where(jaccard >= threshold, jaccard, 0.0)
    # Imported here: scipy costs a second at import and only carry-over needs it.
    from scipy.optimize import linear_sum_assignment

    rows, columns = linear_sum_assignment(weights, maximize=True)
    matches = [
        Match(int(old_ids[r]), int(new_ids[c]), float(jaccard[r, c]))
        for r, c in zip(rows, columns, strict=True)
        if weights[r, c] > 0.0
    ]
    return sorted(matches)


__all__ = ["CarriedName", "CarryReport", "Match", "match_segments"]
