"""The k-means k-sweep (k = 2..15) and a fit at a new k at 10,000 real recipe reviewers, for one code tree:
run it for two trees in turn, alternating, and compare run by run (issue 22 item 3).

    python benchmarks/sweep_speed.py --space /tmp/space.npy --save-space      # build the space once (tfidf)
    python benchmarks/sweep_speed.py --space /tmp/space.npy --tree ../before  # one timed run of that tree

The space is the 50-d PCA space of the first 10,000 users (by id) of ``../shared/data/recipe_reviews``
(``recipe_reviews_full.csv.gz``), tfidf profiles, as ``benchmarks/recluster.py`` builds it; it is saved once so
that every run, of either tree, clusters the very same numbers. A run prints one JSON line: the sweep's seconds
(``stage.sweep``, as the page's chart and the automatic k call it: each k's fit, its resample fits, stability,
silhouette and scores; ``sampled`` says when it ran on a sample), a ``fit_run`` at k=7 with the fits the sweep
kept (a slider move to a swept k) and with nothing kept (a new k: the run's fit and its resamples; the page's
silhouettes and descriptions are in neither), each also in CPU seconds, the load, and the sweep's stability,
silhouette and inertia per k, so the two trees' outputs can be compared as well as their times.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT.parent / "shared" / "data" / "recipe_reviews" / "recipe_reviews_full.csv.gz"


def save_space(path: Path, users: int) -> None:
    """The clustering space of the first ``users`` recipe reviewers, as the pipeline builds it."""
    sys.path.insert(0, str(ROOT))
    import numpy as np
    import pandas as pd

    from segmentation.ingest.io import from_frame
    from segmentation.pipeline.config import SegmentConfig
    from segmentation.pipeline.segment import prepare

    frame = pd.read_csv(RECIPES, dtype=str)
    chosen = set(sorted(frame["user_id"].unique())[:users])
    comments = from_frame(frame[frame["user_id"].isin(chosen)], source="recipe reviews")
    config = SegmentConfig(encoder="tfidf", algorithm="kmeans", k=6, seed=0)
    np.save(path, prepare(comments, config, with_map=False).space(*config.space))


def timed_run(tree: Path, space: Path) -> dict:
    """One sweep and one new-k fit with the library of ``tree``."""
    sys.path.insert(0, str(tree))
    import numpy as np

    from segmentation.cluster import selection, stage
    from segmentation.cluster.base import CLUSTERERS
    from segmentation.cluster.kmeans import hartigan

    X = np.load(space)
    hartigan(X[:50].astype(np.float64), np.arange(50) % 2, 2)  # numba's compile or cache load, untimed
    kmeans = CLUSTERERS["kmeans"]
    runs: dict = {}
    started, cpu = time.perf_counter(), time.process_time()
    table = stage.sweep(X, kmeans, {"seed": 0}, range(2, 16), runs=runs)
    sweep_s, sweep_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    selection.fit_run(X, kmeans, {"seed": 0}, k=7, runs=runs)
    kept_s, kept_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    selection.fit_run(X, kmeans, {"seed": 0}, k=7)
    return {
        "tree": str(tree),
        "sweep_2_15_s": round(sweep_s, 2),
        "fit_run_k7_s": round(time.perf_counter() - started, 2),
        "fit_run_k7_after_sweep_s": round(kept_s, 2),
        # CPU seconds of the process (all its threads): less moved by other jobs than the wall clock.
        "sweep_2_15_cpu_s": round(sweep_cpu_s, 2),
        "fit_run_k7_cpu_s": round(time.process_time() - cpu, 2),
        "fit_run_k7_after_sweep_cpu_s": round(kept_cpu_s, 2),
        "sampled": list(table.attrs.get("sample", ())),
        "load_1min": round(os.getloadavg()[0], 2),
        "stability": [round(float(v), 4) for v in table["stability"]],
        "silhouette": [round(float(v), 5) for v in table["silhouette"]],
        "inertia": [round(float(v), 3) for v in table["inertia"]],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", type=Path, required=True, help="the saved space (.npy)")
    parser.add_argument("--save-space", action="store_true", help="build and save the space, then stop")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--tree", type=Path, default=ROOT, help="the code tree whose library is timed")
    args = parser.parse_args()
    if args.save_space:
        if not RECIPES.is_file():
            print(f"the real recipe reviews are not at {RECIPES}", file=sys.stderr)
            return 2
        save_space(args.space, args.users)
        return 0
    print(json.dumps(timed_run(args.tree.resolve(), args.space)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
