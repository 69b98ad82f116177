"""What each broad group of a coarse layer is about, described as the run's segments are, named apart from them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from segmentation.core.labels import NOISE
from segmentation.describe.segments import SegmentDescription, describe_segments, unique_name

if TYPE_CHECKING:
    from segmentation.describe.items import ItemLabels
    from segmentation.describe.keywords import TermCounts
    from segmentation.embed.profiles import Profiles
    from segmentation.ingest.comments import Comments


def describe_coarse(
    comments: Comments,
    profiles: Profiles,
    coarse_labels: np.ndarray,
    embeddings: np.ndarray,
    *,
    fine_names: Iterable[str] = (),
    terms: TermCounts | None = None,
    item_labels: ItemLabels | None = None,
) -> list[SegmentDescription]:
    """Describe the broad groups of a coarse layer with the keyword machinery of the run's segments.

    Parameters
    ----------
    comments, profiles, embeddings, terms, item_labels
        As :func:`~segmentation.describe.segments.describe_segments`.
    coarse_labels : ndarray of shape (n_users,)
        Each user's broad group (``Hierarchy.coarse_labels``), aligned with ``profiles.user_ids``.
    fine_names : iterable of str
        The names the fine layer shows: a suggested broad-group name that repeats one (any case) gets a number,
        so that no name stands for two groups of different layers.

    Returns
    -------
    list of SegmentDescription
        One per broad group, by ascending id, noise last.
    """
    described = describe_segments(comments, profiles, coarse_labels, embeddings, terms=terms,
                                  item_labels=item_labels)
    used = {str(name).casefold() for name in fine_names}
    return [segment if segment.id == NOISE else replace(segment, name=unique_name(segment.name, used))
            for segment in described]


__all__ = ["describe_coarse"]
