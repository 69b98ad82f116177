"""Nearest-neighbour recommenders: similar users (over all users, in the segment, by items only), similar items,
and RP3beta's random walk over the item graph."""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
import scipy.sparse as sp

from segmentation.core.errors import ConfigError
from segmentation.recommend.base import _CHUNK, ItemRecommender, _listed, _plural, _unit_rows, register

DEFAULT_TEXT_WEIGHT = 0.3
"""Share of the text profile in the user-kNN similarity (the rest is interaction cosine).

Chosen by leave-last-out NDCG@10 (see the class docstring of :class:`UserKNN` for the figures)."""

DEFAULT_POPULARITY_WEIGHT = 0.25
"""Weight of item popularity added to the user-kNN score (see :class:`UserKNN`), chosen by the same evaluation."""


@register("global_knn")
class UserKNN(ItemRecommender):
    """User-kNN: items chosen by the users most similar to this one, over all users.

    Similarity is ``text_weight * cosine(text profiles) + (1 - text_weight) * cosine(interaction rows)``;
    an item's neighbour score is the sum over the ``n_neighbors`` nearest users (with positive similarity)
    of similarity x their rating (1 without ratings), divided by the user's best item's. The item scores
    that plus ``popularity_weight`` x its popularity (its users over the most popular item's), so a rare
    pick of one neighbour does not outrank what nearly everyone chose. With ``popularity_weight=0`` items
    no neighbour chose rank below the others, by popularity.

    The default ``popularity_weight`` (0.25) comes from leave-last-out NDCG@10 with MiniLM profiles and
    k-means segments (k by silhouette), weights 0, 0.1, 0.25, 0.5, 1 (segment-kNN | global kNN): generated
    demo 0.345 / 0.339 / 0.334 / 0.303 / 0.257 | 0.353 / 0.351 / 0.345 / 0.308 / 0.253; recipe reviews
    (users with ≥ 2 comments) 0.093 / 0.110 / 0.124 / 0.132 / 0.136 | 0.104 / 0.126 / 0.138 / 0.140 / 0.137;
    their 5-core subset 0.120 / 0.128 / 0.140 / 0.152 / 0.155 | 0.121 / 0.135 / 0.135 / 0.140 / 0.142
    (global popularity: 0.113, 0.135, 0.142). 0.25 has the best mean over the three for both; the demo,
    where taste alone decides by construction, prefers none, the real data more.

    The default ``text_weight`` (0.3) comes from leave-last-out NDCG@10 (``popularity_weight`` 0) with tfidf
    profiles and k-means segments, text weights 0, 0.1, 0.2, 0.3, 0.5, 0.7, 1 (segment-kNN | global kNN at 0 / 0.3 / 1):
    recipe reviews (1,665 users scored, 100 recipes) 0.082 / 0.084 / 0.094 | 0.101 / 0.105 / 0.099;
    generated demo reviews 0.334 / 0.343 / 0.343 | 0.359 / 0.362 / 0.353; a fixture where text reveals
    the taste 0.406 / 0.415 / 0.420 | 0.372 / 0.411 / 0.420; one where it does not 0.259 / 0.277 / 0.274
    | 0.274 / 0.283 / 0.274. Interactions alone are clearly worst; 0.3 is the best global kNN on average
    and within 1 % of the best segment-kNN average; pure text (weak on real 5-core review data, per the
    project's issue) is not chosen.

    Parameters
    ----------
    n_neighbors : int
        Neighbours per user.
    text_weight : float in [0, 1]
        Share of the text profile in the similarity.
    use_ratings : bool
        Weight a neighbour's item by their rating; False counts every choice as 1.
    popularity_weight : float, at least 0
        Weight of item popularity added to the scaled neighbour score.
    """

    label = "users with similar items and comments"
    technical = "user-kNN on items and text profiles"
    segment_aware = False
    uses_text = True
    restrict_to_segment = False
    mates = "nearest users"

    def __init__(self, n_neighbors: int = 50, text_weight: float = DEFAULT_TEXT_WEIGHT,
                 use_ratings: bool = True, popularity_weight: float = DEFAULT_POPULARITY_WEIGHT) -> None:
        self.n_neighbors = n_neighbors
        self.text_weight = text_weight
        self.use_ratings = use_ratings
        self.popularity_weight = popularity_weight

    def _fit(self, user_vectors: np.ndarray | None) -> None:
        if not 0.0 <= self.text_weight <= 1.0:
            raise ConfigError(f"text_weight must lie in [0, 1], not {self.text_weight}")
        if self.popularity_weight < 0:
            raise ConfigError(f"popularity_weight must be 0 or more, not {self.popularity_weight}")
        data = self.data_
        self.unit_interactions_ = _unit_rows(data.matrix)
        self.unit_text_ = None if user_vectors is None else _unit_rows(np.asarray(user_vectors, np.float32))
        self.item_weights_ = data.weights() if self.use_ratings else data.matrix

    def _similarity(self, rows: np.ndarray, members: np.ndarray) -> np.ndarray:
        """Blended similarity of users ``rows`` to the sorted users ``members``; to itself it is -inf."""
        w = self.text_weight if self.unit_text_ is not None else 0.0
        interactions = self.unit_interactions_
        sim = (1.0 - w) * (interactions[rows] @ interactions[members].T).toarray()
        if w > 0:
            sim += w * (self.unit_text_[rows] @ self.unit_text_[members].T)
        position = np.minimum(np.searchsorted(members, rows), len(members) - 1)
        itself = members[position] == rows
        sim[np.flatnonzero(itself), position[itself]] = -np.inf
        return sim

    def neighbours(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest users of each row: (indices, similarities), each (len(rows), k), best first.

        Similarities that are not positive are 0 (such users do not count as neighbours); rows of a
        small segment are padded with similarity 0.
        """
        rows = np.asarray(rows, dtype=np.int64)
        k = max(1, min(self.n_neighbors, self.data_.n_users - 1))
        idx = np.zeros((len(rows), k), dtype=np.int64)
        near = np.zeros((len(rows), k), dtype=np.float32)
        everyone = np.arange(self.data_.n_users)
        # Per segment, only its members are compared: a segment of a tenth of the users costs a tenth.
        groups = [(self.labels_[rows] == label, everyone[self.labels_ == label])
                  for label in np.unique(self.labels_[rows])] if self.restrict_to_segment \
            else [(np.ones(len(rows), dtype=bool), everyone)]
        for selected, members in groups:
            if len(members) < 2:
                continue
            sim = self._similarity(rows[selected], members)
            take = min(k, len(members) - 1)
            top = np.argpartition(-sim, take - 1, axis=1)[:, :take]
            top_sim = np.take_along_axis(sim, top, axis=1)
            order = np.argsort(-top_sim, axis=1, kind="stable")
            idx[selected, :take] = members[np.take_along_axis(top, order, axis=1)]
            near[selected, :take] = np.take_along_axis(top_sim, order, axis=1)
        return idx, np.where(near > 0, near, 0.0)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), self.data_.n_items))
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start:start + _CHUNK]
            idx, near = self.neighbours(chunk)
            k = idx.shape[1]
            weights = sp.csr_matrix(
                (near.ravel(), idx.ravel(), np.arange(0, len(chunk) * k + 1, k)),
                shape=(len(chunk), self.data_.n_users),
            )
            scores = (weights @ self.item_weights_).toarray()
            if self.popularity_weight > 0:
                top = scores.max(axis=1, keepdims=True)
                scores = scores / np.where(top > 0, top, 1.0) + self.popularity_weight * self.tiebreak_
                out[start:start + len(chunk)] = scores
            else:
                out[start:start + len(chunk)] = np.where(scores > 0, scores, self.tiebreak_ - 1.0)
        return out

    def _reason(self, row: int, item: int) -> str:
        idx, near = self.neighbours(np.array([row]))
        mates = idx[0][near[0] > 0]
        column = self.data_.matrix[mates][:, [item]]
        chose = mates[column.toarray().ravel() > 0]
        if not len(chose):
            return f"none of your {self.mates} chose it; {self._popularity_phrase(item)}"
        ratings = [self._pair_rating(user, item) for user in chose]
        rated = [r for r in ratings if np.isfinite(r)]
        return (
            f"liked by {len(chose)} of your {len(mates)} {self.mates}"
            f"{self._mean_phrase(sum(rated), len(rated))}"
        )

    def _pair_rating(self, user: int, item: int) -> float:
        matrix = self.data_.matrix
        start, end = matrix.indptr[user], matrix.indptr[user + 1]
        position = start + np.searchsorted(matrix.indices[start:end], item)
        return float(self.data_.pair_rating[position])


@register("segment_knn")
class SegmentKNN(UserKNN):
    """User-kNN restricted to the user's segment; see :class:`UserKNN` for the similarity and defaults.

    Noise users (segment ``-1``) get global popularity, and the reason says so.
    """

    label = "similar users within the segment"
    technical = "user-kNN within the segment"
    segment_aware = True
    restrict_to_segment = True
    mates = "nearest segment-mates"


@register("interaction_knn")
class InteractionKNN(UserKNN):
    """User-kNN on the interactions only: cosine between users' item sets, no text, no popularity term.

    The plain collaborative-filtering peer (K = 50): items the most similar users chose, summed over
    their similarity (and rating); items no neighbour chose rank below, by popularity.
    """

    label = "users with similar items"
    technical = "user-kNN on the interactions (cosine)"
    uses_text = False

    def __init__(self, n_neighbors: int = 50, use_ratings: bool = True) -> None:
        super().__init__(n_neighbors=n_neighbors, text_weight=0.0, use_ratings=use_ratings,
                         popularity_weight=0.0)


ITEM_KNN_GRID = {"n_neighbors": (10, 25, 50, 100, 200), "shrinkage": (0.0, 10.0, 50.0, 200.0, 1000.0)}
"""Item-kNN's grid: neighbours kept per item, and the shrinkage that pulls a similarity resting on few
shared users towards 0 (both as tuned by Ferrari Dacrema et al., RecSys 2019)."""

RP3BETA_GRID = {"alpha": (0.25, 0.5, 0.75, 1.0, 1.25), "beta": (0.0, 0.25, 0.5, 0.75)}
"""RP3beta's grid: the walk's exponent and the popularity penalty (beta 0 is the plain P3alpha walk)."""


class _ItemGraph(ItemRecommender):
    """A recommender whose ``_fit`` learns an item-item weight matrix (:meth:`_links`): a user's scores are their
    row of the interactions times it, and a reason names the user's items that link to the recommended one."""

    # How the recommended item is reached from the user's items, with ``{items}`` for "3 items".
    reason_template: str

    @abstractmethod
    def _links(self) -> sp.csr_matrix:
        """The learned item-item weights (items x items)."""

    def _score(self, rows: np.ndarray) -> np.ndarray:
        scores = (self.data_.matrix[rows] @ self._links()).toarray()
        return np.where(scores > 0, scores, self.tiebreak_ - 1.0)

    def _reason(self, row: int, item: int) -> str:
        mine = self.data_.matrix[row].indices
        links = self._links()[mine][:, [item]].toarray().ravel()
        with_it = mine[links > 0]
        if not len(with_it):
            return f"not linked to your items; {self._popularity_phrase(item)}"
        strongest = with_it[np.argsort(-links[links > 0], kind="stable")][:3]
        return f"{self.reason_template.format(items=_plural(len(with_it), 'item'))}: {_listed(self.data_, strongest)}"


@register("item_knn")
class ItemKNN(_ItemGraph):
    """Item-kNN: items often chosen together with the user's items (shrunk cosine over the item columns).

    The similarity of items i and j is ``|U_i & U_j| / (sqrt(|U_i| |U_j|) + shrinkage)``, ``U_i`` being the
    users who chose i; each item keeps its ``n_neighbors`` most similar. Parameters left at None are chosen
    from :data:`ITEM_KNN_GRID` on a validation split of the training data.

    Parameters
    ----------
    n_neighbors : int or None
        Similar items kept per item.
    shrinkage : float or None
    top_n : int
    seed : int
    """

    label = "items often chosen together"
    technical = "item-kNN (shrunk cosine)"
    grid = ITEM_KNN_GRID
    reason_template = "often chosen together with {items} you have"

    def __init__(self, n_neighbors: int | None = None, shrinkage: float | None = None, top_n: int = 10,
                 seed: int = 0) -> None:
        self.n_neighbors = n_neighbors
        self.shrinkage = shrinkage
        self.top_n = top_n
        self.seed = seed

    def _fit(self, user_vectors: np.ndarray | None) -> None:
        columns = self.data_.matrix.T.tocsr()
        similar = (columns @ columns.T).tocsr().astype(np.float64)
        norms = np.sqrt(similar.diagonal())
        rows = np.repeat(np.arange(similar.shape[0]), np.diff(similar.indptr))
        similar.data /= norms[rows] * norms[similar.indices] + self.params_["shrinkage"]
        similar.setdiag(0)
        similar.eliminate_zeros()
        self.similar_ = _keep_top(similar, int(self.params_["n_neighbors"]))

    def _links(self) -> sp.csr_matrix:
        return self.similar_


@register("rp3beta")
class RP3beta(_ItemGraph):
    """RP3beta (Paudel et al., 2017): a three-step random walk item -> user -> item, popularity discounted.

    With ``P_ui`` the user's row of the interactions divided by their item count and ``P_iu`` the item's
    column divided by its user count, both raised elementwise to ``alpha``, the item-item weight is
    ``W = P_iu P_ui``, each column divided by the item's popularity to the power ``beta`` (so the walk does
    not always end on the favourites); each item keeps its ``n_neighbors`` strongest links and a user's
    scores are their row of the interactions times ``W``. Among the strongest simple baselines on
    Amazon-style data (Ferrari Dacrema et al., RecSys 2019). Parameters left at None are chosen from
    :data:`RP3BETA_GRID` on a validation split of the training data.

    Parameters
    ----------
    alpha : float or None
    beta : float or None
    n_neighbors : int
        Links kept per item (not tuned: 100 lies inside the range the cited comparison found best).
    top_n : int
    seed : int
    """

    label = "a walk from the user's items through their other users to new items, popularity discounted"
    technical = "RP3beta (Paudel et al., 2017)"
    grid = RP3BETA_GRID
    reason_template = "reached from {items} you have through their users"

    def __init__(self, alpha: float | None = None, beta: float | None = None, n_neighbors: int = 100,
                 top_n: int = 10, seed: int = 0) -> None:
        self.alpha = alpha
        self.beta = beta
        self.n_neighbors = n_neighbors
        self.top_n = top_n
        self.seed = seed

    def _fit(self, user_vectors: np.ndarray | None) -> None:
        alpha, beta = float(self.params_["alpha"]), float(self.params_["beta"])
        matrix = self.data_.matrix.astype(np.float64)
        user_step = _row_share(matrix).power(alpha)
        item_step = _row_share(matrix.T.tocsr()).power(alpha)
        walk = (item_step @ user_step).tocsr()
        penalty = np.power(np.maximum(self.item_users_.astype(np.float64), 1.0), -beta)
        walk = sp.csr_matrix(walk @ sp.diags(penalty))
        walk.setdiag(0)
        walk.eliminate_zeros()
        self.walk_ = _keep_top(walk, self.n_neighbors)

    def _links(self) -> sp.csr_matrix:
        return self.walk_


def _row_share(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Each row divided by its sum (empty rows stay empty)."""
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    return sp.csr_matrix(sp.diags(np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)) @ matrix)


def _keep_top(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest entries of each row."""
    data, indices, indptr = matrix.data.copy(), matrix.indices, matrix.indptr
    for row in np.flatnonzero(np.diff(indptr) > k):
        start, end = indptr[row], indptr[row + 1]
        drop = np.argpartition(-data[start:end], k)[k:]
        data[start + drop] = 0
    kept = sp.csr_matrix((data, indices, indptr), shape=matrix.shape)
    kept.eliminate_zeros()
    return kept
