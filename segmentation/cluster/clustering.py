"""Users → segments: one registry of clusterers with scikit-learn's manners.

Every clusterer stores its parameters in ``__init__``, does the work in ``fit(X)`` (which returns ``self``)
and leaves ``labels_`` (int, ``-1`` = noise, segments numbered ``0..k-1`` by descending size),
``notes_`` (plain sentences saying what was done) and ``centers_`` (segment means in the clustering space);
``predict(X)`` places new points in the fitted segments.

What differs between algorithms is declared on the class (:class:`Clusterer`'s class attributes), so the
pipeline, the sweeps and the pages ask the class instead of comparing algorithm names.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import warnings
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Protocol

import numpy as np
from scipy import sparse
from scipy.cluster import hierarchy
from threadpoolctl import threadpool_limits

from segmentation.core.errors import ConfigError

NOISE_POLICIES = ("keep", "nearest")
LINKAGES = ("ward", "average", "complete")
CLUSTER_SELECTIONS = ("eom", "leaf")


class Clusterer(Protocol):
    """What every registered clusterer is: its capabilities as class attributes, then fit and predict.

    Attributes
    ----------
    name : str
        Registry key, used in configs, the CLI and saved runs.
    label : str
        What the app calls it.
    chooses_k : bool
        True when the algorithm finds the number of segments itself (no ``k`` parameter).
    keeps_tree : bool
        True when a fit keeps a tree that :meth:`cut` re-cuts at any k without refitting.
    default_space : str
        Clustering space used when the reduction is ``"auto"`` (see ``projection.METHODS``).
    sweep_param : str
        The parameter a sweep varies: ``"k"`` or ``"min_cluster_size"``.
    settings : tuple of str
        The run settings (``SegmentConfig`` fields) the class takes; ``make_clusterer`` refuses others.
    quick : dict
        Parameters for the many fits of a sweep or a stability check (e.g. fewer k-means initialisations).
    """

    name: ClassVar[str]
    label: ClassVar[str]
    chooses_k: ClassVar[bool]
    keeps_tree: ClassVar[bool]
    default_space: ClassVar[str]
    sweep_param: ClassVar[str]
    settings: ClassVar[tuple[str, ...]]
    quick: ClassVar[dict[str, Any]]
    labels_: np.ndarray
    centers_: np.ndarray
    notes_: list[str]

    def fit(self, X: np.ndarray) -> Clusterer: ...

    def predict(self, X: np.ndarray) -> np.ndarray: ...

    def segment_distances(self, X: np.ndarray) -> np.ndarray: ...


CLUSTERERS: dict[str, type[Clusterer]] = {}


def register(cls: type[Clusterer]) -> type[Clusterer]:
    """Class decorator that adds a clusterer to :data:`CLUSTERERS` under its ``name``."""
    CLUSTERERS[cls.name] = cls
    return cls


def clusterer_class(algorithm: str) -> type[Clusterer]:
    """The registered class ``algorithm``, or a :class:`ConfigError` listing the known ones."""
    if algorithm not in CLUSTERERS:
        known = ", ".join(sorted(CLUSTERERS))
        raise ConfigError(f"unknown clustering algorithm {algorithm!r}; choose one of: {known}")
    return CLUSTERERS[algorithm]


def make_clusterer(algorithm: str, **params: Any) -> Clusterer:
    """Build the registered clusterer ``algorithm``.

    Parameters
    ----------
    algorithm : str
        A key of :data:`CLUSTERERS`.
    **params
        Parameters of the class's ``__init__``.

    Raises
    ------
    ConfigError
        If ``algorithm`` is not registered, or a parameter is one the class does not take (a silently
        dropped parameter would run another segmentation than the one asked for).
    """
    cls = clusterer_class(algorithm)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ConfigError(
            f"{algorithm} does not take {', '.join(unknown)}; its parameters are {', '.join(sorted(accepted))}"
        )
    return cls(**params)


def from_settings(algorithm: str, settings: Mapping[str, Any], *, quick: bool = False, **params: Any) -> Clusterer:
    """Build ``algorithm`` from a run's settings (only those the class declares) and explicit ``params``.

    ``quick=True`` adds the class's ``quick`` parameters, for the many fits of a sweep, which only rank
    choices against each other.
    """
    cls = clusterer_class(algorithm)
    chosen = {name: settings[name] for name in cls.settings if name in settings}
    if quick:
        chosen.update(cls.quick)
    return make_clusterer(algorithm, **{**chosen, **params})


def check_k(k: Any, n_points: int) -> int:
    """Return ``k`` as an int, or raise a :class:`ConfigError` that says which k would fit."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ConfigError(f"k must be a whole number of segments, got {k!r}")
    k = int(k)
    if n_points < 2:
        raise ConfigError(f"segmenting needs at least 2 users; the data has {n_points}")
    if k < 2:
        raise ConfigError(f"k={k} is too small: a segmentation needs at least 2 segments; choose k ≥ 2")
    if k > n_points:
        raise ConfigError(
            f"k={k} is larger than the {n_points} users in the data; choose k ≤ {n_points}"
        )
    return k


def relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber segments ``0..k-1`` by descending size (ties: the one seen first); ``-1`` stays noise."""
    labels = np.asarray(labels)
    out = np.full(labels.shape, -1, dtype=np.int64)
    kept = labels >= 0
    if not kept.any():
        return out
    values, first, inverse, counts = np.unique(
        labels[kept], return_index=True, return_inverse=True, return_counts=True
    )
    order = np.lexsort((first, -counts))
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values))
    out[kept] = rank[inverse]
    return out


def segment_centers(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean of each segment ``0..k-1`` (noise ignored); shape ``(k, n_features)``."""
    kept = np.flatnonzero(labels >= 0)
    k = int(labels.max()) + 1 if len(kept) else 0
    membership = sparse.csr_matrix((np.ones(len(kept)), (labels[kept], kept)), shape=(k, len(labels)))
    counts = np.bincount(labels[kept], minlength=k)
    return np.asarray(membership @ X) / np.maximum(counts, 1)[:, None]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Keep scikit-learn's warnings about degenerate data (fewer distinct points than clusters) off the
    console: the clusterer says it in its notes instead."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # ConvergenceWarning is one
        warnings.simplefilter("ignore", category=RuntimeWarning)
        yield


def _one_openmp_thread() -> Any:
    """Context in which scikit-learn's k-means runs its OpenMP loops on one thread (BLAS keeps its threads).

    Its Lloyd iterations are many short parallel regions; on a shared 2-core machine under load every
    region waited on a descheduled thread: KMeans(k=6, n_init=10) on 10,000 × 50 took 47 s with 2 threads
    and 4.7 s with one, bisecting k-means 25 s against 0.5 s (benchmarks/README.md).
    """
    return threadpool_limits(limits=1, user_api="openmp")


def _as_points(X: Any) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(X, dtype=np.float64))


