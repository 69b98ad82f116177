"""k-means clusterers: k-means with several initialisations, and top-down bisecting k-means."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from segmentation.cluster.base import (
    K,
    _as_points,
    _fewer_distinct_than_k,
    _one_openmp_thread,
    _quiet,
    _single,
    _squared_distances,
    check_k,
    register,
    relabel_by_size,
    segment_centers,
)
from segmentation.cluster.metrics import inertia


def _found_fewer_than_k(labels: np.ndarray, k: int) -> list[str]:
    """A note when a fit delivered fewer segments than asked (near-identical profiles)."""
    found = int(labels.max()) + 1 if len(labels) else 0
    if found >= k:
        return []
    return [f"only {found} segments could be told apart among these users, not the k={k} asked for"]


class _CentroidPredict:
    """``predict`` by the nearest segment mean, shared by the k-means-like clusterers."""

    centers_: np.ndarray

    def segment_distances(self, X: np.ndarray) -> np.ndarray:
        """Euclidean distance of each point to each segment's mean, shape ``(n_points, n_segments)``."""
        return np.sqrt(_squared_distances(X, self.centers_))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The segment of each new point in ``X`` (same space as ``fit``): the nearest segment mean."""
        return self.segment_distances(X).argmin(axis=1).astype(np.int64)


@register
class KMeansClusterer(_CentroidPredict):
    """k-means with several initialisations (scikit-learn ``KMeans``), and starts from other fits' segments.

    Parameters
    ----------
    k : int
        Number of segments.
    seed : int
        ``random_state`` of the initialisations.
    n_init : int
        Initialisations kept best-of; 10 by default because with one the agreement with the true groups on
        real user profiles swung from 0.91 to 0.64 NMI across seeds.
    starts : sequence of ndarray of shape (k, n_features), optional
        Segment centres from other fits (the run's fits on resampled users), each run to convergence on
        ``X`` beside the seeded initialisations; the lowest inertia of them all is kept. Starts of another
        shape (a resample that found fewer segments) are skipped.

    Attributes
    ----------
    start_ : int or None
        Index in ``starts`` of the start that gave the lowest inertia; None when the seeded initialisations did.
    inertia_ : float
        Sum of squared distances of the users to their segment's mean.
    """

    name = "kmeans"
    label = "K-means"
    order = 10
    parameters = (K,)
    chooses_k = False
    keeps_tree = False
    default_space = "pca"
    sweep_param = "k"

    def __init__(
        self, k: int = 8, seed: int = 0, n_init: int = 10, starts: Sequence[np.ndarray] | None = None
    ) -> None:
        self.k = k
        self.seed = seed
        self.n_init = n_init
        self.starts = starts

    def fit(self, X: np.ndarray) -> KMeansClusterer:
        from sklearn.cluster import KMeans

        X = _as_points(X)
        k, self.notes_ = _fewer_distinct_than_k(X, check_k(self.k, len(X)))
        points = _single(X)
        starts = [np.asarray(c, dtype=points.dtype) for c in self.starts or () if np.shape(c) == (k, X.shape[1])]
        with _one_openmp_thread(), _quiet():
            labels = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.seed).fit(points).labels_
            # Why: k-means on weakly grouped users has many local optima of near-equal inertia, and ten seeded
            # initialisations land in a different one under each seed (recipe reviewers at k=6: adjusted Rand
            # index 0.40 between two seeds). Centres found on resampled users, run on to convergence here,
            # reached lower inertias than the seeded best on every real set (benchmarks/README.md, Seeds);
            # the lowest inertia decides, so a seed whose initialisation finds a better optimum still wins.
            self.start_, best = None, inertia(X, labels)
            for index, centres in enumerate(starts):
                other = KMeans(n_clusters=k, init=centres, n_init=1).fit(points).labels_
                score = inertia(X, other)
                if score < best:
                    labels, best, self.start_ = other, score, index
        self.labels_ = relabel_by_size(labels)
        self.centers_ = segment_centers(X, self.labels_)
        self.inertia_ = best
        self.notes_ += _found_fewer_than_k(self.labels_, k)
        self.notes_.append(f"k-means with k={k}, best of {self.n_init} initialisations (seed {self.seed})" + (
            "" if not starts else f" and {len(starts)} starts from resampled users' segments (the best: "
            + ("a seeded initialisation)" if self.start_ is None else "a resample's start)")
        ))
        return self


@register
class BisectingClusterer(_CentroidPredict):
    """Top-down k-means: split the segment with the largest inertia in two until there are ``k``.

    Parameters
    ----------
    k : int
        Number of segments.
    seed : int
        ``random_state`` of the bisections.
    n_init : int
        Initialisations tried at each bisection.
    """

    name = "bisecting"
    label = "Bisecting k-means"
    order = 30
    parameters = (K,)
    chooses_k = False
    keeps_tree = False
    default_space = "pca"
    sweep_param = "k"

    def __init__(self, k: int = 8, seed: int = 0, n_init: int = 3) -> None:
        self.k = k
        self.seed = seed
        self.n_init = n_init

    def fit(self, X: np.ndarray) -> BisectingClusterer:
        from sklearn.cluster import BisectingKMeans

        X = _as_points(X)
        k, self.notes_ = _fewer_distinct_than_k(X, check_k(self.k, len(X)))
        with _one_openmp_thread(), _quiet():
            model = BisectingKMeans(
                n_clusters=k, n_init=self.n_init, random_state=self.seed, bisecting_strategy="biggest_inertia"
            ).fit(_single(X))
        self.labels_ = relabel_by_size(model.labels_)
        self.centers_ = segment_centers(X, self.labels_)
        self.notes_ += _found_fewer_than_k(self.labels_, k)
        self.notes_.append(f"bisecting k-means down to k={k}, splitting the segment with the largest inertia")
        return self
