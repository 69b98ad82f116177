"""Does the "between segments" flag pick out the users whose segment fits them least? (issue 23, item 5)

    python benchmarks/membership.py                 # the labelled real sets, fast encoder, seeds 0-2
    python benchmarks/membership.py --table         # the README table from the JSON

Every setting is the default but the seed (k-means, automatic k, the 50-d PCA space). For each labelled set and
seed: the share of users the product flags as between segments at margins 0.05 / 0.10 (the default) / 0.15 /
0.20, and how often a flagged user's own label is the majority label of their segment, against the other users.
A flag worth showing marks users who agree clearly less often. Also the time the membership columns take at
10,000 generated users. The real sets are read in place from ``../shared/data`` (never copied).
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
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
from stamp import load, stamp  # noqa: E402  (benchmarks/, the script's own folder)

from segmentation.cluster.membership import BETWEEN_BELOW, membership_columns  # noqa: E402
from segmentation.ingest.io import load_comments  # noqa: E402
from segmentation.pipeline.config import SegmentConfig  # noqa: E402
from segmentation.pipeline.segment import cluster_prepared, prepare  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "membership.json"
SETS = ("se_closed_sites", "newsgroups_users", "blog_industry")
MARGINS = (0.05, BETWEEN_BELOW, 0.15, 0.2)


def agreement(labels: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Whether each user's true label is the most common true label of their segment."""
    agrees = np.zeros(len(labels), dtype=bool)
    for segment in np.unique(labels):
        mine = labels == segment
        values, counts = np.unique(truth[mine], return_counts=True)
        agrees[mine] = truth[mine] == values[counts.argmax()]
    return agrees


def one_set(path: Path, encoder: str, seeds: range) -> list[dict]:
    comments = load_comments(path)
    truth_by_user = comments.frame.groupby("user_id")["label"].first()
    rows = []
    for seed in seeds:
        config = SegmentConfig(encoder=encoder, seed=seed)
        prepared = prepare(comments, config, with_map=False)
        result = cluster_prepared(prepared, config)
        confidence = result.assignments["confidence"].to_numpy()
        agrees = agreement(result.labels, truth_by_user.loc[result.user_ids].to_numpy())
        row = {"seed": seed, "k": int(result.metrics["n_segments"]), "users": int(len(agrees)),
               "agree_all": round(float(agrees.mean()), 3), "margins": {}}
        for cut in MARGINS:
            flagged = confidence < cut
            row["margins"][f"{cut:.2f}"] = {
                "share": round(float(flagged.mean()), 3),
                "agree_between": round(float(agrees[flagged].mean()), 3) if flagged.any() else None,
                "agree_rest": round(float(agrees[~flagged].mean()), 3),
            }
        rows.append(row)
        print(f"  seed {seed}: k={row['k']}, {row['margins'][f'{BETWEEN_BELOW:.2f}']}", flush=True)
    return rows


def timing(n_users: int = 10_000, k: int = 8, dims: int = 50, repeats: int = 5) -> float:
    """Median seconds for the membership columns of ``n_users`` users in a ``dims``-d space with k segments."""
    rng = np.random.default_rng(0)
    space = rng.normal(size=(n_users, dims)).astype(np.float32)
    labels = rng.integers(0, k, n_users)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        membership_columns(space, labels)
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def table(results: dict) -> str:
    lines = ["| set | seed | k | users | flagged at 0.10 | agree (flagged / rest) at 0.05 | at 0.10 | at 0.15 | "
             "at 0.20 |", "|---|---|---|---|---|---|---|---|---|"]
    for name, rows in results["sets"].items():
        for row in rows:
            cells = []
            for cut in MARGINS:
                m = row["margins"][f"{cut:.2f}"]
                between = "—" if m["agree_between"] is None else f"{m['agree_between']:.2f}"
                cells.append(f"{between} / {m['agree_rest']:.2f} ({m['share']:.0%})")
            flagged = row["margins"][f"{BETWEEN_BELOW:.2f}"]["share"]
            lines.append(f"| {name} | {row['seed']} | {row['k']} | {row['users']:,} | {flagged:.0%} | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="fast")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--table", action="store_true", help="print the README table from --out and stop")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(args.out.read_text(encoding="utf-8"))))
        return 0
    load_start = load()
    results = {
        **stamp(),
        "encoder": args.encoder,
        "between_below": BETWEEN_BELOW,
        "sets": {},
    }
    for name in SETS:
        path = args.data / name / "comments.csv.gz"
        if not path.is_file():
            print(f"{name}: not found at {path}, skipped", file=sys.stderr)
            continue
        print(name, flush=True)
        results["sets"][name] = one_set(path, args.encoder, range(args.seeds))
    results["seconds_at_10k_users"] = round(timing(), 4)
    results["load"] = f"{load_start} → {load()}"
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
