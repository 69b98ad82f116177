"""Popularity recommenders: the items most users chose, overall or in the user's segment."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from segmentation.core.errors import ConfigError
from segmentation.recommend.base import ItemRecommender, Recommendation, register


@register("global_popularity")
class GlobalPopularity(ItemRecommender):
    """The baseline: the items most users chose.

    Parameters
    ----------
    weighting : {"count", "rating"}
        ``count`` ranks by the number of users who chose the item. ``rating`` ranks by the mean rating
        shrunk towards the overall mean, ``(sum + shrinkage * mean) / (n_rated + shrinkage)``, so an item
        with one 5-star rating does not top the list; without ratings it falls back to ``count``.
    shrinkage : float
        Weight of the prior in pseudo-ratings.
    """

    label = "the most popular items"
    technical = "global popularity"

    def __init__(self, weighting: str = "count", shrinkage: float = 10.0) -> None:
        self.weighting = weighting
        self.shrinkage = shrinkage

    def _fit(self, user_vectors: np.ndarray | None) -> None:
        if self.weighting not in ("count", "rating"):
            raise ConfigError(f"weighting must be 'count' or 'rating', not {self.weighting!r}")
        self.score_ = self.item_users_ + self.tiebreak_
        if self.weighting == "rating" and self.item_rated_.sum():
            prior = self.item_rating_sum_.sum() / self.item_rated_.sum()
            shrunk = (self.item_rating_sum_ + self.shrinkage * prior) / (self.item_rated_ + self.shrinkage)
            self.score_ = shrunk + 1e-6 * self.tiebreak_

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.score_, (len(rows), len(self.score_)))

    def _reason(self, row: int, item: int) -> str:
        return f"{self._popularity_phrase(item)}, one of the most popular items"


@register("segment_popularity")
class SegmentPopularity(ItemRecommender):
    """The items most users of the user's segment chose (ties broken by global popularity)."""

    label = "the most popular items of the user's segment"
    technical = "segment popularity"
    segment_aware = True

    def _fit(self, user_vectors: np.ndarray | None) -> None:
        labels = self.labels_
        segments = np.unique(labels[labels >= 0])
        self.segments_ = segments
        member = np.searchsorted(segments, labels)
        inside = labels >= 0
        onehot = sp.csr_matrix(
            (np.ones(inside.sum()), (member[inside], np.flatnonzero(inside))),
            shape=(len(segments), self.data_.n_users),
        )
        data = self.data_
        rated = np.where(np.isfinite(data.pair_rating), 1.0, 0.0)
        as_matrix = lambda values: sp.csr_matrix(  # noqa: E731 - three matrices with the same pattern
            (values, data.matrix.indices, data.matrix.indptr), shape=data.matrix.shape
        )
        self.counts_ = (onehot @ data.matrix).toarray()
        self.rated_ = (onehot @ as_matrix(rated)).toarray()
        self.rating_sum_ = (onehot @ as_matrix(np.nan_to_num(data.pair_rating))).toarray()
        self.sizes_ = np.asarray(onehot.sum(axis=1)).ravel().astype(int)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return self.counts_[np.searchsorted(self.segments_, self.labels_[rows])] + self.tiebreak_

    def recommend_segment(self, segment: int, n: int = 10) -> list[Recommendation]:
        """The ``n`` items most chosen in ``segment``, for a user who is not in the data (a new user).

        A segment not in the data (``-1``) gets global popularity.
        """
        s = int(np.searchsorted(self.segments_, segment))
        known = s < len(self.segments_) and self.segments_[s] == segment
        scores = self.counts_[s] + self.tiebreak_ if known else self.item_users_ + self.tiebreak_
        top = np.argsort(-scores, kind="stable")[:n]
        return [
            Recommendation(
                item_id=str(self.data_.item_ids[item]), score=float(scores[item]),
                reason=(f"chosen by {int(self.counts_[s, item]):,} of the {self.sizes_[s]:,} users in your segment"
                        if known else self._noise_reason(int(item))),
            )
            for item in top
        ]

    def _reason(self, row: int, item: int) -> str:
        s = int(np.searchsorted(self.segments_, self.labels_[row]))
        count = int(self.counts_[s, item])
        if count == 0:
            return f"no one in your segment chose it yet; {self._popularity_phrase(item)}"
        return (
            f"chosen by {count:,} of the {self.sizes_[s]:,} users in your segment"
            f"{self._mean_phrase(self.rating_sum_[s, item], int(self.rated_[s, item]))}"
        )
