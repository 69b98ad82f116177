"""The recommendation use cases the app and the CLI share: fit a run's recommenders, answer for a user.

Kept apart from :mod:`segmentation.recommend.base` and the family modules (the recommenders themselves) so
that the recommenders never import the pipeline; the page (through ``ui.loaders``) and
``python -m segmentation recommend`` both call these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from segmentation.cluster.base import segment_centers
from segmentation.core.constraints import TOP_N, validate
from segmentation.core.errors import ConfigError
from segmentation.recommend.base import (
    RECOMMENDERS,
    Interactions,
    Recommendation,
    make_recommender,
    unknown_user_message,
)
from segmentation.recommend.popularity import SegmentPopularity

if TYPE_CHECKING:
    from segmentation.describe.items import ItemLabels
    from segmentation.ingest.comments import Comments
    from segmentation.pipeline.config import SegmentConfig
    from segmentation.pipeline.segment import StageProgress

DEFAULT_METHOD = "segment_ease"
COLD_START_METHOD = "segment_popularity"
"""What a user with comments but no items gets: their segment's most chosen items (see the README's
cold-user figures: recall@10 against global popularity's on users whose items were all held out)."""


def nearest_segment(vector: np.ndarray, user_vectors: np.ndarray, labels: np.ndarray) -> int:
    """The segment whose centre (mean profile of its users) is nearest to ``vector`` by cosine; -1 without segments."""
    labels = np.asarray(labels, dtype=np.int64)
    if not (labels >= 0).any():
        return -1
    centers = segment_centers(np.asarray(user_vectors, np.float64), labels)
    present = np.flatnonzero(np.bincount(labels[labels >= 0], minlength=len(centers)) > 0)
    centers = centers[present]
    centers /= np.maximum(np.linalg.norm(centers, axis=1, keepdims=True), 1e-12)
    return int(present[np.argmax(centers @ np.asarray(vector, np.float64))])


@dataclass
class RunRecommenders:
    """A run's fitted recommenders: the chosen method beside global popularity (None without items).

    ``cold`` answers users with comments but no items, from their segment (``COLD_START_METHOD``).
    """

    method: str
    model: Any
    popular: Any | None
    cold: SegmentPopularity | None
    data: Interactions
    labels: np.ndarray
    user_vectors: np.ndarray

    @property
    def has_items(self) -> bool:
        return self.popular is not None

    def for_user(self, user_id: str, n: int = 10) -> tuple[list[Recommendation], list[Recommendation] | None, str]:
        """(the method's list, the popularity list or None, the label of what answered)."""
        row = self.data.user_index(user_id)
        popular = None if self.popular is None else self.popular.recommend(user_id, n)
        if self.cold is not None and self.data.matrix[row].nnz == 0 and self.labels[row] >= 0:
            return self.cold.recommend(user_id, n), popular, RECOMMENDERS[COLD_START_METHOD].label
        return self.model.recommend(user_id, n), popular, type(self.model).label

    def for_new_user(self, profile: np.ndarray, n: int = 10, *, segment: int | None = None
                     ) -> tuple[int, list[Recommendation]]:
        """A user who is not in the run (new comments, no items): their segment and its top items.

        ``profile`` is the user's profile vector (``build_profiles`` of their comments). ``segment`` is where
        the run's clusterer puts them (``SegmentResult.clusterer.predict`` in the run's clustering space);
        without it, the segment whose mean profile is nearest.
        """
        if self.cold is None:
            raise ConfigError("the data has no item column, so there are no items to recommend")
        if segment is None:
            segment = nearest_segment(profile, self.user_vectors, self.labels)
        return segment, self.cold.recommend_segment(segment, n)


def fit_run_recommenders(comments: Comments, user_ids: np.ndarray, user_vectors: np.ndarray, labels: np.ndarray,
                         embeddings: np.ndarray, *, method: str = DEFAULT_METHOD, seed: int = 0,
                         item_labels: ItemLabels | None = None) -> RunRecommenders:
    """Fit ``method`` (and popularity, and the cold-start method) on a run's users and segments.

    Data without items always gets ``segment_comments``: it needs no items. ``item_labels``
    (``Prepared.item_labels``) words the items in the reasons; without it they show by id.
    """
    data = Interactions.from_comments(comments, user_ids)
    if item_labels is not None:
        data = data.labelled(item_labels.label)
    labels = np.asarray(labels, dtype=np.int64)
    if not comments.has_items:
        fallback = next(name for name, cls in RECOMMENDERS.items() if not cls.recommends_items)
        model = make_recommender(fallback).fit(data, user_vectors, labels, comment_vectors=embeddings)
        return RunRecommenders(fallback, model, None, None, data, labels, np.asarray(user_vectors))
    model = make_recommender(method, seed=seed)
    if not model.recommends_items:
        raise ConfigError(f"{method} recommends comments, not items; pick an item recommender")
    model.fit(data, user_vectors, labels)
    popular = make_recommender("global_popularity").fit(data, user_vectors, labels)
    cold = make_recommender(COLD_START_METHOD).fit(data, user_vectors, labels)
    return RunRecommenders(method, model, popular, cold, data, labels, np.asarray(user_vectors))


def recommend_for_user(
    comments: Comments,
    config: SegmentConfig,
    user_id: str,
    *,
    top_n: int = 10,
    method: str = DEFAULT_METHOD,
    progress: StageProgress | None = None,
) -> dict:
    """Segment the comments with ``config`` and recommend for one user (what the CLI prints).

    Data without items always uses in-segment comments; a user with comments but no items gets their
    segment's most chosen items.

    Returns
    -------
    dict
        ``user_id``, ``segment``, ``segment_name``, ``method``, ``recommendations`` (list of
        :meth:`Recommendation.to_dict`, with ``item_name`` where the data names its items) and ``notes``.
    """
    # Imported here: the pipeline pulls in encoders and UMAP.
    from segmentation.pipeline.segment import cluster_prepared, prepare

    top_n = validate("top_n", top_n, TOP_N)
    if method not in RECOMMENDERS:
        raise ConfigError(f"unknown method {method!r}; choose one of {', '.join(RECOMMENDERS)}")
    if str(user_id) not in set(comments.frame["user_id"]):
        raise ConfigError(unknown_user_message(user_id, comments.frame["user_id"].unique()))
    notes = []
    if not comments.has_items and RECOMMENDERS[method].recommends_items:
        notes.append(f"the data has no item column, so in-segment comments are shown instead of {method}")
    prepared = prepare(comments, config, progress=progress, with_map=False)
    result = cluster_prepared(prepared, config, progress=progress)
    fitted = fit_run_recommenders(comments, prepared.profiles.user_ids, prepared.profiles.vectors, result.labels,
                                  prepared.embeddings, method=method, seed=config.seed,
                                  item_labels=prepared.item_labels)
    recommendations, _, answered_by = fitted.for_user(user_id, top_n)
    if answered_by != type(fitted.model).label:
        notes.append("the user has comments but no items, so their segment's most chosen items are shown")
    row = fitted.data.user_index(user_id)
    label = int(result.labels[row])
    names = prepared.item_labels.names
    records = [r.to_dict() | ({"item_name": names[r.item_id]} if r.item_id in names else {})
               for r in recommendations]
    return {
        "user_id": str(fitted.data.user_ids[row]),
        "segment": label,
        "segment_name": result.names.get(label, "noise" if label < 0 else str(label)),
        "method": fitted.method,
        "recommendations": records,
        "notes": notes,
    }
