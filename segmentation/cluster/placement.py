"""Placing users into the segments of a saved run: nearest segment centre in profile space.

A saved run keeps, per segment, the centre of its members' profiles and how far its members lie from it
(the 95th percentile), as plain arrays beside the run. That is all a new user needs: their profile comes
from the run's encoder, and the nearest centre is their segment. Working in profile space, not in the run's
clustering space (PCA or UMAP), means a run can take new users without its original data or a pickled
model, for every algorithm alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segmentation.core.errors import ConfigError
from segmentation.core.labels import NOISE

FAR_QUANTILE = 0.95


@dataclass(frozen=True, eq=False)
class Placement:
    """The segments of a run as centres in profile space.

    Attributes
    ----------
    segment_ids : ndarray of shape (n_segments,)
        The run's segment ids (noise excluded).
    centres : ndarray of shape (n_segments, d)
        Each segment's mean member profile.
    far : ndarray of shape (n_segments,)
        The 95th percentile of the members' distances to their own centre: a new user beyond it is far
        from the segment it was placed in.
    """

    segment_ids: np.ndarray
    centres: np.ndarray
    far: np.ndarray

    @classmethod
    def fit(cls, vectors: np.ndarray, labels: np.ndarray) -> Placement:
        """Centres and far distances of the segments of ``labels`` over ``vectors`` (one row per user)."""
        labels = np.asarray(labels)
        ids = np.array(sorted(set(labels.tolist()) - {NOISE}), dtype=int)
        if len(ids) == 0:
            raise ConfigError("the run has no segment to place users in (every user is noise)")
        centres = np.stack([vectors[labels == segment].mean(axis=0) for segment in ids]).astype(np.float32)
        far = np.empty(len(ids), dtype=np.float32)
        for row, segment in enumerate(ids):
            members = vectors[labels == segment]
            far[row] = np.quantile(np.linalg.norm(members - centres[row], axis=1), FAR_QUANTILE)
        return cls(ids, centres, far)

    def distances(self, vectors: np.ndarray) -> np.ndarray:
        """Euclidean distance of each row of ``vectors`` to each centre, shape ``(n, n_segments)``."""
        if vectors.shape[1] != self.centres.shape[1]:
            raise ConfigError(
                f"the profiles have {vectors.shape[1]} dimensions and the run's segments "
                f"{self.centres.shape[1]}: they come from different encoders"
            )
        squared = (
            (vectors**2).sum(axis=1)[:, None] - 2 * vectors @ self.centres.T + (self.centres**2).sum(axis=1)[None, :]
        )
        return np.sqrt(np.maximum(squared, 0.0))

    def predict(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Place each row in its nearest segment.

        Returns
        -------
        labels : ndarray of shape (n,)
            Segment ids.
        confidence : ndarray of shape (n,)
            The margin to the second-nearest segment, ``1 - nearest / second``: 0 halfway between two
            segments, 1 on a centre (1 when the run has one segment).
        distance : ndarray of shape (n,)
            The distance to the chosen centre.
        """
        distances = self.distances(vectors)
        order = np.argsort(distances, axis=1)
        rows = np.arange(len(vectors))
        nearest = distances[rows, order[:, 0]]
        if distances.shape[1] > 1:
            second = distances[rows, order[:, 1]]
            confidence = np.where(second > 0, 1.0 - nearest / np.maximum(second, 1e-12), 0.0)
        else:
            confidence = np.ones(len(vectors))
        return self.segment_ids[order[:, 0]], confidence, nearest

    def is_far(self, labels: np.ndarray, distance: np.ndarray) -> np.ndarray:
        """Whether each placed user lies beyond their segment's 95th-percentile distance."""
        rows = np.searchsorted(self.segment_ids, labels)
        return distance > self.far[rows]

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"segment_ids": self.segment_ids, "centres": self.centres, "far": self.far}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Placement:
        return cls(np.asarray(arrays["segment_ids"], dtype=int), np.asarray(arrays["centres"], dtype=np.float32),
                   np.asarray(arrays["far"], dtype=np.float32))
