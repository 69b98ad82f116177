"""The recommenders' shared ground: the data they learn from, the suggestion, the ranking helpers, the registry.

Every recommender is one class with scikit-learn manners: parameters in ``__init__``,
``fit(data, user_vectors, labels)`` learns, ``recommend(user_id, n)`` answers. ``labels`` holds one
segment per user (aligned with ``data.user_ids``, ``-1`` = noise); segment-aware recommenders give a noise
user global popularity and say so in the reason. Every item recommender excludes what the user already has.

Register a new recommender with ``@register("name")``; :data:`RECOMMENDERS` maps names to classes and
:func:`make_recommender` builds one from any mix of parameters. What differs between recommenders lives on
the class: ``label`` (for people, in plain words), ``technical`` (its name in the literature, for a tooltip),
``segment_aware`` (does it use the segments?), ``uses_text`` (does it
read the text profiles?), ``recommends_items`` (items, or peer comments for data without items) and ``grid``
(the values a validation split carved from the training data chooses among, for parameters left at None).

The recommenders themselves live one family per module (:mod:`~segmentation.recommend.popularity`,
:mod:`~segmentation.recommend.knn`, :mod:`~segmentation.recommend.linear`, :mod:`~segmentation.recommend.content`,
:mod:`~segmentation.recommend.policy`, :mod:`~segmentation.recommend.peer_comments`); each imports this module
and registers its classes, and the package's ``__init__`` imports every family, so the registry is full
whichever module is imported first.
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp

from segmentation.core.errors import ConfigError

if TYPE_CHECKING:
    from segmentation.ingest.comments import Comments

# Rows scored at once by the user-kNN: a (chunk x n_users) float32 block stays near 40 MB at 20k users.
_CHUNK = 512
# Tuning outcomes kept per (class, fixed parameters, data): the evaluation fits the same tuned peer more than
# once (EASE alone, inside EASE + segments, as a policy candidate), and the grid need not be searched again.
_TUNED: dict[tuple, tuple[dict, pd.DataFrame, float]] = {}
_TUNED_SIZE = 32


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
    item_labels : ndarray of shape (n_items,) or None
        How each item shows in a reason (:meth:`labelled`); None: by its id.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    matrix: sp.csr_matrix
    pair_rating: np.ndarray
    pair_time: np.ndarray
    comment_user: np.ndarray
    texts: np.ndarray
    item_labels: np.ndarray | None = None

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

    def labelled(self, label: Callable[[str], str]) -> Interactions:
        """The same interactions with each item shown as ``label(item_id)`` in reasons (e.g.
        :meth:`segmentation.describe.items.ItemLabels.label`: a name, or the id and the words of its comments)."""
        return replace(self, item_labels=np.array([label(str(item)) for item in self.item_ids], dtype=object))

    def item_label(self, item: int) -> str:
        """How item index ``item`` shows to people: its label where :meth:`labelled` gave one, else its id."""
        return str(self.item_ids[item] if self.item_labels is None else self.item_labels[item])

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


def _listed(data: Interactions, items: Sequence[int]) -> str:
    """Items in words for a reason: ``A``, ``A and B``, ``A, B and C`` (each :meth:`Interactions.item_label`)."""
    labels = [data.item_label(int(i)) for i in items]
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"


class ItemRecommender(ABC):
    """Shared work of the item recommenders: ranking, excluding seen items, noise fallback, reasons.

    A subclass computes ``_score(rows)`` (higher is better, shape (len(rows), n_items)) and
    ``_reason(row, item)``. ``segment_aware`` subclasses get global popularity for noise users.
    """

    name = ""
    label = ""
    technical = ""
    segment_aware = False
    uses_text = False
    recommends_items = True
    grid: ClassVar[Mapping[str, tuple]] = {}
    """Values the validation split tries for each parameter left at None (every combination); the chosen
    values land in ``params_``, each combination's NDCG in ``validation_`` and the chosen one's in
    ``validation_ndcg_`` (the best, unless the class's ``_choose`` prefers a more regularised near-tie).
    A tuned class takes ``seed`` (the validation hold-out without times, its sample of users) and ``top_n``
    (the N of NDCG)."""

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
        self._tune(user_vectors)
        self._fit(user_vectors)
        return self

    def get_params(self) -> dict[str, Any]:
        """The ``__init__`` parameters as given (None where tuning chooses)."""
        return {name: getattr(self, name) for name in inspect.signature(type(self).__init__).parameters
                if name != "self"}

    def _tune(self, user_vectors: np.ndarray | None) -> None:
        """Choose the parameters left at None from :attr:`grid` by NDCG@``top_n`` on a :class:`Validation` split.

        Every combination is fitted on the validation split's training part (the data given to ``fit`` less
        each user's latest item), never on anything the caller holds out; :meth:`_choose` picks among them.
        """
        given = {name: getattr(self, name) for name in self.grid}
        free = [name for name, value in given.items() if value is None]
        self.params_ = dict(given)
        self.validation_ = pd.DataFrame()
        self.validation_ndcg_ = float("nan")
        if not free:
            return
        fixed = self.get_params()
        key = (type(self).__name__, repr(sorted(fixed.items())), _digest(self.data_.matrix),
               _digest(self.data_.pair_rating),
               _digest(self.labels_) if self.segment_aware else "",
               _digest(user_vectors) if self.uses_text and user_vectors is not None else "")
        if key not in _TUNED:
            validation = Validation.split(self.data_, seed=getattr(self, "seed", 0))
            top_n = getattr(self, "top_n", 10)
            records, gains = [], []
            for values in itertools.product(*(self.grid[name] for name in free)):
                combo = dict(zip(free, values, strict=True))
                model = type(self)(**{**fixed, **combo}).fit(validation.training, user_vectors, self.labels_)
                gains.append(validation.gains(model.scores, top_n))
                records.append({**combo, "ndcg": float(gains[-1].mean())})
            best = records[self._choose(records, np.array(gains))]
            while len(_TUNED) >= _TUNED_SIZE:
                del _TUNED[next(iter(_TUNED))]
            _TUNED[key] = ({name: best[name] for name in free}, pd.DataFrame(records), best["ndcg"])
        chosen, self.validation_, self.validation_ndcg_ = _TUNED[key]
        self.params_.update(chosen)

    def _choose(self, records: list[dict], gains: np.ndarray) -> int:
        """Index of the chosen combination: the best mean NDCG (first in grid order on a tie).

        ``records`` holds each combination with its ``ndcg``; ``gains`` (n_combinations, n_validation_users)
        the per-user gains behind them.
        """
        return int(np.argmax([record["ndcg"] for record in records]))

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


def _digest(values: Any) -> str:
    """Exact fingerprint of an array or a sparse matrix (its shape and bytes)."""
    digest = hashlib.blake2b(repr(values.shape).encode(), digest_size=16)
    parts = (values.indptr, values.indices, values.data) if sp.issparse(values) else (values,)
    for part in parts:
        digest.update(np.ascontiguousarray(part).tobytes())
    return digest.hexdigest()


def _unit_rows(matrix: Any) -> Any:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel()) if sp.issparse(matrix) \
        else np.linalg.norm(matrix, axis=1)
    scale = np.divide(1.0, norms, out=np.zeros_like(norms, dtype=np.float64), where=norms > 0)
    if sp.issparse(matrix):
        return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ matrix)
    return (matrix * scale[:, None]).astype(np.float32)


def unknown_user_message(user_id: str, known: Sequence[str]) -> str:
    """Say the user is missing, and suggest the closest ids (users mistype case and leading zeros)."""
    known = [str(k) for k in known]
    lowered = {k.lower(): k for k in known}
    close = difflib.get_close_matches(str(user_id).lower(), list(lowered), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(lowered[c]) for c in close)}?" if close else "; pick one of its user ids"
    return f"user {user_id!r} is not in the data ({len(known):,} users){hint}"
