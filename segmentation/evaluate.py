"""Does segmenting help recommendations? Leave-last-out evaluation against global popularity.

Per user with at least 2 items, the latest item (or one at random, seeded, without a time column) is held
out, with every comment the user wrote on it. Profiles and segments are then built from the **training
comments only** (through ``segment_fn``), so the held-out text cannot leak; each recommender is fitted on
the training interactions and must rank the held-out item in its top N among the items the user has not
seen. Users with a single item stay in training and are not scored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from segmentation.constraints import TOP_N, validate
from segmentation.errors import ConfigError
from segmentation.recommend import RECOMMENDERS, Interactions, pick_holdout, rank_gain, target_rank

if TYPE_CHECKING:
    from segmentation.cache import EmbeddingCache
    from segmentation.comments import Comments
    from segmentation.pipeline import SegmentConfig, StageProgress

ALL = ("global_popularity", "segment_popularity", "segment_knn", "global_knn", "item_knn", "segment_policy")
BASELINE = "global_popularity"
SEGMENT_METHODS = ("segment_popularity", "segment_knn", "segment_policy")
METRICS = ("hit_rate", "ndcg", "mrr", "coverage")
LABELS = {
    "global_popularity": "Global popularity",
    "segment_popularity": "Segment popularity",
    "segment_knn": "Segment-kNN",
    "global_knn": "Global user-kNN",
    "item_knn": "Item-kNN",
    "segment_policy": "The per-segment policy",
}
# Below this relative NDCG difference a method "adds almost nothing": smaller gaps are within what
# re-running with another seed moves on a few hundred users.
NEGLIGIBLE = 0.05

SegmentFn = Callable[["Comments"], tuple[np.ndarray, np.ndarray, np.ndarray, Mapping[int, str]]]
"""``segment_fn(train_comments) -> (user_ids, user_vectors, labels, names)``: profiles and segments built
from the training comments; ``names`` maps segment id to name."""


def holdout_split(comments: Comments, *, seed: int = 0) -> tuple[Comments, pd.DataFrame]:
    """Hold out one item per user with at least 2 items.

    Parameters
    ----------
    comments : Comments
        Must have an item column.
    seed : int
        Picks the held-out item when there is no time column.

    Returns
    -------
    train : Comments
        Every comment except those on a held-out (user, item) pair; comments without an item stay.
    test : DataFrame
        Columns ``user_id``, ``item_id``: one row per evaluated user.
    """
    if not comments.has_items:
        raise ConfigError("evaluation needs an item column: recommendations are scored on held-out items")
    frame = comments.frame
    has_item = frame["item_id"].notna()
    times = frame["time"] if comments.has_times else pd.Series(pd.NaT, index=frame.index)
    pairs = (
        pd.DataFrame({
            "user_id": frame.loc[has_item, "user_id"],
            "item_id": frame.loc[has_item, "item_id"].astype(str),
            "t": times[has_item],
        })
        .groupby(["user_id", "item_id"], sort=True)["t"].max()
        .reset_index()
    )
    seconds = (pairs["t"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(np.float64) \
        if comments.has_times else np.full(len(pairs), np.nan)
    pair_user = pd.factorize(pairs["user_id"], sort=True)[0]
    held_out = pick_holdout(pair_user, seconds, seed=seed)
    test = pairs.loc[held_out, ["user_id", "item_id"]].reset_index(drop=True)
    held = pd.MultiIndex.from_frame(test)
    keys = pd.MultiIndex.from_arrays([frame["user_id"], frame["item_id"].astype(str)])
    drop = keys.isin(held) & has_item.to_numpy()
    train = replace(comments, frame=frame.loc[~drop].reset_index(drop=True))
    return train, test


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
        Plain sentences: does segmenting help here, and by how much.
    per_user : DataFrame
        ``user_id, segment, method, rank`` (1-based position of the held-out item, 0 = not in the list).
    """

    methods: dict[str, dict[str, float]]
    per_segment: list[dict]
    n_users_evaluated: int
    top_n: int
    verdict: str = ""
    per_user: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def to_dict(self) -> dict:
        """The JSON-able record written as ``evaluation.json``; each method carries its ``ndcg_lift``."""
        per_segment = [
            {**entry, **_with_lift({m: v for m, v in entry.items() if m in self.methods})}
            for entry in self.per_segment
        ]
        return {
            "methods": _with_lift(self.methods),
            "per_segment": per_segment,
            "n_users_evaluated": self.n_users_evaluated,
            "top_n": self.top_n,
            "verdict": self.verdict,
        }

    def table(self) -> pd.DataFrame:
        """One row per method: the metrics and ``ndcg_lift`` (relative to global popularity)."""
        table = pd.DataFrame(self.methods).T.reindex(columns=list(METRICS))
        table["ndcg_lift"] = [_lift(v, self.methods[BASELINE]["ndcg"]) for v in table["ndcg"]]
        table.index.name = "method"
        return table

    def lift_by_segment(self) -> pd.DataFrame:
        """Per segment: the best segment method's NDCG lift over global popularity, and whether it hurts.

        Columns ``segment, name, users, best_method, lift, hurts``; ``lift`` is NaN where global
        popularity hit nothing in the segment.
        """
        rows = []
        for entry in self.per_segment:
            base = entry[BASELINE]["ndcg"]
            present = [m for m in SEGMENT_METHODS if m in entry]
            best = max(present, key=lambda m: entry[m]["ndcg"]) if present else BASELINE
            lift = _lift(entry[best]["ndcg"], base)
            hurts = entry[best]["ndcg"] < base
            rows.append({"segment": entry["segment"], "name": entry["name"], "users": entry["users"],
                         "best_method": best, "lift": lift, "hurts": bool(hurts)})
        return pd.DataFrame(rows, columns=["segment", "name", "users", "best_method", "lift", "hurts"])


