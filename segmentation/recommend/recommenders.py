"""Recommenders: what to suggest to a user, each suggestion with a score and a reason.

Every recommender is one class with scikit-learn manners: parameters in ``__init__``,
``fit(data, user_vectors, labels)`` learns, ``recommend(user_id, n)`` answers. ``labels`` holds one
segment per user (aligned with ``data.user_ids``, ``-1`` = noise); segment-aware recommenders give a noise
user global popularity and say so in the reason. Every item recommender excludes what the user already has.

Register a new recommender with ``@register("name")``; :data:`RECOMMENDERS` maps names to classes and
:func:`make_recommender` builds one from any mix of parameters. What differs between recommenders lives on
the class: ``label`` (for people), ``segment_aware`` (does it use the segments?), ``uses_text`` (does it
read the text profiles?) and ``recommends_items`` (items, or peer comments for data without items).
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.sparse as sp

from segmentation.core.errors import ConfigError

if TYPE_CHECKING:
    from segmentation.ingest.comments import Comments

DEFAULT_TEXT_WEIGHT = 0.3
"""Share of the text profile in the user-kNN similarity (the rest is interaction cosine).

Chosen by leave-last-out NDCG@10 (see the class docstring of :class:`UserKNN` for the figures)."""

DEFAULT_POPULARITY_WEIGHT = 0.25
"""Weight of item popularity added to the user-kNN score (see :class:`UserKNN`), chosen by the same evaluation."""

# Rows scored at once by the user-kNN: a (chunk x n_users) float32 block stays near 40 MB at 20k users.
_CHUNK = 512


@dataclass(frozen=True)
class Recommendation:
    """One suggestion.

    ``item_id`` is the item's id, or for :class:`SegmentComments` the comment's row index as text (with the
    comment itself in ``text``). ``reason`` is one short sentence a user can read.
    """

    item_id: str
    score: float
    reason: str
    text: str | None = None

    def to_dict(self) -> dict:
        record = asdict(self)
        if self.text is None:
            del record["text"]
        return record


@dataclass(frozen=True)
class Interactions:
    """Who did what: the user x item matrix built from comments that name an item.

    Attributes
    ----------
    user_ids : ndarray of shape (n_users,)
        Aligned with ``Profiles.user_ids`` (the ids passed to :meth:`from_comments`).
    item_ids : ndarray of shape (n_items,)
        Sorted unique item ids (str).
    matrix : csr_matrix of shape (n_users, n_items)
        **Binary**: 1.0 where the user commented on the item at least once. Ratings live in
        ``pair_rating``; :meth:`weights` gives the rating-weighted matrix.
    pair_rating : ndarray of shape (nnz,)
        Mean rating of each (user, item) pair in ``matrix``'s storage order; NaN where unrated.
    pair_time : ndarray of shape (nnz,)
        Unix seconds of the pair's latest comment in the same order; NaN where there is no time.
    comment_user : ndarray of shape (n_comments,)
        Index into ``user_ids`` of each comment row (``-1`` for a user not in ``user_ids``).
    texts : ndarray of shape (n_comments,)
        Comment texts; row i is ``comments.frame`` row i.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    matrix: sp.csr_matrix
    pair_rating: np.ndarray
    pair_time: np.ndarray
    comment_user: np.ndarray
    texts: np.ndarray

    @classmethod
    def from_comments(cls, comments: Comments, user_ids: Sequence[str] | np.ndarray) -> Interactions:
        """Build the interactions of ``comments`` for the users ``user_ids`` (e.g. ``Profiles.user_ids``).

        Several comments by one user on one item make one pair: its rating is their mean, its time the
        latest. Comments without an item count only as text.
        """
        frame = comments.frame
        user_ids = np.asarray(user_ids, dtype=object)
        comment_user = pd.Index(user_ids).get_indexer(frame["user_id"]).astype(np.int64)
        texts = frame["text"].to_numpy(dtype=object)
        n_users = len(user_ids)
        if "item_id" not in frame.columns:
            empty = np.empty(0)
            return cls(user_ids, np.empty(0, dtype=object), sp.csr_matrix((n_users, 0), dtype=np.float32),
                       empty, empty, comment_user, texts)
        keep = (frame["item_id"].notna() & (comment_user >= 0)).to_numpy()
        items = frame.loc[keep, "item_id"].astype(str).to_numpy()
        item_ids, item_index = np.unique(items, return_inverse=True)
        pairs = pd.DataFrame({
            "u": comment_user[keep],
            "i": item_index,
            "r": frame.loc[keep, "rating"].to_numpy(np.float64) if "rating" in frame else np.nan,
            "t": _seconds(frame.loc[keep, "time"]) if "time" in frame else np.nan,
        })
        pairs = pairs.groupby(["u", "i"], sort=True).agg(r=("r", "mean"), t=("t", "max")).reset_index()
        indptr = np.concatenate([[0], np.cumsum(np.bincount(pairs["u"], minlength=n_users))])
        matrix = sp.csr_matrix(
            (np.ones(len(pairs), np.float32), pairs["i"].to_numpy(np.int32), indptr),
            shape=(n_users, len(item_ids)),
        )
        return cls(user_ids, item_ids.astype(object), matrix, pairs["r"].to_numpy(np.float64),
                   pairs["t"].to_numpy(np.float64), comment_user, texts)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def has_ratings(self) -> bool:
        return bool(np.isfinite(self.pair_rating).any())

    @property
    def pair_user(self) -> np.ndarray:
        """User index of each pair, in ``matrix``'s storage order."""
        return np.repeat(np.arange(self.n_users), np.diff(self.matrix.indptr))

    def user_index(self, user_id: str) -> int:
        """Row of ``user_id``; :class:`ConfigError` when the user is not in the data."""
        found = np.flatnonzero(self.user_ids == str(user_id))
        if not len(found):
            raise ConfigError(unknown_user_message(user_id, self.user_ids))
        return int(found[0])

    def weights(self) -> sp.csr_matrix:
        """Rating-weighted matrix: the pair's rating, the mean rating where unrated, 1.0 without ratings."""
        if not self.has_ratings:
            return self.matrix.copy()
        fill = np.nanmean(self.pair_rating)
        values = np.where(np.isfinite(self.pair_rating), self.pair_rating, fill).astype(np.float32)
        return sp.csr_matrix((values, self.matrix.indices, self.matrix.indptr), shape=self.matrix.shape)

    def without_pairs(self, drop: np.ndarray) -> Interactions:
        """The same interactions less the pairs where ``drop`` (shape (nnz,)) is True."""
        keep = ~np.asarray(drop, dtype=bool)
        counts = np.bincount(self.pair_user[keep], minlength=self.n_users)
        indptr = np.concatenate([[0], np.cumsum(counts)])
        matrix = sp.csr_matrix(
            (self.matrix.data[keep], self.matrix.indices[keep], indptr), shape=self.matrix.shape
        )
        return replace(
            self, matrix=matrix, pair_rating=self.pair_rating[keep], pair_time=self.pair_time[keep]
        )


