"""What the Segment page waits for at 10,000 real users once the data is prepared: a re-cluster with a new k
(or minimum cluster size), the k-sweep over k = 2..15, and a run with k chosen automatically.

    python benchmarks/recluster.py [--users 10000] [--out benchmarks/results/recluster-10k.json]

The users are the first 10,000 (by id) of the real recipe reviews (``../shared/data/recipe_reviews``),
encoded with tfidf (the clustering runs in the same 50-d PCA space whatever the encoder). Each figure is the
median of three runs; every re-cluster includes what the page gets with it: quality scores, silhouettes,
per-segment stability under resampling and the descriptions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from segmentation.cluster.base import clusterer_class  # noqa: E402
from segmentation.ingest.io import from_frame  # noqa: E402
from segmentation.pipeline.config import SegmentConfig  # noqa: E402
from segmentation.pipeline.segment import cluster_prepared, prepare, sweep  # noqa: E402

RECIPES = ROOT.parent / "shared" / "data" / "recipe_reviews" / "recipe_reviews_full.csv.gz"
REPEATS = 3


def median_seconds(work, repeats: int = REPEATS, fresh=None) -> float:
    """Median time of ``work``; ``fresh()`` runs before each repeat, untimed."""
    times = []
    for _ in range(repeats):
        if fresh is not None:
            fresh()
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "recluster-10k.json")
    args = parser.parse_args()
    if not RECIPES.is_file():
        print(f"the real recipe reviews are not at {RECIPES}", file=sys.stderr)
        return 2
    frame = pd.read_csv(RECIPES, dtype=str)
    users = sorted(frame["user_id"].unique())[: args.users]
    comments = from_frame(frame[frame["user_id"].isin(set(users))], source="recipe reviews")
    base = SegmentConfig(encoder="tfidf", algorithm="kmeans", k=6, seed=0)
    started = time.perf_counter()
    prepared = prepare(comments, base)
    record: dict = {"data": f"first {len(users):,} users of the real recipe reviews ({comments.n_comments:,} "
                            "comments), tfidf", "users": comments.n_users, "prepare_s": round(time.perf_counter()
                                                                                                 - started, 1),
                    "load_1min_start": round(os.getloadavg()[0], 2), "date": time.strftime("%Y-%m-%d"),
                    "recluster_s": {}, "sweep_2_15_s": {}}
    # The pipeline keeps every fit it made on a space (Prepared.runs): a repeat would time the lookup, so each
    # repeat of a sweep or an automatic k starts without them, as the first time a user asks for it.
    def forget(config: SegmentConfig = base) -> None:
        prepared.runs(*config.space).clear()

    for algorithm in ("kmeans", "bisecting", "agglomerative", "hdbscan"):
        first = replace(base, algorithm=algorithm, min_cluster_size=20)
        cluster_prepared(prepared, first)  # builds and memoises the algorithm's space (and tree)
        # A new setting each time, as when an analyst moves the slider: k 7, 8, 9 (or sizes 21, 22, 23).
        param = clusterer_class(algorithm).sweep_param
        settings = iter(replace(first, **{param: getattr(first, param) + n}) for n in range(1, 100))
        record["recluster_s"][algorithm] = median_seconds(lambda s=settings: cluster_prepared(prepared, next(s)))
        if param == "k":
            record["sweep_2_15_s"][algorithm] = median_seconds(lambda c=first: sweep(prepared, c, range(2, 16)),
                                                               fresh=lambda c=first: forget(c))
    record["k_auto_s"] = median_seconds(lambda: cluster_prepared(prepared, replace(base, k="auto")), fresh=forget)
    # What the kept fits give: the same automatic k again, and a k the sweep already fitted.
    record["k_auto_again_s"] = median_seconds(lambda: cluster_prepared(prepared, replace(base, k="auto")))
    record["recluster_swept_k_s"] = median_seconds(lambda: cluster_prepared(prepared, replace(base, k=9)))
    record["load_1min_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(record, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
