"""Exact or approximate nearest neighbours for the map: where brute force stops paying (``BRUTE_FORCE_LIMIT``).

    python benchmarks/neighbours.py                  # real users, then the same doubled; fresh processes
    python benchmarks/neighbours.py --table          # the README table from the JSON

The map and a UMAP clustering space start from every user's 15 nearest neighbours
(:func:`segmentation.embed.projection.knn_graph`). Brute force (blocks of float32 dot products) costs n²;
pynndescent's NN-descent costs less per user but compiles its numba kernels in each new process, which is
every command-line run and the app's first large map. So each figure is one fresh process, the two methods
alternating run by run. The users are the fast encoder's profiles of every user of the four real sets in
``../shared/data`` (recipe reviewers, bloggers, newsgroup posters, forum users: 16,745), built with the
workspace's embedding cache; larger sizes repeat them with a small jitter (renormalised), which keeps their
spread but is not new data.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from stamp import load, stamp  # noqa: E402  (benchmarks/, the script's own folder)

DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "neighbours.json"
SETS = ("recipe_reviews/recipe_reviews_full.csv.gz", "blog_industry/comments.csv.gz",
        "newsgroups_users/comments.csv.gz", "se_closed_sites/comments.csv.gz")
NEIGHBOURS = 15

# One timed search in a process of its own: argv = method, n, vectors file.
CHILD = """
import sys, time, numpy as np
sys.path.insert(0, {root!r})
method, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
X = np.load(path)
if n > len(X):
    rng = np.random.default_rng(0)
    extra = X[rng.integers(0, len(X), n - len(X))]
    extra = extra + rng.normal(0, 0.05, extra.shape).astype(np.float32)
    extra /= np.linalg.norm(extra, axis=1, keepdims=True)
    X = np.vstack([X, extra])
started = time.perf_counter()
if method == "brute":
    from segmentation.embed.projection import _cosine_knn
    _cosine_knn(X, {k})
else:
    from pynndescent import NNDescent
    NNDescent(X, n_neighbors={k}, metric="cosine", random_state=0).neighbor_graph
print(time.perf_counter() - started)
"""


def real_profiles() -> np.ndarray:
    from segmentation.ingest.io import load_comments
    from segmentation.pipeline.config import SegmentConfig
    from segmentation.pipeline.segment import prepare

    parts = []
    for name in SETS:
        prepared = prepare(load_comments(DATA / name), SegmentConfig(encoder="fast", seed=0), with_map=False)
        parts.append(prepared.profiles.vectors.astype(np.float32))
    return np.vstack(parts)


def timed(method: str, n: int, path: Path) -> float:
    child = CHILD.format(root=str(ROOT), k=NEIGHBOURS)
    done = subprocess.run([sys.executable, "-c", child, method, str(n), str(path)], capture_output=True, text=True,
                          check=True)
    return round(float(done.stdout.strip().splitlines()[-1]), 2)


def measure(sizes: list[int], repeats: int) -> dict:
    vectors = real_profiles()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "profiles.npy"
        np.save(path, vectors)
        for n in sizes or [len(vectors), 2 * len(vectors)]:
            for _ in range(repeats):
                before = load()
                brute, approximate = timed("brute", n, path), timed("nndescent", n, path)
                rows.append({"users": n, "real": n <= len(vectors), "brute_s": brute, "nndescent_s": approximate,
                             "load": [before, load()]})
                print(rows[-1], flush=True)
    return {**stamp(), "real_users": len(vectors), "neighbours": NEIGHBOURS, "rows": rows}


def table(result: dict) -> str:
    lines = ["| users | brute force (s) | NN-descent (s) | load |", "|---|---|---|---|"]
    for row in result["rows"]:
        users = f"{row['users']:,}" + ("" if row["real"] else " (doubled)")
        lines.append(f"| {users} | {row['brute_s']} | {row['nndescent_s']} | {row['load'][0]}–{row['load'][1]} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[], help="users (default: the real ones, twice)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--table", action="store_true", help="print the README table from the JSON")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(RESULTS.read_text())))
        return 0
    started = time.perf_counter()
    result = measure(args.sizes, args.repeats)
    result["wall_s"] = round(time.perf_counter() - started, 1)
    RESULTS.write_text(json.dumps(result, indent=1))
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