def _seconds(times: pd.Series) -> np.ndarray:
    values = pd.to_datetime(times, utc=True)
    return ((values - pd.Timestamp(0, tz="UTC")).dt.total_seconds()).to_numpy(np.float64)


def pick_holdout(pair_user: np.ndarray, pair_time: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Choose one pair to hold out per user with at least 2 pairs: the latest, else one at random.

    Parameters
    ----------
    pair_user : ndarray of shape (n_pairs,)
        User index of each (user, item) pair.
    pair_time : ndarray of shape (n_pairs,)
        Time of each pair (NaN where unknown). When every time is NaN the pick is random (seeded);
        otherwise the latest wins, ties going to the later pair.
    seed : int

    Returns
    -------
    ndarray of bool, shape (n_pairs,)
    """
    pair_user = np.asarray(pair_user)
    n = len(pair_user)
    if n == 0:
        return np.zeros(0, dtype=bool)
    times = np.asarray(pair_time, dtype=np.float64)
    random = np.isnan(times).all()
    key = np.random.default_rng(seed).random(n) if random else np.where(np.isnan(times), -np.inf, times)
    order = np.lexsort((np.arange(n), key, pair_user))
    sorted_users = pair_user[order]
    last = np.append(sorted_users[1:] != sorted_users[:-1], True)
    counts = np.bincount(pair_user)
    chosen = order[last & (counts[sorted_users] >= 2)]
    mask = np.zeros(n, dtype=bool)
    mask[chosen] = True
    return mask


def target_rank(ranked: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1-based position of each row's target item in its ranked list, 0 where it is absent.

    ``ranked`` is (n_rows, n) item indices (``-1`` pads short lists); ``targets`` is (n_rows,), ``-1`` for an
    item the model cannot know (never a hit).
    """
    targets = np.asarray(targets)
    hits = (ranked == targets[:, None]) & (targets[:, None] >= 0)
    return np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, 0)


