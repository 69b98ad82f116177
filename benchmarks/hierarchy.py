"""Which way of nesting broad segments over fine ones keeps both layers true to real groups? (issue 23, item 3)

    python benchmarks/hierarchy.py                 # the three labelled sets, fast encoder, seeds 0-2
    python benchmarks/hierarchy.py --sets newsgroups --seeds 5
    python benchmarks/hierarchy.py --time-users 10000   # also: the time a hierarchy adds at 10k users (recipes)

The fine layer is the product's run (k-means at a fixed fine k, every other setting at its default). The coarse
layer is made four ways and scored against the real labels:

- **weighted Ward** (what was built, :func:`segmentation.cluster.hierarchy.build_hierarchy`): the run's segments
  stay the fine layer and are merged by Ward's criterion for whole segments (a merge costs
  ``n_a n_b / (n_a + n_b) * |c_a - c_b|^2``); a user's broad group is their segment's parent, so the layers nest.
- **majority of a direct k-means**: a direct k-means on the same profiles at the coarse k (the product's fit,
  resample starts included); each segment's parent is the group holding most of its users. Keeps the run too;
  "nesting" is the share of users the direct k-means itself puts in that parent.
- **direct k-means**, for reference: nests in nothing.
- **top-down**: the direct coarse k-means, each group split by k-means into its share of the fine k. Its fine
  layer replaces the run's segments, so it could only be a run option.

Per layer: NMI against the labels (newsgroups: the 20 groups for the fine layer, the 6 coarse groups for the
coarse one; the forum and blog sets have one label, scored against the coarse layer), the mean pairwise ARI
between seeds 0-2, and the ARI between runs on three 90% samples of the users (on the users two samples share):
the product's run is the same under every seed on two of the sets, so only other users can tell the methods
apart there. Also the coarse k that ``coarse_k="auto"`` chooses, and the seconds a hierarchy adds at 10k real
recipe reviewers (``--time-users``). Read in place from ``../shared/data`` (never copied).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: E402
from stamp import stamp  # noqa: E402  (benchmarks/, the script's own folder)

from segmentation.cluster.base import CLUSTERERS, fit_on  # noqa: E402
from segmentation.cluster.hierarchy import build_hierarchy  # noqa: E402
from segmentation.cluster.selection import fit_run  # noqa: E402
from segmentation.ingest.io import from_frame, load_comments  # noqa: E402
from segmentation.pipeline.config import SegmentConfig  # noqa: E402
from segmentation.pipeline.segment import cluster_prepared, prepare  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "hierarchy.json"
# name: (file, fine label column, coarse label column, fine k, coarse k). The coarse k is the number of labels
# the coarse layer is scored against; the fine k is the newsgroups' 20 groups, elsewhere three times the coarse.
SETS = {
    "newsgroups": ("newsgroups_users/comments.csv.gz", "label", "label_coarse", 20, 6),
    "forums": ("se_closed_sites/comments.csv.gz", None, "label", 15, 5),
    "blogs": ("blog_industry/comments.csv.gz", None, "label", 20, 10),
}
RECIPES = "recipe_reviews/recipe_reviews_full.csv.gz"


def majority(space: np.ndarray, labels: np.ndarray, coarse_k: int, settings: dict, runs: dict) -> tuple:
    """Each segment under the group of a direct coarse k-means holding most of its users: (nested, direct, nesting)."""
    direct = np.asarray(fit_run(space, CLUSTERERS["kmeans"], {**settings, "k": coarse_k}, runs=runs)[0].labels_)
    overlap = np.zeros((labels.max() + 1, direct.max() + 1), dtype=np.int64)
    np.add.at(overlap, (labels, direct), 1)
    parents = overlap.argmax(axis=1)
    return parents[labels], direct, float(overlap.max(axis=1).sum() / len(labels))


def top_down(space: np.ndarray, coarse: np.ndarray, fine_k: int, seed: int) -> np.ndarray:
    """Split each coarse group by k-means into a share of the ``fine_k`` segments proportional to its size."""
    sizes = np.bincount(coarse)
    shares = np.maximum(1, np.round(fine_k * sizes / sizes.sum()).astype(int))
    out, next_id = np.empty(len(coarse), dtype=np.int64), 0
    for group, k in enumerate(shares):
        members = np.flatnonzero(coarse == group)
        k = min(k, len(members))
        kmeans = CLUSTERERS["kmeans"]
        parts = fit_on(space[members], kmeans, {"seed": seed, "k": k}).labels_ if k >= 2 else np.zeros(len(members))
        out[members] = next_id + parts
        next_id += k
    return out


def nmi(truth: pd.Series, labels: np.ndarray) -> float:
    return round(float(normalized_mutual_info_score(truth, labels)), 3)


def seeds_ari(layers: list[np.ndarray]) -> float:
    return round(float(np.mean([adjusted_rand_score(a, b) for a, b in combinations(layers, 2)])), 3)


def one_set(name: str, encoder: str, seeds: int) -> dict:
    path, fine_col, coarse_col, fine_k, coarse_k = SETS[name]
    comments = load_comments(DATA / path)
    columns = [c for c in (fine_col, coarse_col) if c]
    truth = comments.frame.groupby("user_id")[columns].first()
    rows, layers = [], {key: [] for key in ("fine: run", "fine: top-down", "coarse: weighted Ward",
                                            "coarse: majority", "coarse: direct")}
    for seed in range(seeds):
        config = SegmentConfig(encoder=encoder, seed=seed, k=fine_k)
        prepared = prepare(comments, config, with_map=False)
        result = cluster_prepared(prepared, config)
        labels, space = result.labels, prepared.space(*config.space)
        runs = prepared.runs(*config.space)
        started = time.perf_counter()
        built = build_hierarchy(space, labels, coarse_k, settings=config.to_dict(), runs=runs)
        built_s = time.perf_counter() - started
        started = time.perf_counter()
        auto = build_hierarchy(space, labels, "auto", settings=config.to_dict(), runs=runs)
        auto_s = time.perf_counter() - started
        nested, direct, nesting = majority(space, labels, coarse_k, config.to_dict(), runs)
        split = top_down(space, direct, fine_k, seed)
        coarse_truth = truth.loc[result.user_ids, coarse_col]
        fine_truth = truth.loc[result.user_ids, fine_col or coarse_col]
        row = {
            "seed": seed,
            "fine_nmi": {"run": nmi(fine_truth, labels), "top-down": nmi(fine_truth, split)},
            "coarse_nmi": {"weighted Ward": nmi(coarse_truth, built.coarse_labels),
                           "majority": nmi(coarse_truth, nested), "direct": nmi(coarse_truth, direct)},
            "majority_nesting": round(nesting, 3),
            "coarse_sizes": {"weighted Ward": sorted(np.bincount(built.coarse_labels).tolist(), reverse=True),
                             "majority": sorted(np.bincount(nested).tolist(), reverse=True)},
            "auto_coarse_k": auto.coarse_k,
            "auto_coarse_nmi": nmi(coarse_truth, auto.coarse_labels),
            "seconds": {"fixed coarse k": round(built_s, 3), "auto coarse k": round(auto_s, 2)},
        }
        for key, value in (("fine: run", labels), ("fine: top-down", split), ("coarse: weighted Ward",
                           built.coarse_labels), ("coarse: majority", nested), ("coarse: direct", direct)):
            layers[key].append(value)
        rows.append(row)
        print(name, json.dumps(row), flush=True)
    return {"users": int(comments.n_users), "fine_k": fine_k, "coarse_k": coarse_k, "runs": rows,
            "seed_ari": {key: seeds_ari(values) for key, values in layers.items()}}


def resampled(name: str, encoder: str, resamples: int, share: float = 0.9) -> dict:
    """The layers' agreement between runs on different 90% samples of the users (seed 0), on the users they share.

    The product's run is the same under every seed on these sets (its k-means starts from the resamples' centres),
    so seeds cannot tell the methods apart; a sample of other users can, as new data would.
    """
    path, fine_col, coarse_col, fine_k, coarse_k = SETS[name]
    comments = load_comments(DATA / path)
    truth = comments.frame.groupby("user_id")[[c for c in (fine_col, coarse_col) if c]].first()
    users = comments.frame["user_id"].drop_duplicates().to_numpy()
    layers = {key: [] for key in ("fine: run", "coarse: weighted Ward", "coarse: majority", "coarse: direct")}
    rows = []
    for draw in range(resamples):
        keep = np.random.default_rng(draw).choice(users, size=int(share * len(users)), replace=False)
        frame = comments.frame[comments.frame["user_id"].isin(keep)].reset_index(drop=True)
        sample = from_frame(frame.drop(columns=[c for c in frame.columns if c.startswith("label")]), source=name)
        config = SegmentConfig(encoder=encoder, seed=0, k=fine_k)
        prepared = prepare(sample, config, with_map=False)
        result = cluster_prepared(prepared, config)
        labels, space = result.labels, prepared.space(*config.space)
        runs = prepared.runs(*config.space)
        built = build_hierarchy(space, labels, coarse_k, settings=config.to_dict(), runs=runs)
        nested, direct, _ = majority(space, labels, coarse_k, config.to_dict(), runs)
        by_user = pd.Index(result.user_ids)
        for key, value in (("fine: run", labels), ("coarse: weighted Ward", built.coarse_labels),
                           ("coarse: majority", nested), ("coarse: direct", direct)):
            layers[key].append(pd.Series(value, index=by_user))
        coarse_truth = truth.loc[result.user_ids, coarse_col]
        row = {"draw": draw, "coarse_nmi": {"weighted Ward": nmi(coarse_truth, built.coarse_labels),
                                            "majority": nmi(coarse_truth, nested)}}
        rows.append(row)
        print(name, "resample", json.dumps(row), flush=True)
    agreement = {}
    for key, values in layers.items():
        scores = []
        for a, b in combinations(values, 2):
            common = a.index.intersection(b.index)
            scores.append(adjusted_rand_score(a[common], b[common]))
        agreement[key] = round(float(np.mean(scores)), 3)
    return {"share": share, "runs": rows, "resample_ari": agreement}


def timing(encoder: str, n_users: int, seeds: int) -> dict:
    """Seconds a hierarchy adds to a run of ``n_users`` real recipe reviewers (fine k=12), per seed."""
    frame = load_comments(DATA / RECIPES).frame
    keep = frame["user_id"].drop_duplicates().iloc[:n_users]
    comments = from_frame(frame[frame["user_id"].isin(keep)].reset_index(drop=True), source="recipes")
    rows = []
    for seed in range(seeds):
        config = SegmentConfig(encoder=encoder, seed=seed, k=12)
        prepared = prepare(comments, config, with_map=False)
        started = time.perf_counter()
        result = cluster_prepared(prepared, config)
        run_s = time.perf_counter() - started
        space, runs = prepared.space(*config.space), prepared.runs(*config.space)
        found = {"seed": seed, "run (k=12) s": round(run_s, 2)}
        for coarse in (4, "auto"):  # a fixed k only merges segment centres; "auto" sweeps k-means fits
            started = time.perf_counter()
            hierarchy = build_hierarchy(space, result.labels, coarse, settings=config.to_dict(), runs=runs)
            found[f"coarse k={coarse} s"] = round(time.perf_counter() - started, 2)
            found[f"coarse k={coarse} chose"] = hierarchy.coarse_k
        rows.append(found)
        print("timing", json.dumps(found), flush=True)
    return {"users": int(comments.n_users), "comments": int(comments.n_comments), "runs": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="fast")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--sets", nargs="*", default=list(SETS), choices=list(SETS))
    parser.add_argument("--resamples", type=int, default=3, help="runs on 90%% samples of the users per set")
    parser.add_argument("--time-users", type=int, default=0, help="also time a hierarchy at this many users")
    args = parser.parse_args()
    load_start = [round(v, 2) for v in os.getloadavg()]
    record = {**stamp(),
              "encoder": args.encoder, "seeds": args.seeds,
              "sets": {name: one_set(name, args.encoder, args.seeds) for name in args.sets},
              "resampled": {name: resampled(name, args.encoder, args.resamples) for name in args.sets}}
    if args.time_users:
        record["timing"] = timing(args.encoder, args.time_users, args.seeds)
    record["load"] = f"{load_start} → {[round(v, 2) for v in os.getloadavg()]}"
    RESULTS.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({name: found["seed_ari"] for name, found in record["sets"].items()}))
    print(json.dumps({name: found["resample_ari"] for name, found in record["resampled"].items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
