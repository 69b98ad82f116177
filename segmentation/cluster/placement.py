"""Placing users into the segments of a saved run: nearest segment centre in profile space.

A saved run keeps, per segment, the centre of its members' profiles and how far its members lie from it
(the 95th percentile), as plain arrays beside the run. That is all a new user needs: their profile comes
from the run's encoder, and the nearest centre is their segment. Working in profile space, not in the run's
clustering space (PCA or UMAP), means a run can take new users without its original data or a pickled
model, for every algorithm alike.

A profile averages a user's comments, so it lies nearer its centre the more comments it has (the spread of
a mean of n comments shrinks roughly as 1/sqrt(n)): a one-comment newcomer is farther than a five-comment
member without anything having changed. The far line is therefore kept per number of comments too, measured
on the run's own members with their comments subsampled to that number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segmentation.core.errors import ConfigError
from segmentation.core.labels import NOISE

FAR_QUANTILE = 0.95
# The comment counts a far line is measured at: a user with n comments is judged by the line of the largest
# level <= n (members subsampled to fewer comments lie farther, so the line errs on the lenient side).
COUNT_LEVELS = (1, 2, 4, 8, 16)
# Fewer members than this at a level give no quantile worth the name: the level takes the next lower one's.
MIN_CALIBRATION = 10
# Distances wanted per segment and level for its quantile, and the most random draws of each member's
# comments made to get them.
CALIBRATION_DISTANCES = 200
MAX_CALIBRATION_DRAWS = 8


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
    far_by_count: np.ndarray | None = None

    @classmethod
    def fit(
        cls,
        vectors: np.ndarray,
        labels: np.ndarray,
        *,
        embeddings: np.ndarray | None = None,
        comment_user: np.ndarray | None = None,
        seed: int = 0,
    ) -> Placement:
        """Centres and far distances of the segments of ``labels`` over ``vectors`` (one row per user).

        Parameters
        ----------
        vectors : ndarray of shape (n_users, d)
            The users' profiles.
        labels : ndarray of shape (n_users,)
            Their segments (``NOISE`` for none).
        embeddings : ndarray of shape (n_comments, d_text), optional
            The comments the profiles average (the first ``d_text`` columns of ``vectors``; any others
            are the attribute block). With ``comment_user``, the far line is also measured per number of
            comments (``far_by_count``).
        comment_user : ndarray of shape (n_comments,), optional
            Each comment's user row in ``vectors``.
        seed : int, default 0
            Which comments the subsamples take.

        Returns
        -------
        Placement
        """
        labels = np.asarray(labels)
        ids = np.array(sorted(set(labels.tolist()) - {NOISE}), dtype=int)
        if len(ids) == 0:
            raise ConfigError("the run has no segment to place users in (every user is noise)")
        centres = np.stack([vectors[labels == segment].mean(axis=0) for segment in ids]).astype(np.float32)
        far = np.empty(len(ids), dtype=np.float32)
        for row, segment in enumerate(ids):
            members = vectors[labels == segment]
            far[row] = np.quantile(np.linalg.norm(members - centres[row], axis=1), FAR_QUANTILE)
        by_count = None
        if embeddings is not None and comment_user is not None and len(embeddings) == len(comment_user):
            by_count = _far_by_count(vectors, labels, ids, centres, far, embeddings, comment_user, seed)
        return cls(ids, centres, far, by_count)

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

    def is_far(self, labels: np.ndarray, distance: np.ndarray, n_comments: np.ndarray | None = None) -> np.ndarray:
        """Whether each placed user lies beyond their segment's 95th-percentile distance.

        With ``n_comments`` (and a run that measured it), a user is judged against members subsampled to
        about their number of comments, not against members' fuller profiles.
        """
        return distance > self.far_line(labels, n_comments)

    def far_line(self, labels: np.ndarray, n_comments: np.ndarray | None = None) -> np.ndarray:
        """The far distance each placed user is judged by (see :meth:`is_far`)."""
        rows = np.searchsorted(self.segment_ids, labels)
        if self.far_by_count is None or n_comments is None:
            return self.far[rows]
        level = np.searchsorted(COUNT_LEVELS, np.maximum(np.asarray(n_comments), 1), side="right") - 1
        return self.far_by_count[rows, level]

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {"segment_ids": self.segment_ids, "centres": self.centres, "far": self.far}
        if self.far_by_count is not None:
            arrays["far_by_count"] = self.far_by_count
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Placement:
        """The placement saved with a run, checked: a damaged or edited file must not place anyone.

        Raises
        ------
        ConfigError
            When an array is missing, the shapes disagree, or a centre or distance is not a finite number.
        """
        try:
            ids = np.asarray(arrays["segment_ids"])
            centres = np.asarray(arrays["centres"], dtype=np.float32)
            far = np.asarray(arrays["far"], dtype=np.float32)
            by_count = arrays.get("far_by_count")
            by_count = None if by_count is None else np.asarray(by_count, dtype=np.float32)
        except (KeyError, ValueError, TypeError) as error:
            raise ConfigError(f"its saved segment centres are damaged ({type(error).__name__}: {error})") from None
        n = len(ids) if ids.ndim == 1 else -1
        shapes_agree = (
            n > 0 and np.issubdtype(ids.dtype, np.integer) and bool(np.all(np.diff(ids) > 0))
            and centres.ndim == 2 and len(centres) == n and far.shape == (n,)
            and (by_count is None or by_count.shape == (n, len(COUNT_LEVELS)))
        )
        if not shapes_agree:
            raise ConfigError("its saved segment centres are damaged (their arrays do not fit together)")
        finite = np.isfinite(centres).all() and np.isfinite(far).all()
        if not finite or (by_count is not None and not np.isfinite(by_count).all()):
            raise ConfigError("its saved segment centres are damaged (not finite numbers)")
        return cls(ids.astype(int), centres, far, by_count)


def _far_by_count(
    vectors: np.ndarray,
    labels: np.ndarray,
    ids: np.ndarray,
    centres: np.ndarray,
    far: np.ndarray,
    embeddings: np.ndarray,
    comment_user: np.ndarray,
    seed: int,
) -> np.ndarray:
    """Per segment and level of ``COUNT_LEVELS``: the far line of members' profiles remade from that many of
    their comments (chosen at random); a level with too few members takes the line of the level below, and
    the first level the segment's own ``far``."""
    comment_user = np.asarray(comment_user, dtype=np.int64)
    n_users, n_text = len(vectors), embeddings.shape[1]
    counts = np.bincount(comment_user, minlength=n_users)
    rows = np.searchsorted(ids, labels)
    member = labels != NOISE
    rng = np.random.default_rng(seed)
    # Several draws of the comments per member where segments are small: a segment of 20 members gives 20
    # distances per draw, too few for a steady 95th percentile (a single draw flagged 5 of 20 look-alike
    # newcomers in one segment). Large segments need one draw (eight took 15 s at 50k users).
    smallest = int(np.bincount(rows[member]).min())
    n_draws = int(np.clip(np.ceil(CALIBRATION_DISTANCES / max(smallest, 1)), 1, MAX_CALIBRATION_DRAWS))
    draws = [_ranks(comment_user, rng) for _ in range(n_draws)]
    lines = np.empty((len(ids), len(COUNT_LEVELS)), dtype=np.float32)
    for level, c in enumerate(COUNT_LEVELS):
        eligible = member & (counts >= c)
        enough = np.bincount(rows[eligible], minlength=len(ids)) >= MIN_CALIBRATION
        lines[:, level] = lines[:, level - 1] if level else far
        if not enough.any():
            continue  # no segment has members with this many comments: nothing to measure
        distances = []
        for rank in draws:
            take = np.flatnonzero((rank < c) & eligible[comment_user])
            take = take[np.argsort(comment_user[take], kind="stable")]
            # Exactly c comments per eligible user, in user order (the order of ``vectors[eligible]``).
            sums = np.asarray(embeddings[take], dtype=np.float32).reshape(-1, c, n_text).sum(axis=1)
            norms = np.linalg.norm(sums, axis=1, keepdims=True)
            profiles = np.hstack([sums / np.where(norms > 0, norms, 1.0), vectors[eligible, n_text:]])
            distances.append(np.linalg.norm(profiles - centres[rows[eligible]], axis=1))
        distance, owner = np.concatenate(distances), np.tile(rows[eligible], len(draws))
        for row in np.flatnonzero(enough):
            lines[row, level] = np.quantile(distance[owner == row], FAR_QUANTILE)
    return lines


def _ranks(comment_user: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each comment's rank among its user's comments in a random order: the first c make a c-comment profile."""
    order = np.lexsort((rng.random(len(comment_user)), comment_user))
    ranked = comment_user[order]
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - np.searchsorted(ranked, ranked, side="left")
    return rank
