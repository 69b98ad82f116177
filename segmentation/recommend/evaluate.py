"""Does segmenting help recommendations? Leave-last-out evaluation against global popularity.

Per user with at least 2 items, the latest item (or one at random, seeded, without a time column) is held
out, with every comment the user wrote on it. Profiles and segments are then built from the **training
comments only** (through ``segment_fn``), so the held-out text cannot leak; each recommender is fitted on
the training interactions and must rank the held-out item in its top N among the items the user has not
seen. Users with a single item stay in training and are not scored. The splits themselves live in
:mod:`segmentation.recommend.splits`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from segmentation.core.constraints import TOP_N, validate
from segmentation.core.errors import ConfigError
from segmentation.recommend.base import (
    RECOMMENDERS,
    Interactions,
    clear_gain,
    item_recommenders,
    make_recommender,
    rank_gain,
    target_rank,
)
from segmentation.recommend.splits import cold_split, holdout_split

if TYPE_CHECKING:
    from segmentation.embed.cache import EmbeddingCache
    from segmentation.ingest.comments import Comments
    from segmentation.pipeline.config import SegmentConfig
    from segmentation.pipeline.segment import StageProgress

ALL = tuple(item_recommenders())
BASELINE = "global_popularity"
METRICS = ("hit_rate", "ndcg", "mrr", "coverage")
# Below this relative NDCG difference a method "adds almost nothing": smaller gaps are within what
# re-running with another seed moves on a few hundred users.
NEGLIGIBLE = 0.05
MIN_USERS_TO_TELL = 200
"""Below this many tested users the plain answer says "too few users to tell", whatever the interval."""
METRIC_HELP = {
    "hit_rate": ("Found the next item", "Hit rate@N, here the same as recall@N (one hidden item per user): the share "
                 "of users whose hidden next item is in the top list.", "%.3f"),
    "ndcg": ("Found it near the top", "NDCG@N (normalised discounted cumulative gain): like the share above, but a "
             "find near the top of the list counts more than one near the end.", "%.4f"),
    "mrr": ("Position score", "MRR (mean reciprocal rank): the average of 1 / the hidden item's position (0 when it "
            "is not in the list).", "%.4f"),
    "coverage": ("Items ever suggested", "Catalogue coverage: the share of all items that appear in anyone's list; "
                 "low means everyone gets the same.", "%.2f"),
    "ndcg_lift": ("Against the most popular items", "NDCG relative to recommending the most popular items.",
                  "percent"),
    "ndcg_lift_ease": ("Against the strong recommender", "NDCG relative to EASE (Steck, 2019), a strong recommender "
                       "that ignores segments.", "percent"),
    "validation_ndcg": ("Score while tuning", "NDCG of the chosen settings on a validation split carved from the "
                        "training data, where the method tuned itself (empty: nothing to tune).", "%.4f"),
}
"""Per column of :meth:`Evaluation.table`: a title in plain words, the explanation with the technical name (for a
tooltip) and the number format."""
COLD_METHODS = ("global_popularity", "segment_popularity", "global_knn", "segment_knn", "text_match")
"""Compared on cold users (comments, no items): popularity, the segment's popularity, the text-aware user-kNN
and the text match to items' choosers."""

SegmentFn = Callable[["Comments"], tuple[np.ndarray, np.ndarray, np.ndarray, Mapping[int, str]]]
"""``segment_fn(train_comments) -> (user_ids, user_vectors, labels, names)``: profiles and segments built
from the training comments; ``names`` maps segment id to name."""


@dataclass(frozen=True)
class Answer:
    """The plain answer to "do segments make better recommendations?", for people who are not data scientists.

    Attributes
    ----------
    verdict : {"yes", "no", "unclear"}
        ``unclear`` where the interval spans zero or fewer than :data:`MIN_USERS_TO_TELL` users were tested.
    sentence : str
        Opens with "Yes:" or "No:".
    segment_method, rival : str
        The best segment-aware method and the best method that ignores segments (by NDCG).
    lift, low, high : float
        Relative hit-rate difference of ``segment_method`` over ``rival`` and its 95 % paired-bootstrap
        interval (resampling users).
    users : int
    """

    verdict: str
    sentence: str
    segment_method: str
    rival: str
    lift: float
    low: float
    high: float
    users: int


