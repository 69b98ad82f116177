"""Users → segments: what every clusterer is (its protocol), the registry, and the helpers they share.

Every clusterer stores its parameters in ``__init__``, does the work in ``fit(X)`` (which returns ``self``)
and leaves ``labels_`` (int, ``-1`` = noise, segments numbered ``0..k-1`` by descending size),
``notes_`` (plain sentences saying what was done) and ``centers_`` (segment means in the clustering space);
``predict(X)`` places new points in the fitted segments.

What differs between algorithms is declared on the class (:class:`Clusterer`'s class attributes), so the
pipeline, the sweeps and the pages ask the class instead of comparing algorithm names.

The clusterers live one family per module (:mod:`~segmentation.cluster.kmeans`,
:mod:`~segmentation.cluster.agglomerative`, :mod:`~segmentation.cluster.density`); each imports this module
and registers its classes, and the package's ``__init__`` imports every family, so :data:`CLUSTERERS` is full
whichever module is imported first.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, Protocol

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

from segmentation.core.constraints import MAX_K, Interval, Options
from segmentation.core.errors import ConfigError
from segmentation.core.params import AUTO, Param

# The range ``k="auto"`` chooses in: fewer than 3 segments rarely gives a marketer anything to act on,
# more than 12 is more than one can name and tell apart.
K_MIN, K_MAX = 3, 12

K = Param(
    "k",
    (Interval(int, 2, MAX_K), Options((AUTO,))),
    AUTO,
    "number of segments, or 'auto': the k that comes back most reliably when the users are resampled, "
    "and among those the best separated",
    label="Number of segments (k)",
    key="seg_k",
    widget="slider",
    auto_key="seg_auto_k",
    auto_label="Choose k automatically",
    auto_help="Takes the number of segments that comes back most reliably when the users are resampled, and "
              "among those the best separated.",
    shown=6,
    most=20,
    only_one="Two users: two segments.",
)
"""k, shared by every clusterer that is told its number of segments (declared here once)."""


class Clusterer(Protocol):
    """What every registered clusterer is: its capabilities as class attributes, then fit and predict.

    Attributes
    ----------
    name : str
        Registry key, used in configs, the CLI and saved runs.
    label : str
        What the app calls it.
    order : int
        Its place in the app's list of algorithms (smallest first).
    parameters : tuple of Param
        The run settings of its own (``k``, ``linkage``...), declared once: the config's checks, the CLI's
        flags and the page's widgets are derived from them.
    chooses_k : bool
        True when the algorithm finds the number of segments itself (no ``k`` parameter).
    keeps_tree : bool
        True when a fit keeps a tree that :meth:`cut` re-cuts at any k without refitting.
    default_space : str
        Clustering space used when the reduction is ``"auto"`` (see ``projection.METHODS``).
    sweep_param : str
        The parameter a sweep varies: ``"k"`` or ``"min_cluster_size"``.
    settings : tuple of str
        The run settings the class takes: its ``parameters`` and ``seed`` when its ``__init__`` takes one
        (set by :func:`register`).
    takes_starts : bool
        True when its ``__init__`` takes ``starts``: segment centres found by other fits (the resamples')
        that ``fit`` tries beside its own initialisations, keeping the lowest inertia (set by :func:`register`).
    """

    name: ClassVar[str]
    label: ClassVar[str]
    order: ClassVar[int]
    parameters: ClassVar[tuple[Param, ...]]
    chooses_k: ClassVar[bool]
    keeps_tree: ClassVar[bool]
    default_space: ClassVar[str]
    sweep_param: ClassVar[str]
    settings: ClassVar[tuple[str, ...]]
    takes_starts: ClassVar[bool]
    labels_: np.ndarray
    centers_: np.ndarray
    notes_: list[str]

    def fit(self, X: np.ndarray) -> Clusterer: ...

    def predict(self, X: np.ndarray) -> np.ndarray: ...

    def segment_distances(self, X: np.ndarray) -> np.ndarray: ...


CLUSTERERS: dict[str, type[Clusterer]] = {}


# Settings every run has that a clusterer may take besides its own parameters.
COMMON_SETTINGS = ("seed",)


def register(cls: type[Clusterer]) -> type[Clusterer]:
    """Class decorator that adds a clusterer to :data:`CLUSTERERS` under its ``name``.

    Sets ``cls.settings`` from its ``parameters`` and the common settings its ``__init__`` takes, and
    ``cls.takes_starts`` from whether its ``__init__`` takes ``starts``.
    """
    accepted = set(inspect.signature(cls.__init__).parameters)
    cls.settings = tuple(p.name for p in cls.parameters) + tuple(n for n in COMMON_SETTINGS if n in accepted)
    cls.takes_starts = "starts" in accepted
    CLUSTERERS[cls.name] = cls
    return cls


def algorithms() -> list[str]:
    """The registered algorithms in the app's order (each class's ``order``)."""
    return sorted(CLUSTERERS, key=lambda name: (CLUSTERERS[name].order, name))


def clusterer_parameters() -> list[Param]:
    """Every registered clusterer's parameters, each once (``k`` is shared), in the registry's order.

    Raises
    ------
    ConfigError
        When two clusterers declare the same name differently (one name must mean one thing).
    """
    found: dict[str, Param] = {}
    for name in algorithms():
        for param in CLUSTERERS[name].parameters:
            if found.setdefault(param.name, param) != param:
                raise ConfigError(f"internal: {name} declares {param.name!r} unlike another clusterer")
    return list(found.values())


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
    return _build(clusterer_class(algorithm), params)


def from_settings(cls: type[Clusterer], settings: Mapping[str, Any], **params: Any) -> Clusterer:
    """Build ``cls`` (resolved once by the caller) from a run's settings, only those the class declares,
    and explicit ``params``."""
    chosen = {name: settings[name] for name in cls.settings if name in settings}
    return _build(cls, {**chosen, **params})


def _build(cls: type[Clusterer], params: Mapping[str, Any]) -> Clusterer:
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ConfigError(
            f"{cls.name} does not take {', '.join(unknown)}; its parameters are {', '.join(sorted(accepted))}"
        )
    return cls(**params)


def fit_on(
    space: np.ndarray,
    cls: type[Clusterer],
    settings: Mapping[str, Any],
    *,
    k: int | None = None,
    trees: dict | None = None,
    starts: Sequence[np.ndarray] | None = None,
) -> Clusterer:
    """Fit the configured clusterer ``cls`` on ``space``: the one place that knows about trees.

    Parameters
    ----------
    space : ndarray of shape (n_samples, n_features)
    cls : Clusterer class
        The run's algorithm, resolved once by the caller (:func:`clusterer_class`).
    settings : mapping
        Run settings (a resolved config's ``to_dict()``); only those the class declares are used.
    k : int, optional
        Overrides ``settings["k"]`` (a sweep's or a resample's k); ignored by a class that ``chooses_k``.
    trees : dict, optional
        Trees already fitted on this same ``space`` (or on a sample of it: keyed by the number of users), kept
        between calls: a class that ``keeps_tree`` cuts the kept tree at ``k`` instead of refitting, and keeps
        a new one there.
    starts : sequence of ndarray of shape (k, n_features), optional
        Segment centres found by other fits, tried beside the class's own initialisations by a class that
        ``takes_starts`` (ignored by the others).

    Returns
    -------
    Clusterer
        Fitted (for a tree: a copy cut at ``k``).
    """
    params: dict[str, Any] = {} if k is None or cls.chooses_k else {"k": k}
    if starts is not None and cls.takes_starts:
        params["starts"] = list(starts)
    if not cls.keeps_tree:
        return from_settings(cls, settings, **params).fit(space)
    key = (cls.name, len(space), *(settings.get(name) for name in cls.settings if name != "k"))
    tree = trees.get(key) if trees is not None else None
    if tree is None:
        tree = from_settings(cls, settings, **params).fit(space)
        if trees is not None:
            trees[key] = tree
    return tree.at(k if k is not None else settings["k"])


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


def _fewer_distinct_than_k(X: np.ndarray, k: int) -> tuple[int, list[str]]:
    """The k that can be delivered on ``X`` and a note saying why it is below the k asked for."""
    distinct = distinct_profiles(X)
    if distinct >= k:
        return k, []
    return max(distinct, 1), [
        f"only {distinct} distinct user profile{'s' if distinct != 1 else ''} among {len(X):,} users, so "
        f"{max(distinct, 1)} segment{'s' if distinct != 1 else ''} instead of the k={k} asked for"
    ]


def _single(X: np.ndarray) -> np.ndarray:
    """``X`` in float32 for scikit-learn's k-means: about 3x faster than float64 at 10,000 × 50, and the
    profiles and PCA spaces it clusters are float32 to begin with."""
    return X.astype(np.float32)
