"""Density-based clustering (the ``hdbscan`` package): the number of segments is found, not chosen.

Named ``density`` rather than ``hdbscan`` so that no module of this package can be mistaken for the
``hdbscan`` package it imports.
"""

from __future__ import annotations

import numpy as np

from segmentation.cluster.base import (
    _as_points,
    _squared_distances,
    distinct_profiles,
    register,
    relabel_by_size,
    segment_centers,
)
from segmentation.core.constraints import Interval, Options, validate
from segmentation.core.errors import ConfigError
from segmentation.core.params import AUTO, Param

NOISE_POLICIES = ("keep", "nearest")
CLUSTER_SELECTIONS = ("eom", "leaf")
MIN_CLUSTER_SIZE = Param(
    "min_cluster_size",
    (Interval(int, 2, None), Options((AUTO,))),
    10,
    "HDBSCAN's smallest segment, or 'auto': the size whose segments score best on density-based validity",
    label="Minimum cluster size",
    key="seg_mcs",
    widget="number",
    auto_key="seg_auto_mcs",
    auto_label="Choose the minimum cluster size automatically",
    auto_help="Takes the size whose segments score best on density-based validity (DBCV).",
)
MIN_SAMPLES = Param(
    "min_samples",
    (Interval(int, 1, None), None),
    None,
    "HDBSCAN's density smoothing (default: the minimum cluster size); smaller leaves fewer users as noise",
    label="Density smoothing (min samples)",
    key="seg_min_samples",
    widget="number",
    auto_key="seg_auto_min_samples",
    auto_label="Smooth density as much as the minimum cluster size",
    auto_help="Untick to set HDBSCAN's min_samples: smaller values leave fewer users as noise.",
    shown=5,
)
NOISE = Param(
    "noise",
    (Options(NOISE_POLICIES),),
    "keep",
    "HDBSCAN noise users: keep (as segment -1) | nearest (each joins its nearest segment)",
    label="Noise users",
    key="seg_noise",
    widget="radio",
    option_labels={"keep": "Keep noise users apart (segment -1)", "nearest": "Give each to its nearest segment"},
)
CLUSTER_SELECTION = Param(
    "cluster_selection",
    (Options(CLUSTER_SELECTIONS),),
    "eom",
    "HDBSCAN's segments: eom (most persistent: fewer, larger) | leaf (finest: more, smaller)",
    label="Segments to keep",
    key="seg_selection",
    widget="radio",
    option_labels={"eom": "Most persistent clusters (fewer, larger)", "leaf": "Finest clusters (more, smaller)"},
)


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
    order = 40
    parameters = (MIN_CLUSTER_SIZE, MIN_SAMPLES, NOISE, CLUSTER_SELECTION)
    chooses_k = True
    keeps_tree = False
    default_space = "umap"
    sweep_param = "min_cluster_size"

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
        # The declarations, checked once more for a clusterer built without a config (the size resolved).
        for param in (NOISE, CLUSTER_SELECTION):
            validate(param.name, getattr(self, param.name), list(param.constraints))
        validate(MIN_CLUSTER_SIZE.name, self.min_cluster_size, [MIN_CLUSTER_SIZE.interval])
        if self.metric not in ("euclidean", "cosine"):
            raise ConfigError(f"unknown metric {self.metric!r} for hdbscan; choose euclidean or cosine")
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
