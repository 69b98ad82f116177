"""Content recommenders: items matched to what the user wrote, for users with comments and few or no items."""

from __future__ import annotations

import numpy as np

from segmentation.core.errors import ConfigError
from segmentation.recommend.base import ItemRecommender, _unit_rows, register

DEFAULT_TEXT_POPULARITY = 1.0
"""Weight of item popularity beside the text match in :class:`TextMatch` (see its docstring for the figures)."""


@register("text_match")
class TextMatch(ItemRecommender):
    """Items whose choosers write like the user: the user's text profile against each item's text profile.

    An item's profile is the mean text profile of the users who chose it (weighted by their rating), so it
    reads like the reviews written about it and beside it. A user's score for an item is the cosine of the
    two profiles, plus ``popularity_weight`` x the item's popularity (its users over the most popular item's):
    a single comment says something about taste, not enough to outweigh what nearly everyone chose. It
    needs no items of the user's own, so it serves users with comments but no items (the cold users).

    The default ``popularity_weight`` (1.0) comes from the cold-user protocol (:func:`~segmentation.recommend.
    splits.cold_split`) on the real recipe reviews (333 cold users, TF-IDF profiles, k-means k=8), recall@10 at
    weights 0 / 0.1 / 0.25 / 0.5 / 1 / 2 for split seeds 0, 1, 2: 0.126 / 0.189 / 0.191 / 0.212 / 0.220 / 0.223,
    0.100 / 0.193 / 0.227 / 0.246 / 0.234 / 0.225, 0.101 / 0.165 / 0.199 / 0.219 / 0.231 / 0.231 (popularity
    0.215, 0.219, 0.228). 1.0 has the best mean; the text alone is far below popularity.

    Parameters
    ----------
    popularity_weight : float, at least 0
    """

    label = "items whose choosers write like the user"
    technical = "text match: the user's text profile against each item's choosers' profiles"
    uses_text = True

    def __init__(self, popularity_weight: float = DEFAULT_TEXT_POPULARITY) -> None:
        self.popularity_weight = popularity_weight

    def _fit(self, user_vectors: np.ndarray | None) -> None:
        if user_vectors is None:
            raise ConfigError("matching text needs the users' text profiles")
        if self.popularity_weight < 0:
            raise ConfigError(f"popularity_weight must be 0 or more, not {self.popularity_weight}")
        self.user_text_ = _unit_rows(np.asarray(user_vectors, np.float32))
        self.item_text_ = _unit_rows(np.asarray(self.data_.weights().T @ self.user_text_, np.float32))

    def _score(self, rows: np.ndarray) -> np.ndarray:
        match = self.user_text_[rows] @ self.item_text_.T
        return match + self.popularity_weight * self.tiebreak_

    def _reason(self, row: int, item: int) -> str:
        match = float(self.user_text_[row] @ self.item_text_[item])
        return f"its choosers write like you (similarity {match:.2f}); {self._popularity_phrase(item)}"