def rank_gain(ranks: np.ndarray) -> np.ndarray:
    """NDCG gain of a single held-out item at 1-based ``ranks``: ``1 / log2(rank + 1)``, 0 for a miss."""
    ranks = np.asarray(ranks, dtype=np.float64)
    return np.divide(1.0, np.log2(ranks + 1.0), out=np.zeros_like(ranks), where=ranks > 0)


def rank_unseen(score: Callable[[np.ndarray], np.ndarray], matrix: sp.csr_matrix, rows: np.ndarray,
                n: int) -> np.ndarray:
    """Top-``n`` items per row of ``score(rows)`` among those ``matrix`` does not mark seen; ``-1`` pads.

    ``score(chunk)`` returns (len(chunk), n_items) scores; rows are scored in chunks to bound memory.
    """
    rows = np.asarray(rows, dtype=np.int64)
    n_items = matrix.shape[1]
    ranked = np.full((len(rows), n), -1, dtype=np.int64)
    if n_items == 0:
        return ranked
    take = min(n, n_items)
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start:start + _CHUNK]
        scores = np.array(score(chunk), dtype=np.float64)
        seen = matrix[chunk]
        scores[np.repeat(np.arange(len(chunk)), np.diff(seen.indptr)), seen.indices] = -np.inf
        top = np.argpartition(-scores, take - 1, axis=1)[:, :take]
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        top_scores = np.take_along_axis(top_scores, order, axis=1)
        ranked[start:start + len(chunk), :take] = np.where(np.isfinite(top_scores), top, -1)
    return ranked


@dataclass(frozen=True)
class Validation:
    """A validation split carved from the training interactions only (never from the test users' held-out item).

    ``training`` is the data less each user's latest pair (users with at least 2 pairs); ``rows`` and
    ``targets`` are those users and their held-out items, at most ``max_users`` of them (a seeded sample).
    """

    training: Interactions
    rows: np.ndarray
    targets: np.ndarray

    @classmethod
    def split(cls, data: Interactions, *, seed: int = 0, max_users: int = 3000) -> Validation:
        held = pick_holdout(data.pair_user, data.pair_time, seed=seed)
        rows, targets = data.pair_user[held], data.matrix.indices[held]
        if len(rows) > max_users:
            keep = np.sort(np.random.default_rng(seed).choice(len(rows), max_users, replace=False))
            rows, targets = rows[keep], targets[keep]
        return cls(data.without_pairs(held), rows, targets)

    def gains(self, score: Callable[[np.ndarray], np.ndarray], top_n: int) -> np.ndarray:
        """NDCG@``top_n`` gain per validation user of the scores ``score(rows)``."""
        ranked = rank_unseen(score, self.training.matrix, self.rows, top_n)
        return rank_gain(target_rank(ranked, self.targets))


def clear_gain(difference: np.ndarray, *, seed: int = 0, n_boot: int = 1000) -> tuple[float, float]:
    """95 % paired-bootstrap interval of the mean of per-user ``difference`` (resampling users)."""
    difference = np.asarray(difference, dtype=np.float64)
    if not len(difference):
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for start in range(0, n_boot, 100):
        picks = rng.integers(0, len(difference), size=(min(100, n_boot - start), len(difference)))
        means[start:start + len(picks)] = difference[picks].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


class Recommender(Protocol):
    """The one interface: fit on interactions, profiles and segments; recommend for one user."""

    def fit(self, data: Interactions, user_vectors: np.ndarray | None, labels: np.ndarray, *,
            comment_vectors: np.ndarray | None = None) -> Recommender:
        """Learn from ``data``; ``user_vectors`` and ``labels`` are aligned with ``data.user_ids``."""
        ...

    def recommend(self, user_id: str, n: int = 10) -> list[Recommendation]:
        """The ``n`` best suggestions for ``user_id``, best first."""
        ...


RECOMMENDERS: dict[str, type] = {}


def register(name: str) -> Callable[[type], type]:
    """Class decorator adding a recommender to :data:`RECOMMENDERS` under ``name``."""

    def add(cls: type) -> type:
        cls.name = name
        RECOMMENDERS[name] = cls
        return cls

    return add


def make_recommender(name: str, **params: Any) -> Any:
    """Build the registered recommender ``name`` from the parameters it accepts (``seed`` ...).

    Parameters the class does not take are ignored, so one call site can feed every recommender.

    Raises
    ------
    ConfigError
        If ``name`` is not registered.
    """
    if name not in RECOMMENDERS:
        raise ConfigError(f"unknown method {name!r}; choose one of {', '.join(RECOMMENDERS)}")
    cls = RECOMMENDERS[name]
    accepted = inspect.signature(cls.__init__).parameters
    return cls(**{key: value for key, value in params.items() if key in accepted})


