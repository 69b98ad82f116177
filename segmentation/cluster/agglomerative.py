"""Hierarchical clustering: bottom-up merging whose tree is cut at any k, exact or over k-means micro-clusters."""

from __future__ import annotations

import copy

import numpy as np
from scipy.cluster import hierarchy

from segmentation.cluster.base import (
    K,
    _as_points,
    _fewer_distinct_than_k,
    _one_openmp_thread,
    _single,
    _squared_distances,
    check_k,
    register,
    relabel_by_size,
    segment_centers,
)
from segmentation.core.constraints import Options, validate
from segmentation.core.errors import ConfigError
from segmentation.core.params import Param

LINKAGES = ("ward", "average", "complete")
LINKAGE = Param(
    "linkage",
    (Options(LINKAGES),),
    "ward",
    "how agglomerative merging measures two groups: ward | average | complete",
    label="Linkage",
    key="seg_linkage",
    widget="selectbox",
)


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
    order = 20
    parameters = (K, LINKAGE)
    chooses_k = False
    keeps_tree = True
    default_space = "pca"
    sweep_param = "k"

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
        validate(LINKAGE.name, self.linkage, list(LINKAGE.constraints))  # the declaration, checked once more
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
