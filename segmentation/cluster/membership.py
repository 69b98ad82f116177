"""How firmly each user belongs to their segment: the margin to the next segment, the three nearest segments
with weights, and a "between segments" flag.

One label per user hides the users who sit between two segments. Every clusterer gives each user's distance to
each segment (``segment_distances``); from those:

- the **confidence** is the margin ``1 - own segment / next nearest``: 1 on a segment's centre, 0 halfway between
  two segments (the figure the Ray engine and ``assign`` give for placed users, who are placed in their
  nearest segment);
- the **weights** over the three nearest segments are fuzzy c-means memberships with fuzzifier 2 (Bezdek,
  1981), restricted to those three: each segment's weight is proportional to ``1 / distance**2``, and they sum
  to 1;
- a user is **between segments** when the confidence is under :data:`BETWEEN_BELOW`: their nearest segment is
  less than a tenth nearer than the next one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segmentation.cluster.base import _squared_distances, segment_centers

TOP = 3
MEMBERSHIP_COLUMNS = ("confidence", "between", "weight", "segment_2", "weight_2", "segment_3", "weight_3")
# Under this margin the nearest segment is less than a tenth nearer than the next: on the real labelled sets
# such users agree with their segment's majority label clearly less often than the rest (benchmarks/README.md,
# "Soft membership").
BETWEEN_BELOW = 0.1


@dataclass(frozen=True, eq=False)
class Membership:
    """Each user's nearest segments, their weights and the margin, row for row with the users.

    Attributes
    ----------
    segments : ndarray of shape (n_users, 3)
        Segment ids, nearest first (``-1`` where the run has fewer than three segments).
    weights : ndarray of shape (n_users, 3)
        Their weights, summing to 1 per user (0 where there is no segment).
    confidence : ndarray of shape (n_users,)
        The margin ``1 - own / next nearest`` of the user's distances, clipped to 0..1.
    """

    segments: np.ndarray
    weights: np.ndarray
    confidence: np.ndarray

    @property
    def between(self) -> np.ndarray:
        """Users whose nearest segment is barely nearer than the next (:data:`BETWEEN_BELOW`)."""
        return self.confidence < BETWEEN_BELOW


def soft_membership(distances: np.ndarray, labels: np.ndarray | None = None) -> Membership:
    """The membership of every user from their distances to every segment.

    Parameters
    ----------
    distances : ndarray of shape (n_users, n_segments)
        A fitted clusterer's ``segment_distances`` over the users; column ``j`` is segment ``j``.
    labels : ndarray of shape (n_users,), optional
        The users' segments. A user's own segment comes first even where another is nearer (a cut of a
        tree need not give each user its nearest segment), so their confidence is then 0; noise (``-1``)
        and None take the nearest segment.

    Returns
    -------
    Membership
    """
    distances = np.asarray(distances, dtype=np.float64)
    n, k = distances.shape
    rows = np.arange(n)
    own = distances.argmin(axis=1) if labels is None else np.asarray(labels, dtype=np.int64).copy()
    noise = own < 0
    own[noise] = distances[noise].argmin(axis=1)
    others = distances.copy()
    others[rows, own] = np.inf
    order = np.concatenate([own[:, None], np.argsort(others, axis=1, kind="stable")[:, : min(TOP, k) - 1]], axis=1)
    near = np.take_along_axis(distances, order, axis=1)
    # A user on their segment's centre (distance 0) belongs to it wholly: 1/d**2 would be infinite.
    inverse = 1.0 / np.maximum(near, 1e-12) ** 2
    weights = inverse / inverse.sum(axis=1, keepdims=True)
    weights[near[:, 0] <= 1e-12] = np.eye(order.shape[1])[0]
    confidence = np.ones(n)
    if k > 1:
        confidence = np.clip(1.0 - near[:, 0] / np.maximum(near[:, 1], 1e-12), 0.0, 1.0)
    segments = np.full((n, TOP), -1, dtype=np.int64)
    full = np.zeros((n, TOP))
    segments[:, : order.shape[1]] = order
    full[:, : order.shape[1]] = weights
    return Membership(segments, full, confidence)


def membership_columns(space: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """The assignments table's membership columns for users in ``space`` with segments ``labels``.

    Distances are to each segment's mean in the clustering space, so the same rule serves every algorithm
    and a hand-edited segmentation alike (segment ids need not be consecutive; noise has no centre).

    Returns
    -------
    dict
        ``confidence``, ``between``, ``weight`` (of the user's own segment), ``segment_2``, ``weight_2``,
        ``segment_3``, ``weight_3``; ``-1`` and 0 where the run has too few segments.
    """
    labels = np.asarray(labels, dtype=np.int64)
    ids = np.unique(labels[labels >= 0])
    if not len(ids):  # every user is noise: no segment to belong to
        none, zero = np.full(len(labels), -1), np.zeros(len(labels))
        return {"confidence": zero, "between": zero.astype(bool), "weight": zero, "segment_2": none,
                "weight_2": zero, "segment_3": none, "weight_3": zero}
    space = np.asarray(space, dtype=np.float64)
    columns = np.searchsorted(ids, labels)
    columns[labels < 0] = -1
    centres = segment_centers(space, labels)[ids]  # rows of ids a hand edit emptied are left out
    found = soft_membership(np.sqrt(_squared_distances(space, centres)), columns)
    named = np.where(found.segments >= 0, ids[np.maximum(found.segments, 0)], -1)
    return {
        "confidence": np.round(found.confidence, 4),
        "between": found.between & (labels >= 0),
        "weight": np.round(found.weights[:, 0], 4),
        "segment_2": named[:, 1],
        "weight_2": np.round(found.weights[:, 1], 4),
        "segment_3": named[:, 2],
        "weight_3": np.round(found.weights[:, 2], 4),
    }