def _lift(value: float, base: float) -> float:
    return value / base - 1.0 if base > 0 else float("nan")


def _with_lift(methods: Mapping[str, Mapping[str, float]]) -> dict[str, dict]:
    """Each method's metrics plus its NDCG lift over global popularity (None where undefined)."""
    base = methods[BASELINE]["ndcg"]
    out = {}
    for method, values in methods.items():
        lift = _lift(values["ndcg"], base)
        out[method] = {**values, "ndcg_lift": None if np.isnan(lift) else round(lift, 4)}
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
        Names in :data:`segmentation.recommend.RECOMMENDERS`; global popularity is always added, since
        every lift is measured against it.
    top_n : int
        Length of each recommendation list (the N of the metrics).
    seed : int
        Seeds the hold-out (without times) and the verdict's bootstrap.
    progress : callable or None
        ``progress(stage, done, total)``; stages ``evaluate`` (one step per method).

    Returns
    -------
    Evaluation
    """
    methods = [BASELINE, *(m for m in methods if m != BASELINE)]
    unknown = [m for m in methods if m not in RECOMMENDERS or m == "segment_comments"]
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

    ranks: dict[str, np.ndarray] = {}
    lists: dict[str, np.ndarray] = {}
    for done, name in enumerate(methods):
        if progress is not None:
            progress("evaluate", done, len(methods))
        model = RECOMMENDERS[name](seed=seed) if name == "segment_policy" else RECOMMENDERS[name]()
        lists[name] = model.fit(data, vectors, labels).rank(rows, top_n)
        ranks[name] = target_rank(lists[name], targets)
    if progress is not None:
        progress("evaluate", len(methods), len(methods))

    overall = {m: _metrics(ranks[m], lists[m], data.n_items) for m in methods}
    per_segment = []
    for segment in np.unique(segments).tolist():
        inside = segments == segment
        entry: dict = {"segment": int(segment), "name": _name(names, segment), "users": int(inside.sum())}
        entry.update({m: _metrics(ranks[m][inside], lists[m][inside], data.n_items) for m in methods})
        per_segment.append(entry)
    per_user = pd.concat(
        [pd.DataFrame({"user_id": test["user_id"], "segment": segments, "method": m, "rank": ranks[m]})
         for m in methods],
        ignore_index=True,
    )
    evaluation = Evaluation(overall, per_segment, int(len(test)), top_n, per_user=per_user)
    return replace(evaluation, verdict=verdict(evaluation, seed=seed))


def _name(names: Mapping[int, str], segment: int) -> str:
    return str(names.get(segment) or ("noise" if segment < 0 else f"segment {segment}"))


def _gains(evaluation: Evaluation, method: str) -> np.ndarray:
    rank = evaluation.per_user.loc[evaluation.per_user["method"] == method, "rank"].to_numpy()
    return rank_gain(rank)


def _clear(evaluation: Evaluation, method: str, seed: int) -> bool:
    """Whether the paired bootstrap's 95 % interval of the NDCG difference to popularity excludes 0."""
    diff = _gains(evaluation, method) - _gains(evaluation, BASELINE)
    if not len(diff) or not diff.any():
        return False
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(1000, len(diff)))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return bool(low > 0 or high < 0)