@dataclass(frozen=True)
class Evaluation:
    """Ranking metrics at ``top_n`` per method, overall and per segment.

    Attributes
    ----------
    methods : dict
        Method → {hit_rate, ndcg, mrr, coverage} over all evaluated users.
    per_segment : list of dict
        ``{"segment", "name", "users", <method>: {...}}`` per segment (``-1`` = noise), by segment id.
    n_users_evaluated : int
    top_n : int
    verdict : str
        Plain sentences for the technical view: best segment-aware method against the best overall.
    per_user : DataFrame
        ``user_id, segment, train_items, method, rank`` (1-based position of the held-out item, 0 = missed).
    cold : dict
        Cold users (comments, no items): ``users`` and per method ``recall`` (recall@top_n), with the
        segment method's ratio to popularity and its interval, the best text method (``text_method``), and
        ``compare``: each method against popularity and each text method against the segment's popularity,
        as relative recall differences with their 95 % intervals; empty where there were too few.
    tuning : dict
        Method → ``{"params": chosen values, "validation_ndcg": NDCG@top_n on its validation split}`` for the
        methods that tuned themselves on a validation split carved from the training data.
    seed : int
    """

    methods: dict[str, dict[str, float]]
    per_segment: list[dict]
    n_users_evaluated: int
    top_n: int
    verdict: str = ""
    per_user: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    cold: dict = field(default_factory=dict)
    tuning: dict = field(default_factory=dict)
    seed: int = 0

    def to_dict(self) -> dict:
        """The JSON-able record written as ``evaluation.json``; each method carries its lifts."""
        per_segment = [
            {**entry, **_with_lift({m: v for m, v in entry.items() if m in self.methods})}
            for entry in self.per_segment
        ]
        return _json_safe({
            "methods": _with_lift(self.methods),
            "per_segment": per_segment,
            "n_users_evaluated": self.n_users_evaluated,
            "top_n": self.top_n,
            "verdict": self.verdict,
            "answer": asdict(self.answer()),
            "comparison": self.comparison().to_dict(orient="records"),
            "where_segments_help": self.where_segments_help().to_dict(orient="records"),
            "cold": self.cold,
            "tuning": self.tuning,
        })

    def _gains(self, method: str, rows: np.ndarray | None = None) -> np.ndarray:
        mine = self.per_user[self.per_user["method"] == method]
        ranks = mine["rank"].to_numpy()
        return rank_gain(ranks if rows is None else ranks[rows])

    def _hits(self, method: str) -> np.ndarray:
        return (self.per_user.loc[self.per_user["method"] == method, "rank"].to_numpy() > 0).astype(np.float64)

    @property
    def segment_methods(self) -> list[str]:
        return [m for m in self.methods if RECOMMENDERS[m].segment_aware]

    def best(self, *, segment_aware: bool) -> str | None:
        """The method with the highest NDCG among those that do (not) use segments."""
        pool = [m for m in self.methods if RECOMMENDERS[m].segment_aware == segment_aware]
        return max(pool, key=lambda m: self.methods[m]["ndcg"]) if pool else None

    def rival(self) -> str:
        """The best method that ignores segments: what the segment-aware methods must beat."""
        return self.best(segment_aware=False) or BASELINE

    def table(self) -> pd.DataFrame:
        """One row per method: the metrics, ``ndcg_lift`` (over popularity), ``ndcg_lift_ease``, and for a
        method that tuned itself the ``chosen`` settings and their ``validation_ndcg``."""
        table = pd.DataFrame(self.methods).T.reindex(columns=list(METRICS))
        table["ndcg_lift"] = [_lift(v, self.methods[BASELINE]["ndcg"]) for v in table["ndcg"]]
        if "ease" in self.methods:
            table["ndcg_lift_ease"] = [_lift(v, self.methods["ease"]["ndcg"]) for v in table["ndcg"]]
        tuned = [self.tuning.get(m, {}) for m in table.index]
        table["chosen"] = [", ".join(f"{k}={v:g}" for k, v in t.get("params", {}).items()) for t in tuned]
        table["validation_ndcg"] = [t.get("validation_ndcg", float("nan")) for t in tuned]
        table.index.name = "method"
        return table

    def comparison(self) -> pd.DataFrame:
        """Each method's NDCG difference to the rival (best method ignoring segments), with its interval.

        Columns ``method, ndcg, difference, low, high`` (absolute NDCG), best first.
        """
        rival = self.rival()
        base = self._gains(rival)
        rows = []
        for method in self.methods:
            diff = self._gains(method) - base
            low, high = clear_gain(diff, seed=self.seed) if method != rival else (0.0, 0.0)
            rows.append({"method": method, "ndcg": self.methods[method]["ndcg"], "difference": float(diff.mean()),
                         "low": low, "high": high})
        return pd.DataFrame(rows).sort_values("ndcg", ascending=False, kind="stable").reset_index(drop=True)

    def _relative(self, method: str, rival: str, rows: np.ndarray | None = None,
                  gains: bool = True) -> tuple[float, float, float]:
        """Relative difference of ``method`` over ``rival`` (NDCG gains or hits) and its 95 % interval."""
        pick = self._gains if gains else (lambda m, r=None: self._hits(m) if r is None else self._hits(m)[r])
        ours, theirs = pick(method, rows), pick(rival, rows)
        base = float(theirs.mean()) if len(theirs) else 0.0
        if base <= 0:
            return float("nan"), float("nan"), float("nan")
        low, high = clear_gain(ours - theirs, seed=self.seed)
        return float(ours.mean()) / base - 1.0, low / base, high / base

    def answer(self) -> Answer:
        """Yes or no, in plain words, with the interval and the number of users tested."""
        segment_method = self.best(segment_aware=True)
        rival = self.rival()
        users = self.n_users_evaluated
        tested = f"{users:,} users tested"
        if segment_method is None:
            return Answer("unclear", f"No: no segment-aware method was evaluated ({tested}).", "", rival,
                          float("nan"), float("nan"), float("nan"), users)
        lift, low, high = self._relative(segment_method, rival, gains=False)
        against = RECOMMENDERS[rival].label
        if rival != BASELINE:
            against = f"the best recommender that ignores segments ({against})"
        else:
            against = f"recommending {against}"
        how = RECOMMENDERS[segment_method].label
        if np.isnan(lift):
            return Answer("unclear", f"No: too few users to tell; no method found any held-out item ({tested}).",
                          segment_method, rival, lift, low, high, users)
        interval = f"95% interval {low:+.0%} to {high:+.0%}, {tested}"
        more = f"{abs(lift):.0%} {'more' if lift >= 0 else 'less'} often"
        if low == high == 0.0:
            verdict = "no"
            sentence = (f"No: on your data, recommending within segments ({how}) finds the item a user picks next "
                        f"exactly as often as {against}: on every user it made the same hits ({tested}).")
        elif users < MIN_USERS_TO_TELL or (low <= 0 <= high):
            verdict = "unclear"
            sentence = (f"No: too few users to tell. Recommending within segments ({how}) found the item a user "
                        f"picks next {more} than {against}, but that could be chance ({interval}).")
        elif low > 0:
            verdict = "yes"
            sentence = (f"Yes: on your data, recommending within segments ({how}) finds the item a user picks "
                        f"next {more} than {against} ({interval}).")
        else:
            verdict = "no"
            sentence = (f"No: on your data, recommending within segments ({how}) finds the item a user picks "
                        f"next {more} than {against} ({interval}).")
        return Answer(verdict, sentence + self._cold_sentence(), segment_method, rival, lift, low, high, users)

    def _cold_sentence(self) -> str:
        """For users with comments but no items, the text method's result, when it clearly beats both
        popularity and the segment's popularity (else nothing: the answer stays about segments)."""
        method = self.cold.get("text_method")
        if not method:
            return ""
        wins = [c for c in self.cold["compare"] if c["method"] == method]
        if len(wins) < 2 or not all(c["low"] is not None and c["low"] > 0 for c in wins):
            return ""
        over = {c["against"]: c for c in wins}
        popular, segment = over[BASELINE], over["segment_popularity"]
        return (f" For users with comments but no items, {RECOMMENDERS[method].label} finds their items "
                f"{popular['lift']:.0%} more often than the most popular items (95% interval {popular['low']:+.0%} "
                f"to {popular['high']:+.0%}) and {segment['lift']:.0%} more often than their segment's "
                f"({segment['low']:+.0%} to {segment['high']:+.0%}; {self.cold['users']:,} users).")

    def lift_by_segment(self) -> pd.DataFrame:
        """Per segment: the best segment-aware method's NDCG lift over the rival there, with its interval.

        Columns ``segment, name, users, best_method, rival, lift, low, high, hurts, clear``; ``lift`` is NaN
        where the rival hit nothing in the segment. ``clear`` is False where the interval spans zero.
        ``best_method`` is the best segment-aware method **overall** (choosing per segment would pick noise).
        """
        columns = ["segment", "name", "users", "best_method", "rival", "lift", "low", "high", "hurts", "clear"]
        method = self.best(segment_aware=True)
        if method is None:
            return pd.DataFrame(columns=columns)
        rival = self.rival()
        segments = self.per_user.loc[self.per_user["method"] == method, "segment"].to_numpy()
        rows = []
        for entry in self.per_segment:
            inside = np.flatnonzero(segments == entry["segment"])
            lift, low, high = self._relative(method, rival, inside)
            rows.append({"segment": entry["segment"], "name": entry["name"], "users": entry["users"],
                         "best_method": method, "rival": rival, "lift": lift, "low": low, "high": high,
                         "hurts": bool(lift < 0) if np.isfinite(lift) else False,
                         "clear": bool(low > 0 or high < 0) if np.isfinite(lift) else False})
        return pd.DataFrame(rows, columns=columns)

    def where_segments_help(self) -> pd.DataFrame:
        """The best segment-aware method against the rival by group of users, with intervals.

        Groups: users by how many items they had in training (1, 2–3, 4 or more) and, from the cold
        protocol, users with comments but no items (recall@N against popularity's).
        Columns ``group, users, lift, low, high, clear``.
        """
        method = self.best(segment_aware=True)
        rows = []
        if method is not None:
            items = self.per_user.loc[self.per_user["method"] == method, "train_items"].to_numpy()
            groups = (("users with 1 item", items == 1), ("users with 2–3 items", (items >= 2) & (items <= 3)),
                      ("users with 4 or more items", items >= 4))
            for group, inside in groups:
                if inside.any():
                    lift, low, high = self._relative(method, self.rival(), np.flatnonzero(inside))
                    rows.append({"group": group, "users": int(inside.sum()), "lift": lift, "low": low, "high": high})
        if self.cold:
            rows.append({"group": "cold users (comments, no items)", "users": self.cold["users"],
                         "lift": self.cold["lift"], "low": self.cold["low"], "high": self.cold["high"]})
        frame = pd.DataFrame(rows, columns=["group", "users", "lift", "low", "high"])
        frame["clear"] = (frame["low"] > 0) | (frame["high"] < 0)
        return frame


