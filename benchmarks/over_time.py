"""What segments over time (issue 23, item 2) adds at 10,000 users, and what it says on the real sets.

    python benchmarks/over_time.py [--users 10000] [--out benchmarks/results/over-time-10k.json]

Time: the first 10,000 users (by id) of the real recipe reviews and the generated demo at 10,000 users, segmented
with tfidf and k-means (k = 6); ``over_time`` with the run's term counts (what the Segments page does: the run
counted them to describe its segments), ``over_time`` counting them itself (what the ``over-time`` command does
on a saved run), and the page's tables from it, each the median of five runs alternated with five re-clusters
of the same data, so that the ratio is read at the same load.

Sentences: the biggest change and the rising words of the largest segments on every real set with times (all
recipe reviews; the bloggers) and the demo, tfidf k-means k = 6, seeds 0-2.

Chance: users drawn into six segments at random (seeds 0-4) on the same sets should show no change beyond
chance; the count of such runs whose biggest change is called beyond chance is the false alarm rate.
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
from segmentation.describe.over_time import over_time  # noqa: E402
from segmentation.ingest.io import from_frame  # noqa: E402
from segmentation.pipeline.config import SegmentConfig  # noqa: E402
from segmentation.pipeline.segment import cluster_prepared, prepare  # noqa: E402
from segmentation.present.over_time import change_sentence, rising_table, shares_frame  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
RECIPES = DATA / "recipe_reviews" / "recipe_reviews_full.csv.gz"
BLOGS = DATA / "blog_industry" / "comments.csv.gz"
REPEATS = 5
K = 6
SEEDS = range(3)
CHANCE_SEEDS = range(5)


def seconds(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def timed(comments) -> dict:
    """Median seconds of the timeline (with and without the run's term counts) and its tables, beside re-clusters."""
    config = SegmentConfig(encoder="tfidf", algorithm="kmeans", k=K, seed=0)
    prepared = prepare(comments, config, with_map=False)
    result = cluster_prepared(prepared, config)  # counts the terms once, as every run does
    found = over_time(comments, result.user_ids, result.labels, terms=prepared.terms)
    names = {s.id: s.name for s in result.segments}
    runs: dict[str, list[float]] = {"with_run_terms": [], "counting_terms": [], "tables": [], "recluster": []}
    for _ in range(REPEATS):
        runs["recluster"].append(seconds(lambda: cluster_prepared(prepared, config)))
        runs["with_run_terms"].append(seconds(
            lambda: over_time(comments, result.user_ids, result.labels, terms=prepared.terms)))
        runs["counting_terms"].append(seconds(lambda: over_time(comments, result.user_ids, result.labels)))
        runs["tables"].append(seconds(lambda: (shares_frame(found, names), rising_table(found, names),
                                               change_sentence(found, names))))
    medians = {f"{name}_s": round(statistics.median(values), 3) for name, values in runs.items()}
    return {"users": len(result.user_ids), "comments": comments.n_comments, "unit": found.unit,
            "periods": len(found.periods), **medians,
            "with_run_terms_over_recluster": round(medians["with_run_terms_s"] / medians["recluster_s"], 3)}


def said(comments, name: str) -> dict:
    """The sentence and the rising words of the two largest segments, per clustering seed."""
    rows = []
    for seed in SEEDS:
        config = SegmentConfig(encoder="tfidf", algorithm="kmeans", k=K, seed=seed)
        prepared = prepare(comments, config, with_map=False)
        result = cluster_prepared(prepared, config)
        found = over_time(comments, result.user_ids, result.labels, terms=prepared.terms)
        names = {s.id: s.name for s in result.segments}
        largest = sorted(result.segments, key=lambda s: -s.size)[:2]
        rows.append({"seed": seed, "unit": found.unit, "periods": [found.periods[0].label, found.periods[-1].label],
                     "last_period_comments": found.periods[-1].comments, "notes": list(found.notes),
                     "sentence": change_sentence(found, names), "beyond_chance": found.beyond_chance,
                     "rising": {names[s.id]: list(found.segment(s.id).rising) for s in largest}})
    terms = prepared.terms
    user_ids = np.array(sorted(comments.frame["user_id"].astype(str).unique()))
    alarms = [over_time(comments, user_ids, np.random.default_rng(seed).integers(0, K, len(user_ids)),
                        terms=terms).beyond_chance for seed in CHANCE_SEEDS]
    return {"data": name, "users": comments.n_users, "comments": comments.n_comments, "seeds": rows,
            "random_segments_beyond_chance": alarms}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "over-time-10k.json")
    args = parser.parse_args()
    if not RECIPES.is_file() or not BLOGS.is_file():
        print(f"the real recipe reviews or bloggers are not under {DATA}", file=sys.stderr)
        return 2
    record: dict = {"date": date.today().isoformat(), "machine": f"{os.cpu_count()} cores",
                    "load_1min_start": round(os.getloadavg()[0], 2)}
    frame = pd.read_csv(RECIPES, dtype=str)
    users = sorted(frame["user_id"].unique())[: args.users]
    record["time_recipes"] = timed(from_frame(frame[frame["user_id"].isin(set(users))], source="recipe reviews"))
    record["time_demo"] = timed(from_frame(generate_demo(0, n_users=args.users), source="demo"))
    blogs = from_frame(pd.read_csv(BLOGS).drop(columns="label"), source="bloggers")
    record["said"] = [said(from_frame(frame, source="recipe reviews"), "recipe reviews (all)"),
                      said(blogs, "bloggers"), said(from_frame(generate_demo(0), source="demo"), "demo (500 users)")]
    record["load_1min_end"] = round(os.getloadavg()[0], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
