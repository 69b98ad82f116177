"""Why EASE's tuned L2 misses the test split's best on the Stack Exchange threads, and what else a validation
split could choose (issue 21, item 2's check).

    python benchmarks/ease_validation.py            # recipe reviews (all, 5-core), threads, demo
    python benchmarks/ease_validation.py --sets threads

Per set, on the evaluation's own leave-last-out split (seed 0; every set has times, so the seed moves nothing
here): EASE's test NDCG@10 at every L2 of its grid (and 300,000 and 10^6 beyond it) with the paired standard
error of each one's difference to the test's best, as a check only; then the L2 each of eight validation
designs would choose, never looking at the test items: one or three time-ordered validation folds carved from
the training data (fold j holds out each user's j-th latest training item and trains on what came before it),
scored by NDCG@10 or by the full-ranking NDCG (the held-out item's rank among all items, a far less sparse
figure), choosing the best or the strongest L2 within one standard error of it (the product's rule is one
fold, NDCG@10, one standard error). Writes ``benchmarks/results/ease-validation.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from recommendations import DEMO_PATH, HINDSIGHT_L2, RECIPES, THREADS, k_core  # noqa: E402

from segmentation.ingest.io import load_comments  # noqa: E402
from segmentation.recommend.base import Interactions, Validation, pick_holdout, rank_gain, target_rank  # noqa: E402
from segmentation.recommend.linear import EASE, EASE_L2_GRID  # noqa: E402
from segmentation.recommend.splits import holdout_split  # noqa: E402

SETS = {
    "recipes": ("recipe reviews, users with ≥ 2 comments", lambda: load_comments(RECIPES)),
    "core": ("recipe reviews, 5-core", lambda: k_core(load_comments(RECIPES), 5)),
    "threads": ("Stack Exchange closed sites (threads)", lambda: load_comments(THREADS)),
    "demo": ("generated demo", lambda: load_comments(DEMO_PATH)),
}
GRID = (*EASE_L2_GRID, 300_000.0, 1_000_000.0)
FOLDS = 3


def time_folds(data: Interactions, n: int) -> list[Validation]:
    """``n`` validation folds, each holding out every user's latest pair of what the previous fold trained on."""
    folds, current = [], data
    for _ in range(n):
        held = pick_holdout(current.pair_user, current.pair_time, seed=0)
        folds.append(Validation(current.without_pairs(held), current.pair_user[held], current.matrix.indices[held]))
        current = current.without_pairs(held)
    return folds


def choose(gains: dict[float, np.ndarray], rule: str) -> float:
    """The L2 the rule picks from per-user validation gains: the best mean, or the strongest within 1 SE of it."""
    best = max(gains, key=lambda l2: gains[l2].mean())
    if rule == "best":
        return best
    close = []
    for l2, values in gains.items():
        difference = values - gains[best]
        if difference.mean() >= -difference.std(ddof=1) / np.sqrt(len(difference)):
            close.append(l2)
    return max(close)


def check(comments, top_n: int = 10) -> dict:
    train, test = holdout_split(comments, seed=0)
    user_ids = np.sort(train.frame["user_id"].unique())
    data = Interactions.from_comments(train, user_ids)
    rows = pd.Index(user_ids).get_indexer(test["user_id"])
    targets = pd.Index(data.item_ids).get_indexer(test["item_id"])
    labels = np.zeros(len(user_ids), dtype=np.int64)

    def test_gains(l2: float) -> np.ndarray:
        return rank_gain(target_rank(EASE(l2=l2).fit(data, None, labels).rank(rows, top_n), targets))

    tested = {l2: test_gains(l2) for l2 in GRID}
    hindsight = max(test_gains(l2).mean() for l2 in HINDSIGHT_L2)
    best = max(tested, key=lambda l2: tested[l2].mean())
    folds = time_folds(data, FOLDS)
    at_10: dict[float, list] = {l2: [] for l2 in GRID}
    full: dict[float, list] = {l2: [] for l2 in GRID}
    for fold in folds:
        for l2 in GRID:
            ranks = target_rank(EASE(l2=l2).fit(fold.training, None, labels).rank(fold.rows, data.n_items),
                                fold.targets)
            full[l2].append(rank_gain(ranks))
            at_10[l2].append(np.where(ranks <= top_n, rank_gain(ranks), 0.0))
    designs = []
    for n in (1, FOLDS):
        for metric, gains in (("NDCG@10", at_10), ("full-ranking NDCG", full)):
            pooled = {l2: np.concatenate(values[:n]) for l2, values in gains.items()}
            for rule in ("best", "one standard error"):
                l2 = choose(pooled, rule)
                designs.append({"folds": n, "validation users": int(sum(len(f.rows) for f in folds[:n])),
                                "metric": metric, "rule": rule, "l2": l2,
                                "test_ndcg": round(float(tested[l2].mean()), 4),
                                "gap": round(float(tested[l2].mean() / hindsight - 1), 4)})
    difference = {l2: tested[l2] - tested[best] for l2 in GRID}
    return {
        "users_evaluated": len(rows), "items": int(data.n_items), "hindsight_best_ndcg": round(float(hindsight), 4),
        "test": {f"{l2:g}": {"ndcg": round(float(tested[l2].mean()), 4),
                             "minus_best": round(float(difference[l2].mean()), 4),
                             "se": round(float(difference[l2].std(ddof=1) / np.sqrt(len(rows))), 4)}
                 for l2 in GRID},
        "designs": designs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=list(SETS))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ease-validation.json")
    args = parser.parse_args()
    results = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load_start": os.getloadavg()[0],
               "sets": {}}
    for key in args.sets:
        name, load = SETS[key]
        result = check(load())
        results["sets"][name] = result
        print(f"\n## {name}: hindsight best {result['hindsight_best_ndcg']}")
        print(pd.DataFrame(result["designs"]).to_string(index=False))
    results["load_end"] = os.getloadavg()[0]
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
