"""For data without items: recommend the comments of the user's segment peers nearest to their profile."""

from __future__ import annotations

import numpy as np

from segmentation.core.errors import ConfigError
from segmentation.recommend.base import Interactions, Recommendation, _unit_rows, register


@register("segment_comments")
class SegmentComments:
    """For data without items: comments by segment peers nearest to the user's profile.

    Never returns the user's own comments. A noise user gets the nearest comments of all other users,
    and the reason says so. ``Recommendation.item_id`` is the comment's row index in ``comments.frame``.

    Parameters
    ----------
    max_per_author : int
        Comments kept per author, so one prolific peer does not fill the list.
    """

    label = "comments by the user's segment peers"
    technical = "in-segment nearest comments"
    segment_aware = True
    uses_text = True
    recommends_items = False

    def __init__(self, max_per_author: int = 2) -> None:
        self.max_per_author = max_per_author

    def fit(self, data: Interactions, user_vectors: np.ndarray | None, labels: np.ndarray, *,
            comment_vectors: np.ndarray | None = None) -> SegmentComments:
        """Learn from the profiles and the comment embeddings.

        Parameters
        ----------
        data : Interactions
            Only ``comment_user`` and ``texts`` are used.
        user_vectors : ndarray of shape (n_users, d)
        labels : ndarray of shape (n_users,)
        comment_vectors : ndarray of shape (n_comments, d)
            The comments' embeddings (row i = comment row i), in the space of ``user_vectors``.

        Returns
        -------
        self
        """
        if user_vectors is None or comment_vectors is None:
            raise ConfigError("in-segment comments need the user profiles and the comment embeddings")
        if len(comment_vectors) != len(data.comment_user):
            raise ConfigError(f"{len(comment_vectors)} comment vectors for {len(data.comment_user)} comments")
        self.data_ = data
        self.labels_ = np.asarray(labels, dtype=np.int64)
        self.user_vectors_ = _unit_rows(np.asarray(user_vectors, np.float32))
        self.comment_vectors_ = _unit_rows(np.asarray(comment_vectors, np.float32))
        return self

    def recommend(self, user_id: str, n: int = 10) -> list[Recommendation]:
        """The ``n`` peer comments nearest to the user's profile, best first."""
        data = self.data_
        row = data.user_index(user_id)
        label = self.labels_[row]
        authors = data.comment_user
        peers = (authors >= 0) & (authors != row)
        if label >= 0:
            peers &= self.labels_[np.maximum(authors, 0)] == label
        candidates = np.flatnonzero(peers)
        sims = self.comment_vectors_[candidates] @ self.user_vectors_[row]
        order = candidates[np.argsort(-sims, kind="stable")]
        sims_by_row = dict(zip(candidates.tolist(), sims.tolist(), strict=True))
        where = "a member of your segment" if label >= 0 else \
            "another user (you are in no segment, so all users' comments are searched)"
        picked: list[Recommendation] = []
        per_author: dict[int, int] = {}
        for comment in order:
            author = int(authors[comment])
            if per_author.get(author, 0) >= self.max_per_author:
                continue
            per_author[author] = per_author.get(author, 0) + 1
            similarity = sims_by_row[int(comment)]
            picked.append(Recommendation(
                item_id=str(comment), score=float(similarity),
                reason=f"written by {where}; similarity {similarity:.2f} to your profile",
                text=str(data.texts[comment]),
            ))
            if len(picked) == n:
                break
        return picked
