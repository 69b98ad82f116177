"""Which way of nesting broad segments over fine ones keeps both layers true to real groups? (issue 23, item 3)

    python benchmarks/hierarchy.py            # newsgroups (20 groups in 6 coarse ones), fast encoder, seeds 0-2

A trial for the hierarchy, before it is built: the fine layer is the product's k-means at k=20 (the number of
newsgroups), every other setting at its default; the coarse layer (k=6, the coarse groups) is made four ways and
scored against the coarse labels: Ward over the fine segments' centres, unweighted (scipy) and weighted by
segment size (a merge costs ``n_a n_b / (n_a + n_b) * |c_a - c_b|^2``, Ward's own criterion for whole segments:
no library takes weights); k-means over the centres weighted by size; and, for reference, a direct k-means at
k=6 that nests in nothing. Also the seeds' agreement (ARI) on the coarse layer, and a top-down fine layer (the
direct coarse k-means, each group split by k-means into its share of the 20) against k-means at 20. Read in place from
``../shared/data`` (never copied).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import datetime, timezone
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
from scipy.cluster.hierarchy import fcluster, linkage  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: E402

from segmentation.cluster.base import fit_on  # noqa: E402
from segmentation.ingest.io import load_comments  # noqa: E402
from segmentation.pipeline.config import SegmentConfig  # noqa: E402
from segmentation.pipeline.segment import cluster_prepared, prepare  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "newsgroups_users" / "comments.csv.gz"
RESULTS = ROOT / "benchmarks" / "results" / "hierarchy.json"
FINE, COARSE = 20, 6


def weighted_ward(centres: np.ndarray, sizes: np.ndarray, k: int) -> np.ndarray:
    """Group ``centres`` into ``k`` by Ward's criterion for whole segments of ``sizes`` users."""
    groups = [[i] for i in range(len(centres))]
    means = [c.astype(np.float64) for c in centres]
    counts = [float(n) for n in sizes]
    while len(groups) > k:
        pairs = combinations(range(len(groups)), 2)
        _, a, b = min((counts[a] * counts[b] / (counts[a] + counts[b]) * float(((means[a] - means[b]) ** 2).sum()),
                       a, b) for a, b in pairs)
        means[a] = (counts[a] * means[a] + counts[b] * means[b]) / (counts[a] + counts[b])
        counts[a] += counts[b]
        groups[a] += groups[b]
        del groups[b], means[b], counts[b]
    out = np.empty(len(centres), dtype=np.int64)
    for group, members in enumerate(groups):
        out[members] = group
    return out


def top_down(space: np.ndarray, coarse: np.ndarray, seed: int) -> np.ndarray:
    """Split each coarse group by k-means into a share of the FINE segments proportional to its size."""
    sizes = np.bincount(coarse)
    shares = np.maximum(1, np.round(FINE * sizes / sizes.sum()).astype(int))
    out, next_id = np.empty(len(coarse), dtype=np.int64), 0
    for group, k in enumerate(shares):
        members = np.flatnonzero(coarse == group)
        k = min(k, len(members))
        parts = fit_on(space[members], "kmeans", {"seed": seed, "k": k}).labels_ if k >= 2 else np.zeros(len(members))
        out[members] = next_id + parts
        next_id += k
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="fast")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    load_start = round(os.getloadavg()[0], 2)
    comments = load_comments(args.data)
    truth = comments.frame.groupby("user_id")[["label", "label_coarse"]].first()
    rows, coarse_layers = [], {"ward": [], "weighted ward": [], "weighted k-means": [], "direct k-means": []}
    fine_layers = {"k-means at 20": [], "top-down": []}
    for seed in range(args.seeds):
        config = SegmentConfig(encoder=args.encoder, seed=seed, k=FINE)
        prepared = prepare(comments, config, with_map=False)
        result = cluster_prepared(prepared, config)
        labels, space = result.labels, prepared.space(*config.space)
        fine, coarse_truth = truth.loc[result.user_ids, "label"], truth.loc[result.user_ids, "label_coarse"]
        ids = np.unique(labels)
        centres = np.stack([space[labels == s].mean(axis=0) for s in ids])
        sizes = np.array([(labels == s).sum() for s in ids])
        of_fine = {
            "ward": fcluster(linkage(centres, method="ward"), COARSE, criterion="maxclust") - 1,
            "weighted ward": weighted_ward(centres, sizes, COARSE),
            "weighted k-means": KMeans(COARSE, n_init=10, random_state=seed).fit(centres, sample_weight=sizes).labels_,
        }
        row = {"seed": seed, "fine_nmi": round(normalized_mutual_info_score(fine, labels), 3)}
        for method, grouping in of_fine.items():
            coarse = grouping[np.searchsorted(ids, labels)]
            coarse_layers[method].append(coarse)
            row[method] = {"nmi": round(normalized_mutual_info_score(coarse_truth, coarse), 3),
                           "sizes": sorted(np.bincount(coarse).tolist(), reverse=True)}
        direct = fit_on(space, "kmeans", {"seed": seed, "k": COARSE}).labels_
        coarse_layers["direct k-means"].append(direct)
        row["direct k-means"] = {"nmi": round(normalized_mutual_info_score(coarse_truth, direct), 3),
                                 "sizes": sorted(np.bincount(direct).tolist(), reverse=True)}
        split = top_down(space, direct, seed)
        fine_layers["top-down"].append(split)
        fine_layers["k-means at 20"].append(labels)
        row["top-down fine_nmi"] = round(normalized_mutual_info_score(fine, split), 3)
        rows.append(row)
        print(json.dumps(row), flush=True)
    seeds_ari = {method: round(float(np.mean([adjusted_rand_score(a, b) for a, b in combinations(layers, 2)])), 3)
                 for method, layers in coarse_layers.items()}
    fine_ari = {method: round(float(np.mean([adjusted_rand_score(a, b) for a, b in combinations(layers, 2)])), 3)
                for method, layers in fine_layers.items()}
    record = {"fine_seed_ari_mean": fine_ari, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
              "encoder": args.encoder, "load": f"{load_start} → {round(os.getloadavg()[0], 2)}",
              "runs": rows, "coarse_seed_ari_mean": seeds_ari}
    RESULTS.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(seeds_ari), json.dumps(fine_ari))
    return 0


if __name__ == "__main__":
    sys.exit(main())