def item_recommenders(*, segment_aware: bool | None = None) -> list[str]:
    """Names of the registered item recommenders, optionally only those that do (not) use segments."""
    return [name for name, cls in RECOMMENDERS.items() if cls.recommends_items
            and (segment_aware is None or cls.segment_aware == segment_aware)]


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


class ItemRecommender(ABC):
    """Shared work of the item recommenders: ranking, excluding seen items, noise fallback, reasons.

    A subclass computes ``_score(rows)`` (higher is better, shape (len(rows), n_items)) and
    ``_reason(row, item)``. ``segment_aware`` subclasses get global popularity for noise users.
    """

    name = ""
    label = ""
    segment_aware = False
    uses_text = False
    recommends_items = True

    def fit(self, data: Interactions, user_vectors: np.ndarray | None, labels: np.ndarray, *,
            comment_vectors: np.ndarray | None = None) -> ItemRecommender:
        """Learn from the interactions.

        Parameters
        ----------
        data : Interactions
        user_vectors : ndarray of shape (n_users, d) or None
            L2-normalised text profiles aligned with ``data.user_ids`` (only ``uses_text`` methods use them).
        labels : ndarray of shape (n_users,)
            Segment per user, ``-1`` = noise.
        comment_vectors : ndarray of shape (n_comments, d) or None
            The comments' embeddings; item recommenders do not use them (one ``fit`` for every recommender).

        Returns
        -------
        self
        """
        self.data_ = data
        self.labels_ = np.asarray(labels, dtype=np.int64)
        if len(self.labels_) != data.n_users:
            raise ConfigError(f"{len(self.labels_)} labels for {data.n_users} users: they must align")
        matrix = data.matrix
        self.item_users_ = np.asarray(matrix.sum(axis=0)).ravel()
        rated = np.isfinite(data.pair_rating)
        self.item_rated_ = np.bincount(matrix.indices[rated], minlength=data.n_items)
        self.item_rating_sum_ = np.bincount(
            matrix.indices[rated], weights=data.pair_rating[rated], minlength=data.n_items
        )
        # Popularity as a number in [0, 1): added to integer counts it only breaks ties, and it ranks
        # the items no neighbour reached below every item one did.
        self.tiebreak_ = self.item_users_ / (self.item_users_.max(initial=0) + 1.0)
        self._fit(user_vectors)
        return self

    @abstractmethod
    def _fit(self, user_vectors: np.ndarray | None) -> None:
        """Method-specific learning, after the shared counts are in place."""

    @abstractmethod
    def _score(self, rows: np.ndarray) -> np.ndarray:
        """Scores of every item for users ``rows`` (noise users included; the caller replaces them)."""

    @abstractmethod
    def _reason(self, row: int, item: int) -> str:
        """One sentence: why ``item`` is suggested to user ``row`` (a user in a segment)."""

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """Scores of every item for the users ``rows``: ndarray of shape (len(rows), n_items)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.data_.n_items), dtype=np.float64)
        noise = self._is_noise(rows)
        if (~noise).any():
            out[~noise] = self._score(rows[~noise])
        out[noise] = self.item_users_ + self.tiebreak_
        return out

    def rank(self, rows: np.ndarray, n: int = 10) -> np.ndarray:
        """Top-``n`` unseen item indices per user row, best first; ``-1`` pads short lists.

        Parameters
        ----------
        rows : ndarray of shape (n_rows,)
            User indices into ``data.user_ids``.
        n : int

        Returns
        -------
        ndarray of shape (n_rows, n)
        """
        return rank_unseen(self.scores, self.data_.matrix, rows, n)

    def recommend(self, user_id: str, n: int = 10) -> list[Recommendation]:
        """The ``n`` best unseen items for ``user_id``, best first, each with a score and a reason."""
        row = self.data_.user_index(user_id)
        items = self.rank(np.array([row]), n)[0]
        items = items[items >= 0]
        scores = self.scores(np.array([row]))[0]
        noise = bool(self._is_noise(np.array([row]))[0])
        return [
            Recommendation(
                item_id=str(self.data_.item_ids[item]),
                score=float(scores[item]),
                reason=self._noise_reason(item) if noise else self._reason(row, int(item)),
            )
            for item in items
        ]

    def _is_noise(self, rows: np.ndarray) -> np.ndarray:
        if not self.segment_aware:
            return np.zeros(len(rows), dtype=bool)
        return self.labels_[rows] < 0

    def _popularity_phrase(self, item: int) -> str:
        text = f"chosen by {_plural(int(self.item_users_[item]), 'user')} overall"
        return text + self._mean_phrase(self.item_rating_sum_[item], self.item_rated_[item])

    @staticmethod
    def _mean_phrase(rating_sum: float, rated: int) -> str:
        return f", mean rating {rating_sum / rated:.1f}" if rated else ""

    def _noise_reason(self, item: int) -> str:
        return f"{self._popularity_phrase(item)} (you are in no segment, so global popularity is used)"


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


def _unit_rows(matrix: Any) -> Any:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel()) if sp.issparse(matrix) \
        else np.linalg.norm(matrix, axis=1)
    scale = np.divide(1.0, norms, out=np.zeros_like(norms, dtype=np.float64), where=norms > 0)
    if sp.issparse(matrix):
        return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ matrix)
    return (matrix * scale[:, None]).astype(np.float32)


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
    uses_text = False

    def __init__(self, n_neighbors: int = 50, use_ratings: bool = True) -> None:
        super().__init__(n_neighbors=n_neighbors, text_weight=0.0, use_ratings=use_ratings,
                         popularity_weight=0.0)


@register("item_knn")
class ItemKNN(ItemRecommender):
    """Item-kNN: items often chosen together with the user's items (cosine over the item columns).

    Parameters
    ----------
    n_neighbors : int
        Similar items kept per item.
    """

    label = "items often chosen together"

    def __init__(self, n_neighbors: int = 50) -> None:
        self.n_neighbors = n_neighbors

    def _fit(self, user_vectors: np.ndarray | None) -> None:
        columns = _unit_rows(self.data_.matrix.T.tocsr())
        similar = (columns @ columns.T).tocsr()
        similar.setdiag(0)
        similar.eliminate_zeros()
        self.similar_ = _keep_top(similar, self.n_neighbors)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        scores = (self.data_.matrix[rows] @ self.similar_).toarray()
        return np.where(scores > 0, scores, self.tiebreak_ - 1.0)

    def _reason(self, row: int, item: int) -> str:
        mine = self.data_.matrix[row].indices
        links = self.similar_[mine][:, [item]].toarray().ravel()
        with_it = mine[links > 0]
        if not len(with_it):
            return f"not linked to your items; {self._popularity_phrase(item)}"
        strongest = with_it[np.argsort(-links[links > 0], kind="stable")][:3]
        examples = ", ".join(str(self.data_.item_ids[i]) for i in strongest)
        return f"often chosen together with {_plural(len(with_it), 'item')} you have (e.g. {examples})"


EASE_L2_GRID = (10.0, 100.0, 500.0, 2000.0)
"""L2 strengths EASE tries on its validation split. The recipe reviews' validation favoured the large
end (200 to 500 of 1 to 500: their 100 recipes are each chosen by dozens of users), the Stack Exchange
threads the small end (1 to 10 within 2 %); four values a factor 4 to 10 apart cover both at four
factorisations per fit."""

# EASE factorises the same (training matrix, L2) several times in one evaluation (EASE itself, EASE blended
# with segments, the policy's candidates): keep the last few results, keyed by the matrix's content.
_EASE_CACHE: dict[tuple, np.ndarray] = {}
_EASE_CACHE_SIZE = 6


def _ease_weights(matrix: sp.csr_matrix, l2: float) -> np.ndarray:
    """EASE's item-item weights: ``B = I - P / diag(P)`` with ``P = (X'X + l2 I)^-1`` (zero diagonal).

    ``X'X + l2 I`` is symmetric positive definite, so a Cholesky inverse (LAPACK ``potrf``/``potri``)
    does it: 4x faster than a general inverse at 5,000 items here.
    """
    digest = hashlib.blake2b(matrix.indptr.tobytes(), digest_size=16)
    digest.update(matrix.indices.tobytes())
    digest.update(np.asarray(matrix.data, np.float32).tobytes())
    key = (matrix.shape, digest.hexdigest(), float(l2))
    if key not in _EASE_CACHE:
        gram = (matrix.T @ matrix).astype(np.float32).toarray()
        gram[np.diag_indices_from(gram)] += l2
        factor, info = scipy.linalg.lapack.spotrf(gram, lower=False, overwrite_a=True)
        upper, info2 = scipy.linalg.lapack.spotri(factor, lower=False, overwrite_c=True)
        if info or info2:
            raise ConfigError(f"EASE could not invert the item matrix with L2 {l2}: raise it")
        inverse = np.triu(upper) + np.triu(upper, 1).T
        weights = inverse / -np.diag(inverse)
        weights[np.diag_indices_from(weights)] = 0.0
        while len(_EASE_CACHE) >= _EASE_CACHE_SIZE:
            del _EASE_CACHE[next(iter(_EASE_CACHE))]
        _EASE_CACHE[key] = weights
    return _EASE_CACHE[key]


@register("ease")
class EASE(ItemRecommender):
    """EASE (Steck, 2019): a closed-form linear item-item model, a strong simple collaborative filter.

    ``B = argmin ||X - XB||² + l2 ||B||²`` with ``diag(B) = 0`` has the closed form ``B = I - P / diag(P)``,
    ``P = (X'X + l2 I)^-1``; a user's item scores are their row of ``X`` times ``B``. Cost: one inverse of
    an (n_items x n_items) matrix per fit (about 3 s at 5,000 items here), so it suits up to ~10k items.

    Parameters
    ----------
    l2 : float or None
        The L2 strength. None chooses it from ``l2_grid`` by NDCG@``top_n`` on a validation split carved
        from the training data (:class:`Validation`): each user's latest training item is held out.
    l2_grid : sequence of float
    top_n : int
    seed : int
        Seeds the validation hold-out without times, and its sample of users.
    """

    label = "EASE, a strong recommender that ignores segments"

    def __init__(self, l2: float | None = None, l2_grid: Sequence[float] = EASE_L2_GRID, top_n: int = 10,
                 seed: int = 0) -> None:
        self.l2 = l2
        self.l2_grid = l2_grid
        self.top_n = top_n
        self.seed = seed

    def _fit(self, user_vectors: np.ndarray | None) -> None:
        self.l2_ = self.l2
        if self.l2_ is None:
            validation = Validation.split(self.data_, seed=self.seed)
            self.validation_ = {
                float(l2): float(validation.gains(EASE(l2=l2).fit(validation.training, None, self.labels_).scores,
                                                  self.top_n).mean())
                for l2 in self.l2_grid
            }
            self.l2_ = max(self.validation_, key=self.validation_.get)
        self.weights_ = _ease_weights(self.data_.matrix, float(self.l2_))

    def _score(self, rows: np.ndarray) -> np.ndarray:
        # Popularity only orders what EASE leaves at 0 (a user with no items): its scale is far below EASE's.
        return np.asarray(self.data_.matrix[rows] @ self.weights_) + 1e-6 * self.tiebreak_

    def _reason(self, row: int, item: int) -> str:
        mine = self.data_.matrix[row].indices
        links = self.weights_[mine, item]
        if not len(mine) or links.max(initial=0) <= 0:
            return f"not linked to your items; {self._popularity_phrase(item)}"
        strongest = mine[np.argsort(-links, kind="stable")][: min(3, int((links > 0).sum()))]
        examples = ", ".join(str(self.data_.item_ids[i]) for i in strongest)
        return f"goes with items you have (e.g. {examples}); {self._popularity_phrase(item)}"


@register("als")
class ALS(ItemRecommender):
    """Implicit-feedback matrix factorisation by alternating least squares (the ``implicit`` library).

    Defaults chosen on validation splits of the training data (never the test users' items): on the
    recipe reviews the best of factors {16, 32, 64} x regularization {0.01, 0.1, 1} x alpha {1, 10} was
    (16, 0.1, 1), on the Stack Exchange threads (32, 1, 10); 32 / 0.1 / 1 sits between them.

    Parameters
    ----------
    factors, regularization, alpha, iterations : as in ``implicit.cpu.als.AlternatingLeastSquares``
    seed : int
    """

    label = "ALS matrix factorisation, which ignores segments"

    def __init__(self, factors: int = 32, regularization: float = 0.1, alpha: float = 1.0, iterations: int = 15,
                 seed: int = 0) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.seed = seed

    def _fit(self, user_vectors: np.ndarray | None) -> None:
        # Imported here: only the evaluation and the pages that run ALS need it.
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        # implicit runs its own threads; a multi-threaded BLAS underneath only makes them fight.
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(factors=self.factors, regularization=self.regularization,
                                            alpha=self.alpha, iterations=self.iterations, random_state=self.seed)
            model.fit(self.data_.matrix.astype(np.float32), show_progress=False)
        self.user_factors_ = np.asarray(model.user_factors)
        self.item_factors_ = np.asarray(model.item_factors)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return self.user_factors_[rows] @ self.item_factors_.T + 1e-6 * self.tiebreak_

    def _reason(self, row: int, item: int) -> str:
        return f"matches the pattern of your items (matrix factorisation); {self._popularity_phrase(item)}"


def _scaled(scores: np.ndarray) -> np.ndarray:
    """Each row divided by its largest absolute value, so two scores of different units can be blended."""
    top = np.abs(scores).max(axis=1, keepdims=True)
    return scores / np.where(top > 0, top, 1.0)


SEGMENT_BLEND_GRID = (0.0, 0.1, 0.3, 1.0, 3.0)
"""Weights of segment popularity in :class:`SegmentEASE` tried on its validation split (0 = plain EASE)."""


@register("segment_ease")
class SegmentEASE(ItemRecommender):
    """EASE blended with the user's segment's popularity: ``scaled(EASE) + blend * scaled(segment counts)``.

    ``blend`` is chosen on a validation split of the training data (:class:`Validation`), 0 included, so
    where segments add nothing the model *is* EASE. A noise user gets global popularity in the blend; a
    user with no items (cold) gets their segment's popularity. EASE's own L2 is chosen as in :class:`EASE`.

    Measured (``benchmarks/recommendations.py``, leave-last-out NDCG@10, tfidf segments, k by silhouette):
    recipe reviews (users with ≥ 2 comments) 0.118 against EASE's 0.100, their 5-core 0.138 against 0.125;
    the Stack Exchange threads' validation chose 0, so there it is EASE (0.044). Tried and not shipped:
    EASE per segment with the segment's users up-weighted (shrunk towards the global model): -0.001 and
    +0.0001 NDCG@10 against EASE on the recipes and the threads.

    Parameters
    ----------
    l2 : float or None
    blend : float or None
        None chooses it from ``blend_grid`` on the validation split.
    blend_grid : sequence of float
    top_n : int
    seed : int
    """

    label = "EASE re-weighted by what the user's segment chose"
    segment_aware = True

    def __init__(self, l2: float | None = None, blend: float | None = None,
                 blend_grid: Sequence[float] = SEGMENT_BLEND_GRID, top_n: int = 10, seed: int = 0) -> None:
        self.l2 = l2
        self.blend = blend
        self.blend_grid = blend_grid
        self.top_n = top_n
        self.seed = seed

    @staticmethod
    def _parts(data: Interactions, labels: np.ndarray, l2: float | None, seed: int) -> tuple[EASE, SegmentPopularity]:
        ease = EASE(l2=l2, seed=seed).fit(data, None, labels)
        return ease, SegmentPopularity().fit(data, None, labels)

    def _fit(self, user_vectors: np.ndarray | None) -> None:
        self.ease_, self.popularity_ = self._parts(self.data_, self.labels_, self.l2, self.seed)
        self.blend_ = self.blend
        if self.blend_ is None:
            validation = Validation.split(self.data_, seed=self.seed)
            ease, popularity = self._parts(validation.training, self.labels_, self.ease_.l2_, self.seed)

            def blended(weight: float) -> Callable[[np.ndarray], np.ndarray]:
                return lambda rows: _scaled(ease.scores(rows)) + weight * _scaled(popularity.scores(rows))

            self.validation_ = {float(w): float(validation.gains(blended(w), self.top_n).mean())
                                for w in self.blend_grid}
            self.blend_ = max(self.validation_, key=self.validation_.get)

    def _is_noise(self, rows: np.ndarray) -> np.ndarray:
        # A noise user still gets EASE; segment popularity already falls back to global popularity for them.
        return np.zeros(len(rows), dtype=bool)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return _scaled(self.ease_.scores(rows)) + self.blend_ * _scaled(self.popularity_.scores(rows))

    def _reason(self, row: int, item: int) -> str:
        inner = self.ease_._reason(row, item)
        if self.labels_[row] < 0 or self.blend_ == 0:
            return inner
        return f"{self.popularity_._reason(row, item)}; {inner.split('; ')[0]}"


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


POLICY_CANDIDATES = ("global_popularity", "segment_popularity", "ease", "interaction_knn", "segment_knn")


@register("segment_policy")
class SegmentPolicy(ItemRecommender):
    """Per segment, a method chosen on a validation split carved from the training data, shrunk to one.

    ``fit`` holds out each user's latest remaining interaction (:class:`Validation`), fits every
    candidate on the rest and scores NDCG@``top_n`` per user. The method that wins over all validation
    users is the global choice. A segment gets another method only when it beats the global choice on
    that segment's validation users **clearly**: the paired bootstrap's 95 % interval of the difference
    lies above 0 and the segment has at least ``min_validation_users``. Otherwise it falls back to the
    global choice: small validation splits pick noise (the old per-segment argmax lost to its own global
    choice on the recipe reviews). Then the chosen candidates are refitted on all the data. Noise users
    get the global choice.

    Parameters
    ----------
    candidates : sequence of str
        Names in :data:`RECOMMENDERS` (item recommenders other than this one).
    min_validation_users : int
    top_n : int
        List length of the validation metric.
    seed : int
        Seeds the validation hold-out without times and the bootstrap.
    text_weight : float
        Text share of the candidates that read text. 0 by default: the profiles given to ``fit`` contain
        the validation comments' text, which names what the user chose (a recipe's own words), so any text
        share wins the validation by leakage and then loses on the test split (measured on the recipe
        reviews: the policy fell from popularity's NDCG@10 0.135 to 0.089 with text in the candidates).
    """

    label = "a method chosen per segment"
    segment_aware = True

    def __init__(self, candidates: Sequence[str] = POLICY_CANDIDATES, min_validation_users: int = 30,
                 top_n: int = 10, seed: int = 0, text_weight: float = 0.0) -> None:
        self.candidates = candidates
        self.min_validation_users = min_validation_users
        self.top_n = top_n
        self.seed = seed
        self.text_weight = text_weight

    def _candidate(self, name: str) -> ItemRecommender:
        return make_recommender(name, text_weight=self.text_weight, seed=self.seed, top_n=self.top_n)

    def _fit(self, user_vectors: np.ndarray | None) -> None:
        unknown = [name for name in self.candidates
                   if name not in RECOMMENDERS or RECOMMENDERS[name] is type(self)
                   or not RECOMMENDERS[name].recommends_items]
        if unknown or not self.candidates:
            raise ConfigError(f"policy candidates must be other item recommenders, not {unknown}")
        candidates = list(self.candidates)
        validation = Validation.split(self.data_, seed=self.seed, max_users=len(self.data_.user_ids))
        gains = {
            name: validation.gains(self._candidate(name).fit(validation.training, user_vectors, self.labels_).scores,
                                   self.top_n)
            for name in candidates
        }
        table = pd.DataFrame(gains).assign(segment=self.labels_[validation.rows])
        overall = table[candidates].mean() if len(table) else pd.Series(0.0, candidates)
        self.global_choice_ = str(overall.idxmax())
        by_segment = table[table["segment"] >= 0].groupby("segment")
        self.validation_ = by_segment[candidates].mean().assign(users=by_segment.size())
        self.choice_: dict[int, str] = {}
        self.decided_: dict[int, bool] = {}
        for segment in np.unique(self.labels_[self.labels_ >= 0]).tolist():
            self.choice_[segment] = self.global_choice_
            self.decided_[segment] = False
            if segment not in self.validation_.index or \
                    self.validation_.loc[segment, "users"] < self.min_validation_users:
                continue
            inside = table[table["segment"] == segment]
            best = str(inside[candidates].mean().astype(float).idxmax())
            if best == self.global_choice_:
                continue
            low, _ = clear_gain(inside[best].to_numpy() - inside[self.global_choice_].to_numpy(), seed=self.seed)
            if low > 0:
                self.choice_[segment], self.decided_[segment] = best, True
        self.models_ = {
            name: self._candidate(name).fit(self.data_, user_vectors, self.labels_)
            for name in sorted({*self.choice_.values(), self.global_choice_})
        }

    def _is_noise(self, rows: np.ndarray) -> np.ndarray:
        # Noise users get the global choice (see _method), not the base class's popularity.
        return np.zeros(len(rows), dtype=bool)

    def _method(self, label: int) -> str:
        return self.choice_.get(int(label), self.global_choice_)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), self.data_.n_items))
        methods = np.array([self._method(label) for label in self.labels_[rows]], dtype=object)
        for name, model in self.models_.items():
            chosen = methods == name
            if chosen.any():
                out[chosen] = model.scores(rows[chosen])
        return out

    def _reason(self, row: int, item: int) -> str:
        segment = int(self.labels_[row])
        name = self._method(segment)
        inner = self.models_[name]._reason(row, item)
        if segment < 0:
            how = "you are in no segment, so the overall winner is used"
        elif self.decided_[segment]:
            how = "it clearly won for your segment on a validation split"
        else:
            how = "no method clearly beat the overall winner for your segment"
        return f"{inner} ({RECOMMENDERS[name].label}: {how})"


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


def unknown_user_message(user_id: str, known: Sequence[str]) -> str:
    """Say the user is missing, and suggest the closest ids (users mistype case and leading zeros)."""
    known = [str(k) for k in known]
    lowered = {k.lower(): k for k in known}
    close = difflib.get_close_matches(str(user_id).lower(), list(lowered), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(lowered[c]) for c in close)}?" if close else "; pick one of its user ids"
    return f"user {user_id!r} is not in the data ({len(known):,} users){hint}"
