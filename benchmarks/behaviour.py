"""What the behaviour profile (issue 23, item 1) adds at 10,000 users, and how often it marks a difference
that chance alone would give.

    python benchmarks/behaviour.py [--users 10000] [--out benchmarks/results/behaviour-10k.json]

Time: the first 10,000 users (by id) of the real recipe reviews, segmented with tfidf and k-means (k = 6);
``behaviour_profile`` (every figure, tier and test) and the page's tables from it, each the median of five
runs alternated with five re-clusters of the same data (what the Segment page waits for with a new k), so
the ratio is read at the same load. The generated demo at 10,000 users adds four attribute columns.

Chance: on the real recipe reviews (10,000 users) and the real bloggers (1,742 users, gender and age from
``users.csv``), users drawn into six segments at random (seeds 0-4) should show no difference; the count of
figures marked there is the false discoveries the Benjamini-Hochberg correction lets through. Beside it, the
figures marked for the real tfidf segments (seeds 0-2).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from segmentation.demo import generate_demo  # noqa: E402
from segmentation.describe.behaviour import behaviour_profile  # noqa: E402
from segmentation.describe.export import segments_json  # noqa: E402
from segmentation.ingest.io import from_frame  # noqa: E402
from segmentation.pipeline.config import SegmentConfig  # noqa: E402
from segmentation.pipeline.segment import cluster_prepared, prepare  # noqa: E402
from segmentation.present.behaviour import figures_table, overview_table, value_table  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
RECIPES = DATA / "recipe_reviews" / "recipe_reviews_full.csv.gz"
BLOGS = DATA / "blog_industry"
REPEATS = 5
K = 6
CHANCE_SEEDS = range(5)
CLUSTER_SEEDS = range(3)


def seconds(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def timed(comments, k: int = K) -> dict:
    """Median seconds of the profile, the page's tables and segments.json, alternated with re-clusters."""
    config = SegmentConfig(encoder="tfidf", algorithm="kmeans", k=k, seed=0)
    prepared = prepare(comments, config, with_map=False)
    result = cluster_prepared(prepared, config)
    profile = behaviour_profile(comments, result.user_ids, result.labels)
    names = {s.id: s.name for s in result.segments}
    runs: dict[str, list[float]] = {"profile": [], "tables": [], "segments_json": [], "recluster": []}
    for _ in range(REPEATS):
        runs["recluster"].append(seconds(lambda: cluster_prepared(prepared, config)))
        runs["profile"].append(seconds(lambda: behaviour_profile(comments, result.user_ids, result.labels)))
        runs["tables"].append(seconds(lambda: (overview_table(profile, names), value_table(profile, names),
                                               figures_table(profile, profile.segments[0].segment))))
        runs["segments_json"].append(seconds(lambda: segments_json(result.segments, behaviour=profile))
                                     - seconds(lambda: segments_json(result.segments)))
    medians = {f"{name}_s": round(statistics.median(values), 3) for name, values in runs.items()}
    return {"users": profile.n_users, "comments": comments.n_comments, "segments": len(profile.segments),
            "figures_per_segment": len(profile.segments[0].figures), **medians,
            "profile_over_recluster": round(medians["profile_s"] / medians["recluster_s"], 3)}


def marked(profile) -> int:
    return sum(f.differs for s in profile.segments for f in s.figures)


def tested(profile) -> int:
    return sum(f.p_value is not None for s in profile.segments for f in s.figures)


def chance(comments, name: str) -> dict:
    """Figures marked for random segments (false discoveries) and for the real tfidf segments."""
    user_ids = np.array(sorted(comments.frame["user_id"].unique()))
    random_rows = []
    for seed in CHANCE_SEEDS:
        labels = np.random.default_rng(seed).integers(0, K, len(user_ids))
        profile = behaviour_profile(comments, user_ids, labels)
        random_rows.append({"seed": seed, "tested": tested(profile), "marked": marked(profile)})
    real_rows = []
    for seed in CLUSTER_SEEDS:
        config = SegmentConfig(encoder="tfidf", algorithm="kmeans", k=K, seed=seed)
        result = cluster_prepared(prepare(comments, config, with_map=False), config)
        profile = behaviour_profile(comments, result.user_ids, result.labels)
        real_rows.append({"seed": seed, "tested": tested(profile), "marked": marked(profile),
                          "tiers": {t: sum(s.tiers.get(t, 0) for s in profile.segments) for t in ("new", "occasional",
                                                                                                  "loyal")},
                          "tier_rule": None if profile.tier_rule is None else profile.tier_rule.words()})
    return {"data": name, "users": len(user_ids), "random_segments": random_rows, "tfidf_segments": real_rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "behaviour-10k.json")
    args = parser.parse_args()
    if not RECIPES.is_file() or not BLOGS.is_dir():
        print(f"the real recipe reviews or bloggers are not under {DATA}", file=sys.stderr)
        return 2
    record: dict = {"date": date.today().isoformat(), "machine": f"{os.cpu_count()} cores",
                    "load_1min_start": round(os.getloadavg()[0], 2)}
    frame = pd.read_csv(RECIPES, dtype=str)
    users = sorted(frame["user_id"].unique())[: args.users]
    recipes = from_frame(frame[frame["user_id"].isin(set(users))], source="recipe reviews")
    record["time_recipes"] = timed(recipes)
    record["time_demo"] = timed(from_frame(generate_demo(0, n_users=args.users), source="demo"))
    raw = pd.read_csv(BLOGS / "comments.csv.gz")
    people = pd.read_csv(BLOGS / "users.csv")[["user_id", "gender", "age"]]
    blogs = from_frame(raw.merge(people, on="user_id").drop(columns="label"), source="bloggers")
    record["chance"] = [chance(recipes, "recipe reviews"), chance(blogs, "bloggers, gender and age")]
    record["load_1min_end"] = round(os.getloadavg()[0], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