def _squared_distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances, shape ``(n_points, n_centers)``, without an (n, k, d) intermediate."""
    X = _as_points(X)
    squared = (X**2).sum(axis=1)[:, None] + (centers**2).sum(axis=1)[None, :] - 2 * X @ centers.T
    return np.maximum(squared, 0.0)


# Profiles closer than this in every coordinate count as the same (float noise of identical comments).
_SAME_PROFILE_DECIMALS = 6


def distinct_profiles(X: np.ndarray) -> int:
    """How many different points ``X`` holds (identical profiles cannot be told apart by any k)."""
    return len(np.unique(np.round(np.asarray(X, dtype=np.float64), _SAME_PROFILE_DECIMALS), axis=0))


def _found_fewer_than_k(labels: np.ndarray, k: int) -> list[str]:
    """A note when a fit delivered fewer segments than asked (near-identical profiles)."""
    found = int(labels.max()) + 1 if len(labels) else 0
    if found >= k:
        return []
    return [f"only {found} segments could be told apart among these users, not the k={k} asked for"]


def _fewer_distinct_than_k(X: np.ndarray, k: int) -> tuple[int, list[str]]:
    """The k that can be delivered on ``X`` and a note saying why it is below the k asked for."""
    distinct = distinct_profiles(X)
    if distinct >= k:
        return k, []
    return max(distinct, 1), [
        f"only {distinct} distinct user profile{'s' if distinct != 1 else ''} among {len(X):,} users, so "
        f"{max(distinct, 1)} segment{'s' if distinct != 1 else ''} instead of the k={k} asked for"
    ]


class _CentroidPredict:
    """``predict`` by the nearest segment mean, shared by the k-means-like clusterers."""

    centers_: np.ndarray

    def segment_distances(self, X: np.ndarray) -> np.ndarray:
        """Euclidean distance of each point to each segment's mean, shape ``(n_points, n_segments)``."""
        return np.sqrt(_squared_distances(X, self.centers_))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The segment of each new point in ``X`` (same space as ``fit``): the nearest segment mean."""
        return self.segment_distances(X).argmin(axis=1).astype(np.int64)


def _single(X: np.ndarray) -> np.ndarray:
    """``X`` in float32 for scikit-learn's k-means: about 3x faster than float64 at 10,000 × 50, and the
    profiles and PCA spaces it clusters are float32 to begin with."""
    return X.astype(np.float32)


@register
class KMeansClusterer(_CentroidPredict):
    """k-means with several initialisations (scikit-learn ``KMeans``).

    Parameters
    ----------
    k : int
        Number of segments.
    seed : int
        ``random_state`` of the initialisations.
    n_init : int
        Initialisations kept best-of; 10 by default because with one the agreement with the true groups on
        real user profiles swung from 0.91 to 0.64 NMI across seeds.
    """

    name = "kmeans"
    label = "K-means"
    chooses_k = False
    keeps_tree = False
    default_space = "pca"
    sweep_param = "k"
    settings = ("k", "seed")
    # 3 initialisations per fit in a sweep: 10 per k made k = 2..15 at 10k users take over 10 s.
    quick: ClassVar[dict[str, Any]] = {"n_init": 3}

    def __init__(self, k: int = 8, seed: int = 0, n_init: int = 10) -> None:
        self.k = k
        self.seed = seed
        self.n_init = n_init

    def fit(self, X: np.ndarray) -> KMeansClusterer:
        from sklearn.cluster import KMeans

        X = _as_points(X)
        k, self.notes_ = _fewer_distinct_than_k(X, check_k(self.k, len(X)))
        with _one_openmp_thread(), _quiet():
            model = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.seed).fit(_single(X))
        self.labels_ = relabel_by_size(model.labels_)
        self.centers_ = segment_centers(X, self.labels_)
        self.inertia_ = float(model.inertia_)
        self.notes_ += _found_fewer_than_k(self.labels_, k)
        self.notes_.append(f"k-means with k={k}, best of {self.n_init} initialisations (seed {self.seed})")
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
    chooses_k = False
    keeps_tree = False
    default_space = "pca"
    sweep_param = "k"
    settings = ("k", "seed")
    quick: ClassVar[dict[str, Any]] = {"n_init": 1}

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


@register
class AgglomerativeClusterer:
    """Bottom-up merging (Ward, average or complete linkage, Euclidean) whose tree is cut at ``k``.

    Up to ``exact_limit`` points the exact scipy linkage runs over the points (its distance matrix grows
    with the square of n: 20,000 points took 3.3 GB). Above it, the points are first summarised by
    ``n_micro`` k-means micro-clusters and the linkage runs over their centroids, each centroid weighted by
    its size for Ward and average linkage (complete linkage has no notion of weight); every point then
    takes its micro-cluster's segment. ``notes_`` says which path ran.

    Parameters
    ----------
    k : int
        Number of segments ``fit`` cuts the tree into; :meth:`cut` cuts it anywhere else without refitting.
    linkage : {"ward", "average", "complete"}
    seed : int
        ``random_state`` of the micro-clusters.
    exact_limit : int
        Largest number of points linked exactly.
    n_micro : int
        Number of micro-clusters above ``exact_limit``.

    Attributes
    ----------
    tree_ : ndarray of shape (n_leaves - 1, 4)
        scipy linkage matrix over the points, or over the micro-clusters.
    micro_labels_ : ndarray of shape (n_points,) or None
        Leaf of the tree each point belongs to on the micro-cluster path; ``None`` on the exact path.
    """

    name = "agglomerative"
    label = "Agglomerative (hierarchical)"
    chooses_k = False
    keeps_tree = True
    default_space = "pca"
    sweep_param = "k"
    settings = ("k", "linkage", "seed")
    quick: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        k: int = 8,
        linkage: str = "ward",
        seed: int = 0,
        exact_limit: int = 5000,
        n_micro: int = 1000,
    ) -> None:
        self.k = k
        self.linkage = linkage
        self.seed = seed
        self.exact_limit = exact_limit
        self.n_micro = n_micro

    def fit(self, X: np.ndarray) -> AgglomerativeClusterer:
        if self.linkage not in LINKAGES:
            raise ConfigError(f"unknown linkage {self.linkage!r}; choose one of: {', '.join(LINKAGES)}")
        X = _as_points(X)
        check_k(self.k, len(X))
        self._X = X
        if len(X) <= self.exact_limit:
            self.tree_ = hierarchy.linkage(X, method=self.linkage, metric="euclidean")
            self.micro_labels_ = None
            # On the exact path every point is a leaf of its own.
            self._leaves, self._leaf_sizes = X, np.ones(len(X))
            self._path_notes = [f"{self.linkage} linkage over all {len(X):,} users"]
        else:
            centroids, sizes, self.micro_labels_ = _micro_clusters(X, self.n_micro, self.seed)
            self._leaves, self._leaf_sizes = centroids, sizes.astype(np.float64)
            self.tree_ = weighted_linkage(centroids, sizes, self.linkage)
            weighting = "" if self.linkage == "complete" else ", weighted by their sizes"
            self._path_notes = [
                f"{self.linkage} linkage on {len(centroids):,} k-means micro-clusters{weighting}, because "
                f"{len(X):,} users exceed the exact limit of {self.exact_limit:,}; each user takes the "
                "segment of its micro-cluster"
            ]
        self._set_cut(self.k)
        return self

    def at(self, k: int) -> AgglomerativeClusterer:
        """A copy of this fitted clusterer cut at ``k`` segments (``labels_``, ``centers_``, ``predict``), no refit."""
        cut = copy.copy(self)
        cut.k = k
        cut._set_cut(k)
        return cut

    def _set_cut(self, k: int) -> None:
        k, notes = _fewer_distinct_than_k(self._X, check_k(k, len(self._X)))
        self.labels_ = self.cut(k) if k >= 2 else np.zeros(len(self._X), dtype=np.int64)
        self.centers_ = segment_centers(self._X, self.labels_)
        self.notes_ = notes + self._path_notes

    def segment_distances(self, X: np.ndarray) -> np.ndarray:
        """The linkage's merge cost of each new point with each segment, shape ``(n_points, n_segments)``.

        Ward: the rise in the within-segment sum of squares, ``sqrt(n/(n+1)) * ||x - mean||``; average: the
        mean distance to the segment's leaves (points, or micro-clusters weighted by size); complete: the
        largest distance to them. A new point thus joins the segment it would have been merged into.
        """
        leaf_segment = self.labels_ if self.micro_labels_ is None else _leaf_segments(self.micro_labels_, self.labels_)
        k = int(self.labels_.max()) + 1
        if self.linkage == "ward":
            sizes = np.bincount(self.labels_, minlength=k).astype(np.float64)
            return np.sqrt(_squared_distances(X, self.centers_) * (sizes / (sizes + 1))[None, :])
        distances = np.sqrt(_squared_distances(X, self._leaves))
        out = np.empty((len(distances), k))
        for segment in range(k):
            members = leaf_segment == segment
            if self.linkage == "average":
                weights = self._leaf_sizes[members]
                out[:, segment] = distances[:, members] @ weights / weights.sum()
            else:
                out[:, segment] = distances[:, members].max(axis=1)
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The segment each new point in ``X`` would have been merged into (see :meth:`segment_distances`)."""
        return self.segment_distances(X).argmin(axis=1).astype(np.int64)

    def cut(self, k: int) -> np.ndarray:
        """Labels per point for ``k`` segments, from the tree built by :meth:`fit` (no refit)."""
        n_leaves = len(self.tree_) + 1
        k = check_k(k, len(self._X))
        if k > n_leaves:
            raise ConfigError(
                f"k={k} is larger than the {n_leaves} micro-clusters the tree was built on; "
                f"choose k ≤ {n_leaves}"
            )
        leaf_labels = cut_tree(self.tree_, k)
        labels = leaf_labels if self.micro_labels_ is None else leaf_labels[self.micro_labels_]
        return relabel_by_size(labels)