def _json_safe(value: object) -> object:
    """NaN (an undefined lift) becomes None and NumPy scalars plain Python, so the record is strict JSON."""
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _lift(value: float, base: float) -> float:
    return value / base - 1.0 if base > 0 else float("nan")


def _with_lift(methods: Mapping[str, Mapping[str, float]]) -> dict[str, dict]:
    """Each method's metrics plus its NDCG lift over global popularity and over EASE (None where undefined)."""
    base = methods[BASELINE]["ndcg"]
    ease = methods["ease"]["ndcg"] if "ease" in methods else float("nan")
    out = {}
    for method, values in methods.items():
        lift, over_ease = _lift(values["ndcg"], base), _lift(values["ndcg"], ease)
        out[method] = {**values, "ndcg_lift": None if np.isnan(lift) else round(lift, 4)}
        if "ease" in methods:
            out[method]["ndcg_lift_ease"] = None if np.isnan(over_ease) else round(over_ease, 4)
    return out


def _metrics(ranks: np.ndarray, ranked: np.ndarray, n_items: int) -> dict[str, float]:
    hit = ranks > 0
    if not len(ranks):
        return dict.fromkeys(METRICS, 0.0)
    shown = np.unique(ranked[ranked >= 0])
    return {
        "hit_rate": float(hit.mean()),
        "ndcg": float(rank_gain(ranks).mean()),
        "mrr": float(np.where(hit, 1.0 / np.maximum(ranks, 1), 0.0).mean()),
        "coverage": float(len(shown) / n_items) if n_items else 0.0,
    }


