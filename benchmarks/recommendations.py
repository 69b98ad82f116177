"""Do segments make better recommendations? Leave-latest-out NDCG@N of every recommender, per data set.

    python benchmarks/recommendations.py [--data PATH ...] [--encoder minilm] [--k auto] [--min-comments 5]
        [--out benchmarks/results/recommendations.json]

Without ``--data`` it runs on the generated demo and, where ``../shared/data/recipe_reviews/`` exists, on the
real recipe reviews (all users with two or more comments, and the k-core subset of users with at least
``--min-comments`` comments on items that have at least as many, the closest this data comes to the
"5-core" review sets recommenders are usually scored on). Prints one table per data set and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from segmentation.demo import DEMO_PATH  # noqa: E402
from segmentation.evaluate import SEGMENT_METHODS, evaluate_pipeline  # noqa: E402
from segmentation.io import Comments, from_frame, load_comments  # noqa: E402
from segmentation.pipeline import SegmentConfig  # noqa: E402

RECIPES = ROOT.parent / "shared" / "data" / "recipe_reviews" / "recipe_reviews_users_ge2.csv.gz"


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


def run(name: str, comments: Comments, config: SegmentConfig, top_n: int) -> dict:
    started = time.perf_counter()
    evaluation = evaluate_pipeline(comments, config, top_n=top_n)
    seconds = time.perf_counter() - started
    table = evaluation.table()
    best = max(SEGMENT_METHODS, key=lambda m: table.loc[m, "ndcg"])
    base = table.loc["global_popularity", "ndcg"]
    ratio = table.loc[best, "ndcg"] / base if base else float("nan")
    print(f"\n## {name}: {comments.n_users:,} users, {comments.n_comments:,} comments, {comments.n_items:,} items "
          f"({evaluation.n_users_evaluated:,} evaluated, {seconds:.0f} s)")
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"best segment-aware method: {best}, {ratio:.2f}x global popularity's NDCG@{top_n}")
    print(evaluation.verdict)
    return {
        "data": name,
        "users": comments.n_users,
        "comments": comments.n_comments,
        "items": comments.n_items,
        "n_users_evaluated": evaluation.n_users_evaluated,
        "config": config.to_dict(),
        "methods": evaluation.to_dict()["methods"],
        "best_segment_method": best,
        "best_over_popularity": round(float(ratio), 4),
        "verdict": evaluation.verdict,
        "seconds": round(seconds, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="*", type=Path, help="comment files (default: demo and recipe reviews)")
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--k", default="auto")
    parser.add_argument("--top-n", type=int, default=10)
    parser.add_argument("--min-comments", type=int, default=5, help="k-core threshold for the recipe subset")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "recommendations.json")
    args = parser.parse_args()

    config = SegmentConfig(encoder=args.encoder, k=args.k if args.k == "auto" else int(args.k))
    sets: list[tuple[str, Comments]] = []
    if args.data:
        sets = [(path.name, load_comments(path)) for path in args.data]
    else:
        sets.append(("generated demo", load_comments(DEMO_PATH)))
        if RECIPES.exists():
            recipes = load_comments(RECIPES)
            sets.append(("recipe reviews, users with ≥ 2 comments", recipes))
            sets.append((f"recipe reviews, {args.min_comments}-core", k_core(recipes, args.min_comments)))
    results = [run(name, comments, config, args.top_n) for name, comments in sets]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