def verdict(evaluation: Evaluation, *, seed: int = 0) -> str:
    """Plain sentences on what segmenting adds over global popularity, with the noise taken into account."""
    methods = evaluation.methods
    n = evaluation.top_n
    base = methods[BASELINE]["ndcg"]
    users = f"{evaluation.n_users_evaluated:,} users"
    if base == 0:
        best = max(methods, key=lambda m: methods[m]["ndcg"])
        return (
            f"Global popularity never ranks the held-out item in the top {n} on {users}, so lifts are "
            f"undefined; the best method is {LABELS.get(best, best)} (NDCG@{n} {methods[best]['ndcg']:.3f})."
        )

    def phrase(method: str) -> str:
        lift = _lift(methods[method]["ndcg"], base)
        clear = _clear(evaluation, method, seed)
        label = LABELS.get(method, method)
        if clear and lift >= NEGLIGIBLE:
            return f"{label} beats global popularity by {lift:+.0%} NDCG@{n}"
        if clear and lift <= -NEGLIGIBLE:
            return f"{label} does not beat global popularity: it is worse ({lift:+.0%} NDCG@{n})"
        if abs(lift) < NEGLIGIBLE:
            return f"{label} does not beat global popularity: it adds almost nothing ({lift:+.0%} NDCG@{n})"
        return (f"{label} does not beat global popularity clearly "
                f"({lift:+.0%} NDCG@{n}, within noise on {users})")

    sentences = [phrase(m) + "." for m in ("segment_popularity", "segment_knn") if m in methods]
    if "segment_knn" in methods and "global_knn" in methods:
        gap = _lift(methods["segment_knn"]["ndcg"], methods["global_knn"]["ndcg"])
        if np.isfinite(gap):
            sentences.append(f"Restricting user-kNN to the segment changes NDCG@{n} by {gap:+.0%} against "
                             "the same kNN over all users.")
    best = max(methods, key=lambda m: methods[m]["ndcg"])
    sentences.append(
        f"Best here: {LABELS.get(best, best)} (NDCG@{n} {methods[best]['ndcg']:.3f}, "
        f"{_lift(methods[best]['ndcg'], base):+.0%} over popularity, {users})."
    )
    lifts = evaluation.lift_by_segment()
    lifts = lifts[lifts["segment"] >= 0]
    if len(lifts) > 1:
        helps = int((lifts["lift"] >= NEGLIGIBLE).sum())
        hurts = int(lifts["hurts"].sum())
        sentences.append(
            f"Per segment, the best segment method helps in {helps} of {len(lifts)} segments and trails "
            f"popularity in {hurts}."
        )
    return " ".join(sentences)


def pipeline_segment_fn(
    config: SegmentConfig,
    *,
    cache: EmbeddingCache | None = None,
    progress: StageProgress | None = None,
) -> SegmentFn:
    """A ``segment_fn`` running the real pipeline with ``config`` on the training comments."""
    # Imported here: the pipeline pulls in the encoders and UMAP, which scoring ranked lists never needs.
    from segmentation.pipeline import cluster_prepared, prepare

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
    cache: EmbeddingCache | None = None,
    progress: StageProgress | None = None,
) -> Evaluation:
    """:func:`evaluate` with segments from the real pipeline (what the CLI and the page run)."""
    segment_fn = pipeline_segment_fn(config, cache=cache, progress=progress)
    return evaluate(comments, segment_fn, methods=methods, top_n=top_n, seed=config.seed, progress=progress)