def evaluate(
    comments: Comments,
    segment_fn: SegmentFn,
    *,
    methods: Sequence[str] = ALL,
    top_n: int = 10,
    seed: int = 0,
    cold: bool = True,
    progress: StageProgress | None = None,
) -> Evaluation:
    """Hold out one item per user, segment the training comments, and score each method.

    Parameters
    ----------
    comments : Comments
        With an item column.
    segment_fn : callable
        ``segment_fn(train_comments) -> (user_ids, user_vectors, labels, names)``, e.g. from
        :func:`pipeline_segment_fn`. It only ever sees the training comments.
    methods : sequence of str
        Item recommenders (:func:`segmentation.recommend.base.item_recommenders`); global popularity is always
        added, since every lift is measured against it.
    top_n : int
        Length of each recommendation list (the N of the metrics).
    seed : int
        Seeds the hold-out (without times), the recommenders' validation splits and the bootstraps.
    cold : bool
        Also run the cold-user protocol (:func:`cold_split`): segments once more, on that split.
    progress : callable or None
        ``progress(stage, done, total)``; stages ``evaluate`` (one step per method).

    Returns
    -------
    Evaluation
    """
    methods = [BASELINE, *(m for m in dict.fromkeys(methods) if m != BASELINE)]
    unknown = [m for m in methods if m not in RECOMMENDERS or not RECOMMENDERS[m].recommends_items]
    if unknown:
        raise ConfigError(f"cannot evaluate {', '.join(unknown)}; choose from {', '.join(ALL)}")
    top_n = validate("top_n", top_n, TOP_N)
    train, test = holdout_split(comments, seed=seed)
    if test.empty:
        raise ConfigError(
            f"{comments.source or 'the data'} has no user with 2 or more items; "
            "evaluation holds out one item per such user"
        )
    user_ids, vectors, labels, names = segment_fn(train)
    data = Interactions.from_comments(train, user_ids)
    labels = np.asarray(labels, dtype=np.int64)
    rows = pd.Index(np.asarray(user_ids, dtype=object)).get_indexer(test["user_id"])
    targets = pd.Index(data.item_ids).get_indexer(test["item_id"])
    segments = labels[rows]

    steps = len(methods) + (1 if cold else 0)
    ranks: dict[str, np.ndarray] = {}
    lists: dict[str, np.ndarray] = {}
    tuning: dict[str, dict] = {}
    for done, name in enumerate(methods):
        if progress is not None:
            progress("evaluate", done, steps)
        model = make_recommender(name, seed=seed, top_n=top_n)
        lists[name] = model.fit(data, vectors, labels).rank(rows, top_n)
        ranks[name] = target_rank(lists[name], targets)
        if np.isfinite(getattr(model, "validation_ndcg_", float("nan"))):
            tuning[name] = {"params": model.params_, "validation_ndcg": round(model.validation_ndcg_, 4)}
    cold_result = _evaluate_cold(comments, segment_fn, top_n=top_n, seed=seed) if cold else {}
    if progress is not None:
        progress("evaluate", steps, steps)

    overall = {m: _metrics(ranks[m], lists[m], data.n_items) for m in methods}
    per_segment = []
    for segment in np.unique(segments).tolist():
        inside = segments == segment
        entry: dict = {"segment": int(segment), "name": _name(names, segment), "users": int(inside.sum())}
        entry.update({m: _metrics(ranks[m][inside], lists[m][inside], data.n_items) for m in methods})
        per_segment.append(entry)
    train_items = np.diff(data.matrix.indptr)[rows]
    per_user = pd.concat(
        [pd.DataFrame({"user_id": test["user_id"], "segment": segments, "train_items": train_items, "method": m,
                       "rank": ranks[m]})
         for m in methods],
        ignore_index=True,
    )
    evaluation = Evaluation(overall, per_segment, int(len(test)), top_n, per_user=per_user, cold=cold_result,
                            tuning=tuning, seed=seed)
    return replace(evaluation, verdict=verdict(evaluation))


