"""A coarse layer over a run's segments: broad groups for the board, the run's own segments for the campaign team.

The run's segments stay the fine layer as they are (their ids, and any names already given to them). The coarse
layer merges whole segments by Ward's criterion for groups of users: two segments of ``n_a`` and ``n_b`` users whose
centres lie ``d`` apart cost ``n_a n_b / (n_a + n_b) * d**2`` to merge, the rise in the users' squared distances
to their group's mean, so small outlying segments do not stand as broad groups of their own. A user's broad group is
their segment's parent: the two layers nest exactly. The coarse k is given, or chosen as the run's own k is, on a
k-means of the users (reproducible under resampling, then well separated).

Measured on the real labelled sets against the alternatives (benchmarks/README.md, "A hierarchy of segments"):
giving each segment the group of a direct coarse k-means that holds most of its users agreed less with the
newsgroups' six coarse groups and came back less alike on other samples of the users; splitting a direct coarse
k-means top-down replaces the run's segments (and their names) with new ones and fits the real groups less well.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from segmentation.cluster.base import relabel_by_size, segment_centers
from segmentation.cluster.kmeans import KMeansClusterer
from segmentation.cluster.selection import K_MAX, K_MIN, KChoice, choose_k, k_sweep
from segmentation.core.errors import ConfigError
from segmentation.core.labels import NOISE

# The coarse k is chosen on a k-means of the users, whatever clustered the fine layer: the product's selection
# machinery scores it (stability under resampling, silhouette), and it takes a k where a density clusterer does not.
COARSE_ALGORITHM = KMeansClusterer
AUTO = "auto"


@dataclass(frozen=True, eq=False)
class Hierarchy:
    """Two layers of one run and the tree between them.

    Attributes
    ----------
    fine_labels : ndarray of shape (n_users,)
        The run's segments (``-1`` noise).
    coarse_labels : ndarray of shape (n_users,)
        Each user's coarse segment: the parent of their fine segment (noise stays noise); numbered
        ``0..coarse_k-1`` by descending size.
    parent : dict of int to int
        Fine segment id → its coarse segment id (noise left out).
    coarse_k : int
        Broad groups.
    choice : KChoice or None
        Why this coarse k, where it was chosen automatically.
    """

    fine_labels: np.ndarray
    coarse_labels: np.ndarray
    parent: dict[int, int]
    coarse_k: int
    choice: KChoice | None = None

    def children(self, coarse: int) -> list[int]:
        """The fine segments under coarse segment ``coarse``, by id."""
        return sorted(fine for fine, parent in self.parent.items() if parent == coarse)

    def to_dict(self) -> dict[str, Any]:
        """The tree as JSON-ready values (what a saved run keeps: the layers follow from it and the run)."""
        return {
            "coarse_k": self.coarse_k,
            "parent": {str(fine): coarse for fine, coarse in sorted(self.parent.items())},
            "reason": self.choice.reason if self.choice else "",
        }


def coarse_k_range(n_fine: int) -> range:
    """The coarse ks ``coarse_k="auto"`` sweeps for a run of ``n_fine`` segments.

    From 2 to at most half the fine segments (a broad group holds two fine ones on average, or the layer says
    little the fine one does not) and at most the product's largest automatic k. As for the run's own k, 2 is
    taken only where the users split clearly in two (:func:`~segmentation.cluster.selection.choose_k`).
    """
    return range(2, min(K_MAX, n_fine // 2) + 1)


def check_coarse_k(coarse_k: int | str, n_fine: int) -> int | str:
    """Return ``coarse_k`` when a run of ``n_fine`` segments can have such a layer above it, else say why.

    Raises
    ------
    ConfigError
        When the run has fewer than three segments, or ``coarse_k`` is not ``"auto"`` or a whole number from
        2 to ``n_fine - 1``.
    """
    if n_fine < 3:
        raise ConfigError(
            f"the run has {n_fine} segment{'s' if n_fine != 1 else ''}: a coarse layer needs at least two broad "
            "groups, each holding one or more of the run's segments, so the run needs 3 segments or more; run the "
            "segmentation again with a larger k"
        )
    if coarse_k == AUTO:
        return coarse_k
    if isinstance(coarse_k, bool) or not isinstance(coarse_k, (int, np.integer)):
        raise ConfigError(f"the coarse k must be a whole number or 'auto', not {coarse_k!r}")
    if not 2 <= coarse_k < n_fine:
        raise ConfigError(
            f"coarse k={coarse_k} does not fit a run of {n_fine} segments: the coarse layer groups them, so choose "
            f"a coarse k from 2 to {n_fine - 1}, or 'auto'"
        )
    return int(coarse_k)


def build_hierarchy(
    space: np.ndarray,
    fine_labels: np.ndarray,
    coarse_k: int | str = AUTO,
    *,
    settings: Mapping[str, Any] | None = None,
    runs: dict | None = None,
) -> Hierarchy:
    """Put a coarse layer over the segments ``fine_labels`` of the users in ``space``.

    Parameters
    ----------
    space : ndarray of shape (n_users, n_features)
        The run's clustering space (the one its segments were fitted in).
    fine_labels : ndarray of shape (n_users,)
        The run's segments (``-1`` noise: left out, and noise in both layers).
    coarse_k : int or "auto"
        Broad groups; ``"auto"`` chooses among :func:`coarse_k_range` as the run's own k is chosen, on a k-means of
        the users (:func:`~segmentation.cluster.selection.choose_k`: reproducible under resampling, then well
        separated).
    settings : mapping, optional
        The run's settings (``SegmentConfig.to_dict()``); with ``"auto"``, its ``seed`` seeds the sweep's fits.
    runs : dict, optional
        With ``"auto"``: fits already made on ``space`` (``Prepared.runs``), so a k the run's own sweep fitted
        costs nothing.

    Returns
    -------
    Hierarchy

    Raises
    ------
    ConfigError
        As :func:`check_coarse_k`.
    """
    fine_labels = np.asarray(fine_labels, dtype=np.int64)
    kept = fine_labels != NOISE
    fine_ids = np.unique(fine_labels[kept])
    coarse_k = check_coarse_k(coarse_k, len(fine_ids))
    points = np.asarray(space, dtype=np.float64)[kept]
    choice = None
    if coarse_k == AUTO:
        settings = {**dict(settings or {}), "seed": int((settings or {}).get("seed", 0))}
        ks = coarse_k_range(len(fine_ids))
        # The run's fits were made on all users; with noise left out the points differ, so nothing is shared.
        table = k_sweep(points, COARSE_ALGORITHM, ks, seed=settings["seed"], settings=settings,
                        runs=runs if kept.all() else None)
        choice = choose_k(table, k_min=min(K_MIN, ks.stop - 1), k_max=ks.stop - 1)
        coarse_k = choice.k
    fine_index = np.searchsorted(fine_ids, fine_labels[kept])
    centres = segment_centers(points, fine_index)
    groups = weighted_ward(centres, np.bincount(fine_index), coarse_k)
    coarse_kept = relabel_by_size(groups[fine_index])  # broad groups numbered by size, as the layer shows them
    parent = {int(fine): int(coarse_kept[np.argmax(fine_index == row)]) for row, fine in enumerate(fine_ids)}
    coarse_labels = np.full(len(fine_labels), NOISE, dtype=np.int64)
    coarse_labels[kept] = coarse_kept
    return Hierarchy(fine_labels=fine_labels, coarse_labels=coarse_labels, parent=parent, coarse_k=coarse_k,
                     choice=choice)


def weighted_ward(centres: np.ndarray, sizes: np.ndarray, k: int) -> np.ndarray:
    """Merge segments into ``k`` groups by Ward's criterion for whole segments.

    Parameters
    ----------
    centres : ndarray of shape (n_segments, n_features)
        Each segment's mean.
    sizes : ndarray of shape (n_segments,)
        Each segment's users.
    k : int
        Groups wanted, ``1 <= k <= n_segments``.

    Returns
    -------
    ndarray of shape (n_segments,)
        Each segment's group, ``0..k-1`` (numbered by the first segment of each group). The cheapest merge is taken
        at each step (ties: the pair found first), so the result does not depend on any seed.
    """
    means = np.asarray(centres, dtype=np.float64).copy()
    counts = np.asarray(sizes, dtype=np.float64).copy()
    group = np.arange(len(means))
    alive = list(range(len(means)))
    while len(alive) > k:
        m, n = means[alive], counts[alive]
        squared = ((m[:, None, :] - m[None, :, :]) ** 2).sum(axis=2)
        cost = n[:, None] * n[None, :] / (n[:, None] + n[None, :]) * squared
        cost[np.tril_indices(len(alive))] = np.inf
        a, b = np.unravel_index(np.argmin(cost), cost.shape)
        keep, gone = alive[a], alive[b]
        means[keep] = (counts[keep] * means[keep] + counts[gone] * means[gone]) / (counts[keep] + counts[gone])
        counts[keep] += counts[gone]
        group[group == gone] = keep
        alive.remove(gone)
    return np.searchsorted(np.unique(group), group)


def from_parents(fine_labels: np.ndarray, parent: Mapping[int, int]) -> np.ndarray:
    """Each user's coarse segment from their fine one and a saved tree (``Hierarchy.parent``); noise stays noise.

    Raises
    ------
    ConfigError
        When a fine segment of ``fine_labels`` has no parent in the tree (a tree saved for other segments).
    """
    fine_labels = np.asarray(fine_labels, dtype=np.int64)
    orphans = sorted(set(np.unique(fine_labels[fine_labels != NOISE]).tolist()) - set(parent))
    if orphans:
        raise ConfigError(
            f"segments {', '.join(map(str, orphans))} are in no broad group of the saved hierarchy; build it again"
        )
    lookup = {NOISE: NOISE, **{int(k): int(v) for k, v in parent.items()}}
    return np.array([lookup[int(label)] for label in fine_labels], dtype=np.int64)


__all__ = ["AUTO", "COARSE_ALGORITHM", "Hierarchy", "build_hierarchy", "check_coarse_k", "coarse_k_range",
           "from_parents", "weighted_ward"]