@register
class HDBSCANClusterer:
    """Density-based segments (the ``hdbscan`` package): the number of segments is found, not chosen.

    Parameters
    ----------
    min_cluster_size : int
        Smallest group that counts as a segment.
    min_samples : int or None
        How conservative the density estimate is; ``None`` means ``min_cluster_size``. Smaller values
        leave fewer users as noise.
    noise : {"keep", "nearest"}
        ``"keep"`` leaves noise users at ``-1``; ``"nearest"`` gives each one the segment whose centroid is
        closest (in ``metric``). When no segment is found every user stays ``-1`` whatever the policy, and
        ``notes_`` says so. ``n_noise_`` counts the users hdbscan called noise, before the policy.
    metric : {"euclidean", "cosine"}
        Distance in the clustering space; cosine runs as Euclidean on L2-normalised rows, which orders
        neighbours the same way and keeps hdbscan's fast tree algorithms.
    cluster_selection : {"eom", "leaf"}
        hdbscan's ``cluster_selection_method``: ``"eom"`` keeps the most persistent clusters and can leave
        one huge segment; ``"leaf"`` takes the finest ones (more, smaller, more homogeneous segments).

    Attributes
    ----------
    validity_ : float
        hdbscan's density-based cluster validity (DBCV, ``relative_validity_``) of the clusters found,
        NaN when there are fewer than two; it scores density clusters where the silhouette cannot.
    """

    name = "hdbscan"
    label = "HDBSCAN (finds the number of segments)"
    chooses_k = True
    keeps_tree = False
    default_space = "umap"
    sweep_param = "min_cluster_size"
    settings = ("min_cluster_size", "min_samples", "noise", "cluster_selection")
    quick: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        min_cluster_size: int = 15,
        min_samples: int | None = None,
        noise: str = "keep",
        metric: str = "euclidean",
        cluster_selection: str = "eom",
    ) -> None:
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.noise = noise
        self.metric = metric
        self.cluster_selection = cluster_selection

    def fit(self, X: np.ndarray) -> HDBSCANClusterer:
        if self.noise not in NOISE_POLICIES:
            known = ", ".join(NOISE_POLICIES)
            raise ConfigError(f"unknown noise policy {self.noise!r}; choose one of: {known}")
        if self.metric not in ("euclidean", "cosine"):
            raise ConfigError(f"unknown metric {self.metric!r} for hdbscan; choose euclidean or cosine")
        if self.cluster_selection not in CLUSTER_SELECTIONS:
            raise ConfigError(
                f"unknown cluster selection {self.cluster_selection!r}; choose one of: {', '.join(CLUSTER_SELECTIONS)}"
            )
        if int(self.min_cluster_size) < 2:
            raise ConfigError(f"min_cluster_size={self.min_cluster_size} is too small; choose 2 or more")
        X = self._points(X)
        n = len(X)
        self.notes_ = []
        self._model = None
        self.validity_ = float("nan")
        if n <= int(self.min_cluster_size):
            raw = np.full(n, -1, dtype=np.int64)
        elif distinct_profiles(X) == 1:
            raw = np.zeros(n, dtype=np.int64)
            self.notes_.append(f"all {n:,} users have the same profile: they form one segment")
        else:
            import hdbscan

            min_samples = None if self.min_samples is None else min(int(self.min_samples), n - 1)
            self._model = hdbscan.HDBSCAN(
                min_cluster_size=int(self.min_cluster_size),
                min_samples=min_samples,
                metric="euclidean",
                cluster_selection_method=self.cluster_selection,
                prediction_data=True,
                gen_min_span_tree=True,
            ).fit(X)
            raw = self._model.labels_
        labels = relabel_by_size(raw)
        # hdbscan's own cluster ids → ours (ours are renumbered by size), for approximate_predict.
        self._renumber = {int(r): int(o) for r, o in zip(raw, labels, strict=True) if r >= 0}
        n_segments = int(labels.max()) + 1
        n_noise = int((labels < 0).sum())
        self.n_noise_ = n_noise
        if n_segments == 0:
            self.notes_.append(
                f"hdbscan found no segment: all {n:,} users are noise; try a smaller min_cluster_size "
                f"than {self.min_cluster_size}"
            )
        else:
            self.notes_.append(
                f"hdbscan found {n_segments} segments and left {n_noise:,} of {n:,} users "
                f"({n_noise / n:.1%}) as noise"
            )
        if n_segments >= 2 and self._model is not None:
            self.validity_ = float(self._model.relative_validity_)
        self.centers_ = segment_centers(X, labels)
        if self.noise == "nearest" and n_segments and n_noise:
            noisy = labels < 0
            labels[noisy] = _squared_distances(X[noisy], self.centers_).argmin(axis=1)
            self.notes_.append(f"{n_noise:,} noise users were given the segment with the nearest centroid")
            self.centers_ = segment_centers(X, labels)
        self.labels_ = labels
        return self

    def _points(self, X: np.ndarray) -> np.ndarray:
        X = _as_points(X)
        if self.metric == "cosine":
            X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
        return X

    def segment_distances(self, X: np.ndarray) -> np.ndarray:
        """Euclidean distance of each point to each segment's mean, shape ``(n_points, n_segments)``."""
        return np.sqrt(_squared_distances(self._points(X), self.centers_))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Segments of new points by hdbscan's ``approximate_predict``: a point outside every dense region
        is noise (``-1``), or, with ``noise="nearest"``, takes the segment with the nearest centroid."""
        X = self._points(X)
        labels = np.full(len(X), -1, dtype=np.int64)
        if self._model is not None and self._renumber:
            import hdbscan

            raw, _ = hdbscan.approximate_predict(self._model, X)
            labels = np.array([self._renumber.get(int(r), -1) for r in raw], dtype=np.int64)
        if self.noise == "nearest" and len(self.centers_):
            noisy = labels < 0
            labels[noisy] = _squared_distances(X[noisy], self.centers_).argmin(axis=1)
        return labels


def _leaf_segments(micro_labels: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The segment of each micro-cluster (all its points share it)."""
    out = np.empty(int(micro_labels.max()) + 1, dtype=np.int64)
    out[micro_labels] = labels
    return out


