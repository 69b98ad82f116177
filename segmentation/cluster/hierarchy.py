"""A coarse layer over a run's segments: broad groups for the board, the run's own segments for the campaign team.

The run's segments stay the fine layer as they are (their ids, and any names already given to them). The coarse
layer is a direct k-means on the same users in the same clustering space at the coarse k, fitted as the run's
own k-means is (:func:`~segmentation.cluster.selection.fit_run`: seeded initialisations and the resamples'
centres as starts); each fine segment's parent is then the coarse group that holds most of its users, and a
user's coarse segment is their fine segment's parent, so the two layers nest exactly.

Measured on the real labelled sets against the alternatives (benchmarks/README.md, "A hierarchy of segments"):
merging the fine segments bottom-up (Ward weighted by size) inherits the fine layer's dependence on the seed,
and splitting a direct coarse k-means top-down replaces the run's segments (and their names) with new ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from segmentation.cluster.base import relabel_by_size
from segmentation.cluster.selection import K_MAX, K_MIN, KChoice, choose_k, fit_run, k_sweep
from segmentation.core.errors import ConfigError
from segmentation.core.labels import NOISE

# The coarse layer is always a k-means, whatever clustered the fine one: it is the fit measured to come back
# alike under every seed (seed ARI 0.92 on the newsgroups), and it takes a k where a density clusterer does not.
COARSE_ALGORITHM = "kmeans"
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
        Coarse segments that hold at least one fine segment.
    nesting : float
        Share of the (non-noise) users whom the direct coarse k-means itself places in their fine segment's
        parent: 1.0 when the fine segments lie whole inside the coarse groups.
    direct_labels : ndarray of shape (n_users,)
        The direct coarse k-means per user, in the coarse layer's numbering (``-1`` for noise, and for users
        of a coarse group that no fine segment has as parent).
    choice : KChoice or None
        Why this coarse k, where it was chosen automatically.
    notes : list of str
        Plain sentences about what was done.
    """

    fine_labels: np.ndarray
    coarse_labels: np.ndarray
    parent: dict[int, int]
    coarse_k: int
    nesting: float
    direct_labels: np.ndarray
    choice: KChoice | None = None
    notes: list[str] = field(default_factory=list)

    def children(self, coarse: int) -> list[int]:
        """The fine segments under coarse segment ``coarse``, by id."""
        return sorted(fine for fine, parent in self.parent.items() if parent == coarse)

    def to_dict(self) -> dict[str, Any]:
        """The tree as JSON-ready values (what a saved run keeps: the layers follow from it and the run)."""
        return {
            "coarse_k": self.coarse_k,
            "parent": {str(fine): coarse for fine, coarse in sorted(self.parent.items())},
            "nesting": round(self.nesting, 4),
            "reason": self.choice.reason if self.choice else "",
            "notes": list(self.notes),
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
        The run's segments (``-1`` noise: left out of the coarse fit, and noise in both layers).
    coarse_k : int or "auto"
        Coarse segments; ``"auto"`` chooses among :func:`coarse_k_range` as the run's own k is chosen
        (:func:`~segmentation.cluster.selection.choose_k`: reproducible under resampling, then well separated).
    settings : mapping, optional
        The run's settings (``SegmentConfig.to_dict()``); its ``seed`` seeds the coarse fit.
    runs : dict, optional
        Fits already made on ``space`` (``Prepared.runs``): a coarse k the run's own sweep fitted costs nothing.

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
    settings = {**dict(settings or {}), "seed": int((settings or {}).get("seed", 0))}
    points = np.asarray(space, dtype=np.float64)[kept]
    # The run's fits were made on all users; noise users would make a different space, so no sharing then.
    runs = runs if kept.all() else None
    choice = None
    notes: list[str] = []
    if coarse_k == AUTO:
        ks = coarse_k_range(len(fine_ids))
        table = k_sweep(points, COARSE_ALGORITHM, ks, seed=settings["seed"], settings=settings, runs=runs)
        choice = choose_k(table, k_min=min(K_MIN, ks.stop - 1), k_max=ks.stop - 1)
        coarse_k = choice.k
    clusterer, _ = fit_run(points, COARSE_ALGORITHM, {**settings, "k": coarse_k}, runs=runs)
    direct = np.asarray(clusterer.labels_, dtype=np.int64)

    fine_kept = fine_labels[kept]
    fine_index = np.searchsorted(fine_ids, fine_kept)
    overlap = np.zeros((len(fine_ids), int(direct.max()) + 1), dtype=np.int64)
    np.add.at(overlap, (fine_index, direct), 1)
    parents = overlap.argmax(axis=1)  # ties: the lower coarse id
    nesting = float(overlap[np.arange(len(fine_ids)), parents].sum() / len(fine_kept))

    # Number the coarse groups by size as the layer shows them (a group no fine segment chose drops out).
    coarse_kept = relabel_by_size(parents[fine_index])
    renumber = {int(old): int(new) for old, new in zip(parents[fine_index], coarse_kept, strict=True)}
    parent = {int(fine): renumber[int(p)] for fine, p in zip(fine_ids, parents, strict=True)}
    n_coarse = len(set(parent.values()))
    if n_coarse < coarse_k:
        notes.append(
            f"{coarse_k - n_coarse} of the {coarse_k} broad groups holds most of no segment, so the coarse layer "
            f"has {n_coarse}"
        )
    coarse_labels = np.full(len(fine_labels), NOISE, dtype=np.int64)
    coarse_labels[kept] = coarse_kept
    direct_labels = np.full(len(fine_labels), NOISE, dtype=np.int64)
    direct_labels[kept] = [renumber.get(int(group), NOISE) for group in direct]
    return Hierarchy(fine_labels=fine_labels, coarse_labels=coarse_labels, parent=parent, coarse_k=n_coarse,
                     nesting=nesting, direct_labels=direct_labels, choice=choice, notes=notes)


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
           "from_parents"]
