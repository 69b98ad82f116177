"""How good is a segmentation: silhouette, Calinski–Harabasz, Davies–Bouldin, inertia, and sweeps over k.

Every score is computed in the clustering space the labels came from, with Euclidean distance, and
leaves noise users (label ``-1``) out.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.metrics import (
    calinski_harabasz_score,
    davies_bouldin_score,
    pairwise_distances,
    silhouette_score,
)

from segmentation.clustering import AgglomerativeClusterer, make_clusterer, segment_centers
from segmentation.errors import ConfigError

SWEEP_COLUMNS = ["k", "silhouette", "calinski_harabasz", "davies_bouldin", "inertia"]
SIZE_SWEEP_COLUMNS = [
    "min_cluster_size", "n_segments", "noise_share", "silhouette", "calinski_harabasz", "davies_bouldin",
]
# Rows of the pairwise-distance block computed at once by silhouette_values (bounds its memory).
_CHUNK_CELLS = 20_000_000


def quality(
    X: np.ndarray, labels: np.ndarray, *, sample_size: int = 5000, seed: int = 0, silhouette: float | None = None
) -> dict:
    """Scores of one segmentation.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The clustering space.
    labels : ndarray of shape (n_samples,)
        Segments ``0..k-1``; ``-1`` (noise) is left out of every score.
    sample_size : int
        Above this many non-noise points the silhouette is the mean over a random sample of that size
        (full silhouette costs O(n²): 65 s at 50k, 0.4 s sampled).
    seed : int
        Seed of that sample.
    silhouette : float, optional
        The mean silhouette when the caller already has it (from :func:`silhouette_values`), so the
        distances are not computed twice.

    Returns
    -------
    dict
        ``silhouette``, ``calinski_harabasz``, ``davies_bouldin`` (NaN with fewer than 2 segments),
        ``inertia`` (sum of squared distances to the segment means; NaN without any segment),
        ``n_segments`` and ``n_noise``.
    """
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    kept = labels >= 0
    Xk, lk = X[kept], labels[kept]
    n_segments = len(np.unique(lk))
    scores = {"silhouette": np.nan, "calinski_harabasz": np.nan, "davies_bouldin": np.nan}
    if 2 <= n_segments < len(lk):
        sample = _sample(len(lk), sample_size, seed)
        if silhouette is not None:
            scores["silhouette"] = float(silhouette)
        elif 2 <= len(np.unique(lk[sample])) < len(sample):
            scores["silhouette"] = float(silhouette_score(Xk[sample], lk[sample]))
        scores["calinski_harabasz"] = float(calinski_harabasz_score(Xk, lk))
        scores["davies_bouldin"] = float(davies_bouldin_score(Xk, lk))
    return {
        **scores,
        "inertia": _inertia(Xk, lk) if n_segments else np.nan,
        "n_segments": int(n_segments),
        "n_noise": int((~kept).sum()),
    }


def silhouette_values(
    X: np.ndarray, labels: np.ndarray, *, max_points: int = 10_000, seed: int = 0
) -> np.ndarray:
    """Silhouette of each point, against all non-noise points.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    labels : ndarray of shape (n_samples,)
    max_points : int
        At most this many points get a value (a random sample of them above it); the work is
        ``max_points × n`` distances, computed in bounded chunks.
    seed : int
        Seed of that sample.

    Returns
    -------
    ndarray of shape (n_samples,)
        NaN for noise, for points outside the sample and when there are fewer than 2 segments; 0 for a
        point alone in its segment (as scikit-learn does).
    """
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    out = np.full(len(labels), np.nan)
    kept = np.flatnonzero(labels >= 0)
    _, segment = np.unique(labels[kept], return_inverse=True)
    k = int(segment.max()) + 1 if len(kept) else 0
    if k < 2:
        return out
    Xk = X[kept]
    counts = np.bincount(segment, minlength=k).astype(np.float64)
    membership = sparse.csr_matrix(
        (np.ones(len(kept)), (np.arange(len(kept)), segment)), shape=(len(kept), k)
    )
    targets = np.sort(_sample(len(kept), max_points, seed))
    chunk = max(1, _CHUNK_CELLS // len(kept))
    values = np.empty(len(targets))
    for start in range(0, len(targets), chunk):
        rows = targets[start : start + chunk]
        sums = np.asarray((membership.T @ pairwise_distances(Xk, Xk[rows])).T)
        own = segment[rows]
        r = np.arange(len(rows))
        own_others = counts[own] - 1
        a = sums[r, own] / np.maximum(own_others, 1)
        means = sums / counts
        means[r, own] = np.inf
        b = means.min(axis=1)
        denominator = np.maximum(a, b)
        s = np.divide(b - a, denominator, out=np.zeros_like(a), where=denominator > 0)
        values[start : start + chunk] = np.where(own_others > 0, s, 0.0)
    out[kept[targets]] = values
    return out


def k_sweep(
    X: np.ndarray,
    algorithm: str,
    ks: Iterable[int] = range(2, 16),
    *,
    seed: int = 0,
    linkage: str = "ward",
    sample_size: int = 5000,
    n_init: int = 3,
) -> pd.DataFrame:
    """Quality for each number of segments k, to choose k.

    Agglomerative builds its tree once and cuts it at every k. k-means and bisecting k-means refit per k
    with ``n_init`` initialisations, fewer than the 10 of a final k-means fit: the sweep only ranks the
    ks, and 10 per k made k = 2..15 at 10k points take over 10 s. The silhouette uses one sample of
    ``sample_size`` points for every k, with its distance matrix computed once, so the values are
    comparable across k and equal to :func:`quality`'s for the same seed.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The clustering space.
    algorithm : str
        A k-based clusterer name ("kmeans", "agglomerative", "bisecting").
    ks : iterable of int
        Values of k; those outside ``2..n_samples - 1`` (where the silhouette is undefined) are skipped.
    seed, linkage : passed to the clusterer.
    sample_size : int
        Silhouette sample size.
    n_init : int
        Initialisations per k for k-means and bisecting k-means.

    Returns
    -------
    DataFrame
        Columns ``k, silhouette, calinski_harabasz, davies_bouldin, inertia``, one row per usable k
        (empty when none is).

    Raises
    ------
    ConfigError
        For an algorithm that does not take k (hdbscan: use :func:`min_cluster_size_sweep`).
    """
    if algorithm == "hdbscan":
        raise ConfigError("hdbscan finds the number of segments itself; sweep min_cluster_size instead of k")
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    ks = sorted({int(k) for k in ks if 2 <= int(k) <= n - 1})
    if not ks:
        return pd.DataFrame(columns=SWEEP_COLUMNS)
    sample = _sample(n, sample_size, seed)
    distances = pairwise_distances(X[sample])
    if algorithm == "agglomerative":
        tree = AgglomerativeClusterer(k=ks[0], linkage=linkage, seed=seed).fit(X)
        labelings = (tree.cut(k) for k in ks)
    else:
        labelings = (make_clusterer(algorithm, k=k, seed=seed, n_init=n_init).fit(X).labels_ for k in ks)
    rows = []
    for k, labels in zip(ks, labelings, strict=True):
        sampled = labels[sample]
        silhouette = (
            float(silhouette_score(distances, sampled, metric="precomputed"))
            if 2 <= len(np.unique(sampled)) < len(sample)
            else np.nan
        )
        rows.append(
            {
                "k": k,
                "silhouette": silhouette,
                "calinski_harabasz": float(calinski_harabasz_score(X, labels)),
                "davies_bouldin": float(davies_bouldin_score(X, labels)),
                "inertia": _inertia(X, labels),
            }
        )
    return pd.DataFrame(rows, columns=SWEEP_COLUMNS)


def min_cluster_size_sweep(
    X: np.ndarray,
    sizes: Iterable[int],
    *,
    seed: int = 0,
    min_samples: int | None = None,
    noise: str = "keep",
    sample_size: int = 5000,
) -> pd.DataFrame:
    """HDBSCAN's counterpart of :func:`k_sweep`: quality for each ``min_cluster_size``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    sizes : iterable of int
        Values of ``min_cluster_size`` (each at least 2).
    seed : int
        Seed of the silhouette sample.
    min_samples, noise : passed to the clusterer.
    sample_size : int

    Returns
    -------
    DataFrame
        Columns ``min_cluster_size, n_segments, noise_share, silhouette, calinski_harabasz,
        davies_bouldin``. ``noise_share`` is the share of points hdbscan called noise, before the noise
        policy; the scores are those of the labels the policy produced (noise excluded).
    """
    X = np.asarray(X, dtype=np.float64)
    rows = []
    for size in sizes:
        clusterer = make_clusterer(
            "hdbscan", min_cluster_size=int(size), min_samples=min_samples, noise=noise
        ).fit(X)
        scores = quality(X, clusterer.labels_, sample_size=sample_size, seed=seed)
        rows.append(
            {
                "min_cluster_size": int(size),
                "n_segments": scores["n_segments"],
                "noise_share": clusterer.n_noise_ / len(X) if len(X) else np.nan,
                "silhouette": scores["silhouette"],
                "calinski_harabasz": scores["calinski_harabasz"],
                "davies_bouldin": scores["davies_bouldin"],
            }
        )
    return pd.DataFrame(rows, columns=SIZE_SWEEP_COLUMNS)


def best_k(table: pd.DataFrame) -> int:
    """The k with the highest silhouette in a :func:`k_sweep` table (ties: the smaller k).

    Raises
    ------
    ConfigError
        If no row has a silhouette (too few users to compare segmentations).
    """
    scored = table.dropna(subset=["silhouette"])
    if scored.empty:
        raise ConfigError("no k could be scored: the data has too few users to compare segmentations")
    best = scored.sort_values(["silhouette", "k"], ascending=[False, True], kind="stable")
    return int(best["k"].iloc[0])


def _sample(n: int, size: int, seed: int) -> np.ndarray:
    """All of ``range(n)``, or ``size`` of them drawn without replacement (sorted, reproducible)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def _inertia(X: np.ndarray, labels: np.ndarray) -> float:
    """Sum of squared distances of each point to its segment's mean."""
    _, segment = np.unique(labels, return_inverse=True)
    return float(((X - segment_centers(X, segment)[segment]) ** 2).sum())
