"""How reproducible a segmentation is: the agreement of fits on resamples of the users with one another and
with the run (Lange et al., 2004), and each segment's clusterboot stability (Hennig, 2007).

Every function takes the users' segments as placed by fits on resamples
(:func:`~segmentation.cluster.selection.resample_placements`); the choice of k
(:mod:`~segmentation.cluster.selection`) and a run's scores (:mod:`~segmentation.cluster.stage`) read them.
:class:`Placements` keeps them with the adjusted Rand index of every pair, so that the figure, its interval and
the run's score are read from one computation of each pair.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

import numpy as np
from scipy.optimize import linear_sum_assignment

# Half-width of the stability interval in jackknife standard errors (about 95%).
INTERVAL_Z = 2.0
# Below this a segment's clusterboot stability reads "unstable" (Hennig's rule of thumb is 0.6).
UNSTABLE_JACCARD = 0.6


def adjusted_rand(a: np.ndarray, b: np.ndarray) -> float:
    """The adjusted Rand index of two labelings of the same users, as scikit-learn's ``adjusted_rand_score``.

    The same pair counts, in exact integers, and the same formula, so the same value to the last digit; the
    contingency table is one ``bincount`` where scikit-learn sorts the labels, builds a sparse matrix and
    validates its input: 0.16 ms against 6.5 ms on 10,000 users (a sweep compares up to 190 pairs per k).

    Parameters
    ----------
    a, b : ndarray of shape (n_users,)
        Segments (any integers; ``-1`` counts as one more segment, as scikit-learn counts it).

    Returns
    -------
    float
    """
    rows, columns = _codes(a), _codes(b)
    n_columns = int(columns.max()) + 1 if len(columns) else 0
    table = np.bincount(rows * n_columns + columns).astype(np.int64)
    n = len(rows)
    squares = int((table**2).sum())
    row_squares = int((np.bincount(rows).astype(np.int64) ** 2).sum())
    column_squares = int((np.bincount(columns).astype(np.int64) ** 2).sum())
    tp, fp, fn = squares - n, column_squares - squares, row_squares - squares
    tn = n * n - fp - fn - squares
    if fn == 0 and fp == 0:  # full agreement, or no users
        return 1.0
    return 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))


def _codes(labels: np.ndarray) -> np.ndarray:
    """``labels`` as codes from 0: shifted where they are few consecutive integers (segments ``-1..k-1``: no
    sort), numbered by ``np.unique`` otherwise. Unused codes only add empty rows to a contingency table."""
    labels = np.asarray(labels)
    if len(labels) and labels.dtype.kind in "iu":
        low, high = int(labels.min()), int(labels.max())
        if high - low <= len(labels):
            return (labels - low).astype(np.int64)
    return np.unique(labels, return_inverse=True)[1].ravel()


class Placements(Sequence[np.ndarray]):
    """Users' segments under each resample's fit, with the adjusted Rand index of every pair computed once.

    A sequence of the labelings (``len``, indexing and iteration as a list's). Its pairs' indices are computed
    when it is built and, for the labelings :meth:`extended` adds, only the new pairs: the sweep's interval,
    the added resamples' intervals and the run's stability read the same matrix instead of each computing the
    pairs again (about 0.4 s per k at 20 resamples of 10,000 users).

    Parameters
    ----------
    labelings : sequence of ndarray of shape (n_users,)
        Users' segments by each resample's fit.

    Attributes
    ----------
    pairs : ndarray of shape (m, m)
        Adjusted Rand index of every pair of labelings (symmetric; NaN on the diagonal).
    """

    def __init__(self, labelings: Sequence[np.ndarray] = ()) -> None:
        self._labelings: list[np.ndarray] = []
        self.pairs = np.full((0, 0), np.nan)
        self._add(labelings)

    def _add(self, labelings: Sequence[np.ndarray]) -> None:
        old = len(self._labelings)
        self._labelings += [np.asarray(labeling) for labeling in labelings]
        m = len(self._labelings)
        pairs = np.full((m, m), np.nan)
        pairs[:old, :old] = self.pairs
        for j in range(old, m):
            for i in range(j):
                pairs[i, j] = pairs[j, i] = adjusted_rand(self._labelings[i], self._labelings[j])
        self.pairs = pairs

    def extended(self, labelings: Sequence[np.ndarray]) -> Placements:
        """These placements and ``labelings`` after them; only the pairs with a new labeling are computed."""
        more = Placements()
        more._labelings = list(self._labelings)
        more.pairs = self.pairs
        more._add(labelings)
        return more

    def __len__(self) -> int:
        return len(self._labelings)

    @overload
    def __getitem__(self, index: int) -> np.ndarray: ...

    @overload
    def __getitem__(self, index: slice) -> list[np.ndarray]: ...

    def __getitem__(self, index: int | slice) -> np.ndarray | list[np.ndarray]:
        return self._labelings[index]

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self._labelings)


def as_placements(labelings: Sequence[np.ndarray]) -> Placements:
    """``labelings`` as :class:`Placements` (unchanged, its pairs kept, when they already are)."""
    return labelings if isinstance(labelings, Placements) else Placements(labelings)


def mean_pairwise_ari(labelings: Sequence[np.ndarray]) -> float:
    """Mean adjusted Rand index over every pair of labelings of the same users."""
    pairs = as_placements(labelings).pairs
    return float(np.nanmean(pairs)) if len(pairs) >= 2 else float("nan")


def stability_interval(labelings: Sequence[np.ndarray]) -> tuple[float, float, float]:
    """The stability (mean pairwise adjusted Rand index) of labelings from resampled fits, and an interval.

    The interval is the mean plus or minus :data:`INTERVAL_Z` jackknife standard errors, each resample left
    out in turn (the pairs share resamples, so they are not independent draws; the jackknife leaves out a
    resample, not a pair). It says how far another draw of the resamples could move the figure.

    Parameters
    ----------
    labelings : sequence of ndarray of shape (n_users,)
        Users' segments by each resample's fit (at least 2); :class:`Placements` lend their pairs.

    Returns
    -------
    stability, low, high : float
        ``low`` and ``high`` are clipped to [-1, 1]; both equal the stability with only 2 labelings.
    """
    pairs = as_placements(labelings).pairs
    m = len(pairs)
    stability = float(np.nanmean(pairs))
    if m < 3:
        return stability, stability, stability
    total, n_pairs = np.nansum(pairs) / 2, m * (m - 1) / 2
    left_out = (total - np.nansum(pairs, axis=1)) / (n_pairs - (m - 1))
    error = float(np.sqrt((m - 1) / m * ((left_out - left_out.mean()) ** 2).sum()))
    return stability, max(-1.0, stability - INTERVAL_Z * error), min(1.0, stability + INTERVAL_Z * error)


def moved_share(labels: np.ndarray, placements: Sequence[np.ndarray]) -> float:
    """The share of users a resample's fit places in another segment than the run, on average.

    Each placement's segments are first matched one to one with the run's (the matching that keeps the most
    users in place, Hungarian algorithm on the overlap table); a user counts as moved when their matched
    segment is another. Noise (``-1``) in the run is left out; a user a placement calls noise counts as moved.

    Parameters
    ----------
    labels : ndarray of shape (n_users,)
        The run's segments.
    placements : sequence of ndarray of shape (n_users,)
        Users' segments from fits on resamples (:func:`~segmentation.cluster.selection.resample_placements`).

    Returns
    -------
    float
        Between 0 and 1; NaN without placements or without a user in a segment.
    """
    labels = np.asarray(labels)
    kept = labels >= 0
    if not placements or not kept.any():
        return float("nan")
    moved = []
    for placement in placements:
        run, other = labels[kept], np.asarray(placement)[kept]
        placed = other >= 0
        overlap = np.zeros((run.max() + 1, max(int(other.max()) + 1, 1)))
        np.add.at(overlap, (run[placed], other[placed]), 1)
        rows, cols = linear_sum_assignment(overlap, maximize=True)
        moved.append(1.0 - overlap[rows, cols].sum() / len(run))
    return float(np.mean(moved))


def segment_stability(labels: np.ndarray, placements: Sequence[np.ndarray]) -> dict[int, float]:
    """Each segment's clusterboot stability: its mean best Jaccard overlap across resampled fits.

    Parameters
    ----------
    labels : ndarray of shape (n_users,)
        The run's segments (``-1`` noise is left out).
    placements : sequence of ndarray of shape (n_users,)
        Users' segments from fits on resamples (:func:`~segmentation.cluster.selection.resample_placements`).

    Returns
    -------
    dict
        Segment id → mean over placements of the largest Jaccard index between the segment's users and
        any one segment of that placement. Below 0.6 the segment is unstable (Hennig, 2007).
    """
    labels = np.asarray(labels)
    out: dict[int, float] = {}
    for segment in np.unique(labels[labels >= 0]):
        members = labels == segment
        best = []
        for placement in placements:
            inside = np.bincount(placement[members] + 1)  # +1: noise (-1) counts in slot 0
            sizes = np.bincount(placement + 1, minlength=len(inside))
            overlap = inside[1:] / (members.sum() + sizes[1 : len(inside)] - inside[1:])
            best.append(float(overlap.max()) if len(overlap) else 0.0)
        out[int(segment)] = float(np.mean(best)) if best else float("nan")
    return out
