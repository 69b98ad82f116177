"""Do segments make better recommendations? Leave-latest-out NDCG@N of every recommender, per data set.

    python benchmarks/recommendations.py [--data PATH ...] [--encoder minilm] [--k auto] [--min-comments 5]
        [--seeds 0 1 2] [--out benchmarks/results/recommendations.json]

Without ``--data`` it runs, where ``../shared/data/`` has them, on the real recipe reviews (all users with
two or more comments, and the k-core subset of users with at least ``--min-comments`` comments on items that
have at least as many) and the Stack Exchange threads, then on the generated demo. Prints one table per
data set (NDCG@N, HR@N, coverage, lift over popularity and over EASE, the NDCG difference to the best
method ignoring segments with its paired-bootstrap interval, the settings each tuned peer chose on its
validation split, cold-user recall with each method's interval against popularity and the segment's
popularity) and writes JSON. Each seed re-draws what is random: the hold-out without times, the cold users,
the validation samples and the segmentation's seed. As a check (never used to choose), EASE is also scored
on the test split at every L2 of a fine grid: the product's EASE should sit within 1 % of the best of them.

    python benchmarks/recommendations.py --timing   # 10k users x 5k items, generated, every method timed
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from segmentation.demo import DEMO_PATH  # noqa: E402
from segmentation.ingest.io import Comments, from_frame, load_comments  # noqa: E402
from segmentation.pipeline.config import SegmentConfig  # noqa: E402
from segmentation.recommend.base import Interactions, clear_gain, rank_gain, target_rank  # noqa: E402
from segmentation.recommend.evaluate import BASELINE, evaluate, evaluate_pipeline  # noqa: E402
from segmentation.recommend.linear import EASE  # noqa: E402
from segmentation.recommend.splits import holdout_split  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
RECIPES = DATA / "recipe_reviews" / "recipe_reviews_users_ge2.csv.gz"
THREADS = DATA / "se_closed_sites" / "comments.csv.gz"
HINDSIGHT_L2 = tuple(float(v) for v in np.geomspace(1.0, 1e6, 37))
"""L2 strengths EASE is scored at on the test split, for the check only (a factor 1.47 apart)."""


def k_core(comments: Comments, min_comments: int) -> Comments:
    """Keep users and items with at least ``min_comments`` comments each, repeating until stable."""
    frame = comments.frame
    while True:
        users = frame["user_id"].map(frame["user_id"].value_counts()) >= min_comments
        items = frame["item_id"].map(frame["item_id"].value_counts()) >= min_comments
        kept = frame[users & items]
        if len(kept) == len(frame):
            break
        frame = kept
    columns = [c for c in ("user_id", "text", "item_id", "rating", "time") if c in frame.columns]
    return from_frame(
        frame[columns].reset_index(drop=True),
        user_col="user_id", text_col="text", item_col="item_id",
        rating_col="rating" if "rating" in columns else "", time_col="time" if "time" in columns else "",
        source=f"{comments.source} ({min_comments}-core)",
    )


def ease_hindsight(comments: Comments, seed: int, top_n: int) -> dict:
    """EASE's test NDCG at every L2 of :data:`HINDSIGHT_L2` on the evaluation's own split: a check, never a choice."""
    train, test = holdout_split(comments, seed=seed)
    user_ids = np.sort(train.frame["user_id"].unique())
    data = Interactions.from_comments(train, user_ids)
    rows = pd.Index(user_ids).get_indexer(test["user_id"])
    targets = pd.Index(data.item_ids).get_indexer(test["item_id"])
    labels = np.zeros(len(user_ids), dtype=np.int64)
    scores = {l2: float(rank_gain(target_rank(EASE(l2=l2).fit(data, None, labels).rank(rows, top_n), targets)).mean())
              for l2 in HINDSIGHT_L2}
    best = max(scores, key=scores.get)
    return {"best_l2": best, "best_ndcg": round(scores[best], 4),
            "ndcg": {f"{l2:g}": round(v, 4) for l2, v in scores.items()}}


def against_popularity(evaluation) -> dict:
    """Each method's NDCG minus popularity's on the same users, with the 95 % paired-bootstrap interval."""
    per_user = evaluation.per_user
    base = rank_gain(per_user.loc[per_user["method"] == BASELINE, "rank"].to_numpy())
    out = {}
    for method in evaluation.methods:
        diff = rank_gain(per_user.loc[per_user["method"] == method, "rank"].to_numpy()) - base
        low, high = clear_gain(diff, seed=evaluation.seed) if method != BASELINE else (0.0, 0.0)
        out[method] = {"difference": round(float(diff.mean()), 4), "low": round(low, 4), "high": round(high, 4)}
    return out


def run(name: str, comments: Comments, config: SegmentConfig, top_n: int) -> dict:
    started = time.perf_counter()
    evaluation = evaluate_pipeline(comments, config, top_n=top_n)
    seconds = time.perf_counter() - started
    table = evaluation.table()
    comparison = evaluation.comparison().set_index("method")
    table = table.join(comparison[["difference", "low", "high"]])
    answer = evaluation.answer()
    hindsight = ease_hindsight(comments, config.seed, top_n)
    product = evaluation.methods["ease"]["ndcg"]
    print(f"\n## {name}, seed {config.seed}: {comments.n_users:,} users, {comments.n_comments:,} comments, "
          f"{comments.n_items:,} items ({evaluation.n_users_evaluated:,} evaluated, {seconds:.0f} s; "
          f"rival: {evaluation.rival()})")
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    print(answer.sentence)
    print(evaluation.verdict)
    print(evaluation.where_segments_help().to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"cold: {evaluation.cold.get('recall')}")
    for c in evaluation.cold.get("compare", []):
        print(f"  {c['method']} vs {c['against']}: {c['lift']} ({c['low']}..{c['high']})")
    print(f"EASE check: product {product:.4f} (L2 {evaluation.tuning['ease']['params']['l2']:g}); best L2 by "
          f"hindsight {hindsight['best_l2']:g} {hindsight['best_ndcg']:.4f} "
          f"({product / hindsight['best_ndcg'] - 1:+.1%})")
    return {
        "data": name,
        "seed": config.seed,
        "users": comments.n_users,
        "comments": comments.n_comments,
        "items": comments.n_items,
        "config": config.to_dict(),
        "seconds": round(seconds, 1),
        "load_average": os.getloadavg(),
        "against_popularity": against_popularity(evaluation),
        "ease_hindsight": hindsight,
        **evaluation.to_dict(),
    }


def timing(n_users: int = 10_000, n_items: int = 5_000, seed: int = 0) -> dict:
    """Evaluate every method on generated interactions (Zipf items, 2-12 per user, random 16-d profiles)."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.8
    users = np.repeat(np.arange(n_users), rng.integers(2, 13, n_users))
    items = rng.choice(n_items, size=len(users), p=popularity / popularity.sum())
    frame = pd.DataFrame({"user_id": [f"u{u:05d}" for u in users], "text": "x", "item_id": [f"i{i:04d}" for i in items],
                          "time": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(len(users)), "s")})
    comments = from_frame(frame, source="generated.csv")
    user_ids = np.sort(frame["user_id"].unique())
    vectors = rng.normal(size=(n_users, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = rng.integers(0, 8, n_users)
    times: dict[str, float] = {}

    def clock(progress_stage, done, total):
        times[done] = time.perf_counter()

    started = time.perf_counter()
    evaluation = evaluate(comments, lambda train: (user_ids, vectors, labels, {}), top_n=10, cold=False,
                          progress=clock)
    seconds = time.perf_counter() - started
    steps = [times[i + 1] - times[i] for i in range(len(times) - 1)]
    per_method = dict(zip(evaluation.methods, (round(s, 1) for s in steps), strict=False))
    load = os.getloadavg()
    print(f"timing: {n_users:,} users x {n_items:,} items, every method: {seconds:.1f} s (load average {load}); "
          f"{per_method}")
    return {"users": n_users, "items": n_items, "seconds": round(seconds, 1), "per_method": per_method,
            "load_average": load, "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="*", type=Path, help="comment files (default: demo and recipe reviews)")
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--k", default="auto")
    parser.add_argument("--top-n", type=int, default=10)
    parser.add_argument("--min-comments", type=int, default=5, help="k-core threshold for the recipe subset")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds of the split and the segments")
    parser.add_argument("--no-threads", action="store_true", help="leave out the Stack Exchange threads")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "recommendations.json")
    parser.add_argument("--timing", action="store_true", help="only time the evaluation on 10k x 5k generated data")
    args = parser.parse_args()
    if args.timing:
        out = args.out.with_name("recommendations_timing.json")
        out.write_text(json.dumps(timing(), indent=2), encoding="utf-8")
        return 0

    config = SegmentConfig(encoder=args.encoder, k=args.k if args.k == "auto" else int(args.k))
    sets: list[tuple[str, Comments]] = []
    if args.data:
        sets = [(path.name, load_comments(path)) for path in args.data]
    else:
        if RECIPES.exists():
            recipes = load_comments(RECIPES)
            sets.append(("recipe reviews, users with ≥ 2 comments", recipes))
            sets.append((f"recipe reviews, {args.min_comments}-core", k_core(recipes, args.min_comments)))
        if THREADS.exists() and not args.no_threads:
            sets.append(("Stack Exchange closed sites (threads)", load_comments(THREADS)))
        sets.append(("generated demo", load_comments(DEMO_PATH)))
    results = [run(name, comments, replace(config, seed=seed), args.top_n)
               for name, comments in sets for seed in args.seeds]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