def _evaluate_cold(comments: Comments, segment_fn: SegmentFn, *, top_n: int, seed: int) -> dict:
    """Recall@``top_n`` of :data:`COLD_METHODS` on the users :func:`cold_split` made cold."""
    train, test = cold_split(comments, seed=seed)
    if test.empty:
        return {}
    user_ids, vectors, labels, _ = segment_fn(train)
    data = Interactions.from_comments(train, user_ids)
    cold_users = test["user_id"].unique()
    rows = pd.Index(np.asarray(user_ids, dtype=object)).get_indexer(cold_users)
    wanted = test.assign(row=pd.Index(cold_users).get_indexer(test["user_id"]),
                         item=pd.Index(data.item_ids).get_indexer(test["item_id"]))
    n_targets = np.bincount(wanted["row"], minlength=len(rows))
    recalls = {}
    for name in COLD_METHODS:
        ranked = make_recommender(name, seed=seed, top_n=top_n).fit(data, vectors, labels).rank(rows, top_n)
        hit = (ranked[wanted["row"].to_numpy()] == wanted["item"].to_numpy()[:, None]).any(axis=1) \
            & (wanted["item"].to_numpy() >= 0)
        recalls[name] = np.bincount(wanted["row"], weights=hit, minlength=len(rows)) / np.maximum(n_targets, 1)
    base = recalls[BASELINE]
    segment_method = max((m for m in COLD_METHODS if RECOMMENDERS[m].segment_aware),
                         key=lambda m: recalls[m].mean())
    text_method = max((m for m in COLD_METHODS if RECOMMENDERS[m].uses_text and not RECOMMENDERS[m].segment_aware),
                      key=lambda m: recalls[m].mean())
    compare = [_relative_recall(recalls, m, BASELINE, seed) for m in COLD_METHODS if m != BASELINE]
    compare += [_relative_recall(recalls, m, "segment_popularity", seed)
                for m in COLD_METHODS if RECOMMENDERS[m].uses_text]
    mean_base = float(base.mean())
    low, high = clear_gain(recalls[segment_method] - base, seed=seed)
    return {
        "users": len(rows),
        "recall": {name: round(float(values.mean()), 4) for name, values in recalls.items()},
        "segment_method": segment_method,
        "ratio": round(float(recalls[segment_method].mean()) / mean_base, 4) if mean_base else None,
        "lift": float(recalls[segment_method].mean()) / mean_base - 1.0 if mean_base else float("nan"),
        "low": low / mean_base if mean_base else float("nan"),
        "high": high / mean_base if mean_base else float("nan"),
        "text_method": text_method,
        "compare": compare,
    }


