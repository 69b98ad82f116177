"""Does a k-sweep on a sample of the users choose the k the sweep on every user chose? (issue 22 item 3)

    python benchmarks/sampled_sweep.py --tree ../before --seeds 0,1,2 --out /tmp/before   # one code tree

Above ``selection.SWEEP_SAMPLE`` users the k-sweep is fitted on a sample; the real sets of the seed table
(``benchmarks/seeds.py``) are all smaller, so this runs the automatic k at the first 10,000 users (by id) of the
real recipe reviews (``../shared/data/recipe_reviews``, tfidf, every other setting at its default) for each
seed, with the library of ``--tree``: run it for the code before and after, and compare the ks, the seeds'
agreement and the CPU seconds. Prints one JSON line per seed; writes ``OUT.json`` and each seed's labels as
``OUT-seedN.npy``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT.parent / "shared" / "data" / "recipe_reviews" / "recipe_reviews_full.csv.gz"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="the code tree whose library runs")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--out", type=Path, required=True, help="path prefix of the JSON and the labels")
    args = parser.parse_args()
    if not RECIPES.is_file():
        print(f"the real recipe reviews are not at {RECIPES}", file=sys.stderr)
        return 2
    sys.path.insert(0, str(args.tree.resolve()))
    import numpy as np
    import pandas as pd

    from segmentation.ingest.io import from_frame
    from segmentation.pipeline.config import SegmentConfig
    from segmentation.pipeline.segment import cluster_prepared, prepare

    frame = pd.read_csv(RECIPES, dtype=str)
    users = sorted(frame["user_id"].unique())[: args.users]
    comments = from_frame(frame[frame["user_id"].isin(set(users))], source="recipe reviews")
    base = SegmentConfig(encoder="tfidf", seed=0)
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        config = replace(base, seed=seed)
        prepared = prepare(comments, config, with_map=False)
        started, cpu = time.perf_counter(), time.process_time()
        result = cluster_prepared(prepared, config)
        rows.append({"seed": seed, "k": int(result.metrics["n_segments"]),
                     "s": round(time.perf_counter() - started, 2), "cpu_s": round(time.process_time() - cpu, 2),
                     "load": round(os.getloadavg()[0], 2), "reason": result.choice.reason if result.choice else None,
                     "stability": [round(float(v), 3) for v in result.sweep["stability"]],
                     "silhouette": [round(float(v), 4) for v in result.sweep["silhouette"]]})
        np.save(f"{args.out}-seed{seed}.npy", result.labels)
        print(json.dumps(rows[-1]), flush=True)
    Path(f"{args.out}.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
