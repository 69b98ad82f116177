"""How good is a segmentation: silhouette, Calinski–Harabasz, Davies–Bouldin and inertia, and the plain
warnings a finished segmentation earns (sweeps over k and the choice of k are in
:mod:`segmentation.cluster.selection`).

Every score is computed in the clustering space the labels came from, with Euclidean distance, and
leaves noise users (label ``-1``) out; ``coverage`` says what share of users the scores speak for, so that
a density method's scores over the half of the users it assigned are never read beside k-means' over all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.metrics import (
    calinski_harabasz_score,
    davies_bouldin_score,
    pairwise_distances,
    silhouette_score,
)

from segmentation.cluster.base import K, segment_centers
from segmentation.cluster.density import CLUSTER_SELECTION, MIN_CLUSTER_SIZE, MIN_SAMPLES, NOISE
from segmentation.core.params import Param

# Rows of the pairwise-distance block computed at once by silhouette_values (bounds its memory).
_CHUNK_CELLS = 20_000_000
# Users whose silhouette is computed (against all users): enough for a knife plot and a stable mean.
SILHOUETTE_SAMPLE = 5000
# Below this mean silhouette the segments are soft: say so.
WEAK_SILHOUETTE = 0.1
# Outcomes that leave a marketer nothing to work with.
DOMINANT_SHARE = 0.8
MOSTLY_NOISE = 0.5
UNSTABLE = 0.6
# From this share of users that a resample's fit places in another segment (``moved_share``), say how many.
# At the automatic k on the real sets (benchmarks/README.md, Seeds): forum users 0.3%, newsgroups 3.3%,
# bloggers 3.6%, recipe reviewers 5.5%, the demo 7.2%; one user in twenty is where a marketer would notice.
MOVED_SHARE = 0.05


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
        ``n_segments``, ``n_noise`` and ``coverage``: the share of users in a segment, the users every
        other score speaks for (1 without noise; 0 without users).
    """
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    kept = labels >= 0
    Xk, lk = X[kept], labels[kept]
    n_segments = len(np.unique(lk))
    scores = {"silhouette": np.nan, "calinski_harabasz": np.nan, "davies_bouldin": np.nan}
    if 2 <= n_segments < len(lk):
        sample = sample_rows(len(lk), sample_size, seed)
        if silhouette is not None:
            scores["silhouette"] = float(silhouette)
        elif 2 <= len(np.unique(lk[sample])) < len(sample):
            scores["silhouette"] = float(silhouette_score(Xk[sample], lk[sample]))
        scores["calinski_harabasz"] = float(calinski_harabasz_score(Xk, lk))
        scores["davies_bouldin"] = float(davies_bouldin_score(Xk, lk))
    return {
        **scores,
        "inertia": inertia(Xk, lk) if n_segments else np.nan,
        "n_segments": int(n_segments),
        "n_noise": int((~kept).sum()),
        "coverage": float(kept.mean()) if len(kept) else 0.0,
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
    targets = np.sort(sample_rows(len(kept), max_points, seed))
    chunk = max(1, _CHUNK_CELLS // len(kept))
    values = np.empty(len(targets))
    for start in range(0, len(targets), chunk):
        rows = targets[start : start + chunk]
        sums = np.asarray((membership.T @ pairwise_distances(Xk, Xk[rows])).T)
        values[start : start + chunk] = _from_sums(sums, segment[rows], counts)
    out[kept[targets]] = values
    return out


def mean_silhouette(distances: np.ndarray, labels: np.ndarray) -> float:
    """The mean silhouette of points from their precomputed pairwise distances, as scikit-learn's
    ``silhouette_score(distances, labels, metric="precomputed")`` gives it.

    One product of the distances with the segment membership gives every point's summed distance to each
    segment: in a k-sweep that reuses one 5,000 × 5,000 sample for every k it took a fifth of the time of
    scikit-learn's, which reduces the matrix in chunks of rows in Python (10k real recipe reviewers).

    Parameters
    ----------
    distances : ndarray of shape (n_samples, n_samples)
    labels : ndarray of shape (n_samples,)
        Segments of the points, at least 2 and fewer than ``n_samples`` distinct values.

    Returns
    -------
    float
    """
    ids, segment = np.unique(np.asarray(labels), return_inverse=True)
    counts = np.bincount(segment, minlength=len(ids)).astype(np.float64)
    membership = sparse.csr_matrix((np.ones(len(segment)), (np.arange(len(segment)), segment)),
                                   shape=(len(segment), len(ids)))
    sums = np.asarray((membership.T @ distances).T)
    return float(_from_sums(sums, segment, counts).mean())


def _from_sums(sums: np.ndarray, own: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Silhouettes of points from their summed distances to each segment (``sums``, one column per segment),
    their own segment's column (``own``) and the segments' sizes (``counts``)."""
    r = np.arange(len(own))
    own_others = counts[own] - 1
    a = sums[r, own] / np.maximum(own_others, 1)
    means = sums / counts
    means[r, own] = np.inf
    b = means.min(axis=1)
    denominator = np.maximum(a, b)
    s = np.divide(b - a, denominator, out=np.zeros_like(a), where=denominator > 0)
    return np.where(own_others > 0, s, 0.0)


@dataclass(frozen=True)
class SilhouetteSums:
    """The sampled users' summed distances to every segment: what :func:`silhouette_values` computes its
    mean from, kept so that an edit's silhouette costs only the distances of the users the edit moves.

    Built by :func:`silhouette_sums`; :meth:`edited` gives the same mean as ``silhouette_values`` on the
    edited labels (same sample, same seed) without the ``max_points × n`` distances: a merge preview on
    13,811 real users took 4.5 s with two full silhouettes.

    Attributes
    ----------
    labels : ndarray of shape (n_samples,)
        The labels the sums are for (``-1`` = noise).
    targets : ndarray of shape (n_targets,)
        The sampled users (indices into ``labels``), drawn among the non-noise users as ``silhouette_values``
        draws them.
    ids : ndarray of shape (n_segments,)
        The segment of each column of ``sums``.
    sums : ndarray of shape (n_targets, n_segments)
        Summed Euclidean distances from each sampled user to every member of each segment.
    """

    labels: np.ndarray
    targets: np.ndarray
    ids: np.ndarray
    sums: np.ndarray

    def mean(self) -> float | None:
        """The mean silhouette of the sampled users; None with fewer than two segments."""
        if len(self.ids) < 2:
            return None
        counts = np.array([(self.labels == i).sum() for i in self.ids], dtype=np.float64)
        own = np.searchsorted(self.ids, self.labels[self.targets])
        return float(_from_sums(self.sums, own, counts).mean())

    def edited(self, X: np.ndarray, after: np.ndarray) -> SilhouetteSums | None:
        """The sums for the labels ``after`` an edit, from the distances of the users it moves only.

        Returns None when the edit moves users into or out of noise: the sample is drawn among the
        non-noise users, so it would not be the same sample (compute ``silhouette_sums`` afresh then).
        """
        after = np.asarray(after)
        if not np.array_equal(self.labels >= 0, after >= 0):
            return None
        ids = np.unique(np.concatenate([self.ids, after[after >= 0]]))
        sums = np.zeros((len(self.targets), len(ids)))
        whole = np.zeros(len(self.labels), dtype=bool)  # users whose whole segment went to one segment
        for column, segment in enumerate(self.ids):
            members = self.labels == segment
            went = np.unique(after[members])
            # A segment that went whole (a merge) takes its column along: no distance to compute.
            if len(went) == 1:
                whole |= members
            sums[:, np.searchsorted(ids, went[0] if len(went) == 1 else segment)] += self.sums[:, column]
        moved = np.flatnonzero((self.labels != after) & ~whole)
        if len(moved):
            shift = sparse.csr_matrix(
                (np.concatenate([np.ones(len(moved)), -np.ones(len(moved))]),
                 (np.tile(np.arange(len(moved)), 2),
                  np.concatenate([np.searchsorted(ids, after[moved]), np.searchsorted(ids, self.labels[moved])]))),
                shape=(len(moved), len(ids)),
            )
            X = np.asarray(X, dtype=np.float64)
            chunk = max(1, _CHUNK_CELLS // len(self.targets))
            for start in range(0, len(moved), chunk):
                part = moved[start : start + chunk]
                sums += np.asarray((shift[start : start + chunk].T @ pairwise_distances(X[part], X[self.targets])).T)
        present = np.isin(ids, after[after >= 0])
        return SilhouetteSums(after, self.targets, ids[present], sums[:, present])


def silhouette_sums(X: np.ndarray, labels: np.ndarray, *, max_points: int = 10_000, seed: int = 0) -> SilhouetteSums:
    """The :class:`SilhouetteSums` of ``labels``: the same sample and distances as :func:`silhouette_values`.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    labels : ndarray of shape (n_samples,)
    max_points, seed : int
        As for :func:`silhouette_values`.
    """
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    kept = np.flatnonzero(labels >= 0)
    ids, segment = np.unique(labels[kept], return_inverse=True)
    targets = np.sort(sample_rows(len(kept), max_points, seed))
    sums = np.zeros((len(targets), len(ids)))
    if len(ids):
        Xk = X[kept]
        membership = sparse.csr_matrix((np.ones(len(kept)), (np.arange(len(kept)), segment)),
                                       shape=(len(kept), len(ids)))
        chunk = max(1, _CHUNK_CELLS // len(kept))
        for start in range(0, len(targets), chunk):
            rows = targets[start : start + chunk]
            sums[start : start + chunk] = np.asarray((membership.T @ pairwise_distances(Xk, Xk[rows])).T)
    return SilhouetteSums(labels, kept[targets], ids, sums)


def sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    """All of ``range(n)``, or ``size`` of them drawn without replacement (sorted, reproducible)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def inertia(X: np.ndarray, labels: np.ndarray) -> float:
    """Sum of squared distances of each point to its segment's mean."""
    _, segment = np.unique(labels, return_inverse=True)
    return float(((X - segment_centers(X, segment)[segment]) ** 2).sum())


def structure_warnings(metrics: dict, labels: np.ndarray, stability: float | None = None,
                       parameters: Sequence[Param] = ()) -> list[str]:
    """Plain warnings about a finished segmentation: soft segments, one giant segment, mostly noise, unstable.

    Parameters
    ----------
    metrics : dict
        From :func:`quality` (its ``silhouette``), with ``moved_share`` where the run measured it
        (:func:`~segmentation.cluster.stability.moved_share`).
    labels : ndarray of shape (n_users,)
    stability : float, optional
        Mean ARI under resampling.
    parameters : sequence of Param
        The clusterer's parameters (``clusterer.parameters``): the advice names only the settings among them,
        by the label the page shows, so a warning never sends the user to a setting they cannot find.

    Returns
    -------
    list of str
    """
    warnings = []
    silhouette = metrics.get("silhouette")
    if silhouette is not None and np.isfinite(silhouette) and silhouette < WEAK_SILHOUETTE:
        warnings.append(
            f"The segments are soft (mean silhouette {silhouette:.2f}, under {WEAK_SILHOUETTE}): users near the "
            "borders could go either way, so read each segment as a tendency, not a hard group."
        )
    labels = np.asarray(labels)
    n = len(labels)
    if n:
        noise = float((labels < 0).mean())
        kept = labels[labels >= 0]
        largest = float(np.bincount(kept).max() / n) if len(kept) else 0.0
        if noise > MOSTLY_NOISE:
            warnings.append(f"{noise:.0%} of users are noise (in no segment)" + _try(parameters, (
                (MIN_CLUSTER_SIZE, f"a smaller “{MIN_CLUSTER_SIZE.label}”"),
                (MIN_SAMPLES, f"a smaller “{MIN_SAMPLES.label}” (untick “{MIN_SAMPLES.auto_label}”)"),
                (NOISE, f"“{NOISE.option_labels['nearest']}” under “{NOISE.label}”"),
            )))
        if largest > DOMINANT_SHARE:
            warnings.append(f"One segment holds {largest:.0%} of users" + _try(parameters, (
                (CLUSTER_SELECTION, f"“{CLUSTER_SELECTION.option_labels['leaf']}” under “{CLUSTER_SELECTION.label}”"),
                (MIN_SAMPLES, f"a smaller “{MIN_SAMPLES.label}” (untick “{MIN_SAMPLES.auto_label}”)"),
                (K, f"a larger “{K.label}” (untick “{K.auto_label}”)"),
            )))
    moved = metrics.get("moved_share")
    moved_words = (
        f"about {moved:.0%} of users land in another segment when the segments are fitted on a resample of the users"
        if moved is not None and np.isfinite(moved) else ""
    )
    if stability is not None and np.isfinite(stability) and stability < UNSTABLE:
        warnings.append(
            f"These segments do not reproduce well (stability {stability:.2f}): "
            + (moved_words or "a resample of the users gives noticeably different segments") + _try(parameters, (
                (K, f"another “{K.label}”"), (MIN_CLUSTER_SIZE, f"another “{MIN_CLUSTER_SIZE.label}”"),
            ))
        )
    elif moved_words and moved >= MOVED_SHARE:
        warnings.append(
            moved_words[0].upper() + moved_words[1:] + ": read the users at a segment's edge as belonging to "
            "either side."
        )
    return warnings


def _try(parameters: Sequence[Param], steps: Sequence[tuple[Param, str]]) -> str:
    """``": try a, b or c."`` from the steps whose parameter is among ``parameters``; ``"."`` when none is."""
    offered = [text for param, text in steps if any(p is param for p in parameters)]
    if not offered:
        return "."
    if len(offered) > 1:
        offered = [", ".join(offered[:-1]), offered[-1]]
    return f": try {' or '.join(offered)}."