def _relative_recall(recalls: Mapping[str, np.ndarray], method: str, against: str, seed: int) -> dict:
    """``method``'s recall relative to ``against``'s on the same cold users, with its 95 % paired interval."""
    base = float(recalls[against].mean())
    if base <= 0:
        return {"method": method, "against": against, "lift": None, "low": None, "high": None}
    low, high = clear_gain(recalls[method] - recalls[against], seed=seed)
    return {"method": method, "against": against, "lift": round(float(recalls[method].mean()) / base - 1.0, 4),
            "low": round(low / base, 4), "high": round(high / base, 4)}


def _name(names: Mapping[int, str], segment: int) -> str:
    return str(names.get(segment) or ("noise" if segment < 0 else f"segment {segment}"))


def verdict(evaluation: Evaluation) -> str:
    """Technical sentences: the best segment-aware method against the best method that ignores segments.

    Differences are NDCG@N with a 95 % paired-bootstrap interval over users; where the best rival is EASE
    and segments do not clearly beat it, it says "segments add nothing beyond EASE".
    """
    methods = evaluation.methods
    n = evaluation.top_n
    users = f"{evaluation.n_users_evaluated:,} users"
    best_overall = max(methods, key=lambda m: methods[m]["ndcg"])
    segment_method = evaluation.best(segment_aware=True)
    rival = evaluation.rival()
    sentences = [f"Best here: {best_overall} (NDCG@{n} {methods[best_overall]['ndcg']:.3f}, {users})."]
    if segment_method is None:
        return " ".join(sentences)
    comparison = evaluation.comparison().set_index("method")
    diff, low, high = (float(comparison.loc[segment_method, c]) for c in ("difference", "low", "high"))
    gap = f"{diff:+.4f} NDCG@{n}, 95% interval {low:+.4f} to {high:+.4f}"
    if low > 0:
        sentences.append(f"The best segment-aware method, {segment_method}, beats the best method that ignores "
                         f"segments, {rival} ({gap}).")
    elif high < 0:
        sentences.append(f"The best segment-aware method, {segment_method}, is worse than {rival} ({gap}).")
    else:
        sentences.append(f"The best segment-aware method, {segment_method}, does not clearly differ from "
                         f"{rival} ({gap}).")
    if "ease" in methods and segment_method != "ease":
        ease_gap = _lift(methods[segment_method]["ndcg"], methods["ease"]["ndcg"])
        clear = rival == "ease" and low > 0
        if not clear:
            diff_ease = evaluation._gains(segment_method) - evaluation._gains("ease")
            clear = clear_gain(diff_ease, seed=evaluation.seed)[0] > 0
        if not clear:
            sentences.append(f"Segments add nothing beyond EASE here ({segment_method} {ease_gap:+.0%} NDCG@{n} "
                             "against EASE, not clearly above it).")
    base = methods[BASELINE]["ndcg"]
    if base > 0 and segment_method != BASELINE:
        sentences.append(f"Against global popularity alone, {segment_method} changes NDCG@{n} by "
                         f"{_lift(methods[segment_method]['ndcg'], base):+.0%}.")
    if evaluation.cold:
        cold = evaluation.cold
        ratio = cold["ratio"]
        sentences.append(
            f"Cold users ({cold['users']:,} with comments but no items): {cold['segment_method']} recall@{n} "
            f"{cold['recall'][cold['segment_method']]:.3f} against popularity's {cold['recall'][BASELINE]:.3f}"
            + (f" ({ratio:.2f}x)." if ratio else ".")
        )
        text = cold.get("text_method")
        if text:
            sentences.append(f"Their best text method, {text}: recall@{n} {cold['recall'][text]:.3f}.")
    return " ".join(sentences)