def _micro_clusters(X: np.ndarray, n_micro: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Summarise ``X`` by up to ``n_micro`` centroids; returns (centroids, sizes, micro label per point).

    Random initialisation and 20 Lloyd iterations: micro-clusters only need to cover the data, and
    k-means++ seeding of 1,000 centres alone took most of a minute at 50,000 × 384.
    """
    from sklearn.cluster import KMeans

    with _one_openmp_thread():
        model = KMeans(n_clusters=n_micro, init="random", n_init=1, max_iter=20, random_state=seed).fit(_single(X))
    # k-means can leave a centre empty (duplicates): keep only occupied ones and recompute the means.
    _, micro = np.unique(model.labels_, return_inverse=True)
    return segment_centers(X, micro), np.bincount(micro), micro


def weighted_linkage(centroids: np.ndarray, sizes: np.ndarray, method: str) -> np.ndarray:
    """Linkage over weighted points, as if each centroid stood for ``sizes[i]`` identical points.

    Lance–Williams updates on a dense distance matrix (fine for the ~1,000 micro-clusters it is used on).
    Heights follow scipy's conventions, so a dendrogram reads the same on both paths: for Ward the height
    of merging A and B is ``sqrt(2 nA nB / (nA + nB)) * ||cA - cB||``.

    Returns
    -------
    ndarray of shape (m - 1, 4)
        scipy linkage matrix: the two merged ids, the height, the number of original points below.
    """
    m = len(centroids)
    sizes = sizes.astype(np.float64)
    sq = (centroids**2).sum(axis=1)
    dist2 = np.maximum(sq[:, None] + sq[None, :] - 2 * centroids @ centroids.T, 0.0)
    if method == "ward":
        # Work with squared Ward heights: the Lance–Williams Ward update is exact in that form.
        d = 2 * sizes[:, None] * sizes[None, :] / (sizes[:, None] + sizes[None, :]) * dist2
    else:
        d = np.sqrt(dist2)
    np.fill_diagonal(d, np.inf)
    ids = np.arange(m)
    tree = np.zeros((m - 1, 4))
    for step in range(m - 1):
        a, b = np.unravel_index(np.argmin(d), d.shape)
        a, b = min(a, b), max(a, b)
        na, nb = sizes[a], sizes[b]
        if method == "ward":
            height = np.sqrt(d[a, b])
            merged = ((na + sizes) * d[a] + (nb + sizes) * d[b] - sizes * d[a, b]) / (na + nb + sizes)
        elif method == "average":
            height = d[a, b]
            merged = (na * d[a] + nb * d[b]) / (na + nb)
        else:
            height = d[a, b]
            merged = np.maximum(d[a], d[b])
        tree[step] = (min(ids[a], ids[b]), max(ids[a], ids[b]), height, na + nb)
        # The merged cluster lives on in row a; row b is retired.
        d[a, :] = merged
        d[:, a] = merged
        d[a, a] = np.inf
        d[b, :] = np.inf
        d[:, b] = np.inf
        sizes[a] = na + nb
        ids[a] = m + step
    return tree


def cut_tree(tree: np.ndarray, k: int) -> np.ndarray:
    """Leaf labels (not renumbered) after undoing the last ``k - 1`` merges of a scipy linkage matrix.

    Unlike ``fcluster(..., "maxclust")`` this always yields exactly ``k`` groups, even with tied heights.
    """
    n = len(tree) + 1
    parent = np.arange(2 * n - 1)
    merges = tree[: n - k, :2].astype(np.int64)
    parent[merges[:, 0]] = n + np.arange(n - k)
    parent[merges[:, 1]] = n + np.arange(n - k)
    # Pointer jumping: every node ends up pointing at the root of its group in O(log depth) passes.
    while True:
        jumped = parent[parent]
        if np.array_equal(jumped, parent):
            break
        parent = jumped
    return parent[:n]