def pipeline_segment_fn(
    config: SegmentConfig,
    *,
    cache: EmbeddingCache | None = None,
    progress: StageProgress | None = None,
) -> SegmentFn:
    """A ``segment_fn`` running the real pipeline with ``config`` on the training comments."""
    # Imported here: the pipeline pulls in the encoders and UMAP, which scoring ranked lists never needs.
    from segmentation.pipeline.segment import cluster_prepared, prepare

    def segment_fn(train: Comments) -> tuple[np.ndarray, np.ndarray, np.ndarray, Mapping[int, str]]:
        prepared = prepare(train, config, cache=cache, progress=progress, with_map=False)
        result = cluster_prepared(prepared, config, progress=progress)
        return prepared.profiles.user_ids, prepared.profiles.vectors, result.labels, result.names

    return segment_fn


def evaluate_pipeline(
    comments: Comments,
    config: SegmentConfig,
    *,
    methods: Sequence[str] = ALL,
    top_n: int = 10,
    cold: bool = True,
    cache: EmbeddingCache | None = None,
    progress: StageProgress | None = None,
) -> Evaluation:
    """:func:`evaluate` with segments from the real pipeline (what the CLI and the page run)."""
    segment_fn = pipeline_segment_fn(config, cache=cache, progress=progress)
    return evaluate(comments, segment_fn, methods=methods, top_n=top_n, seed=config.seed, cold=cold,
                    progress=progress)
