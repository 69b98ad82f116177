"""Does the automatic k give the same k and the same segments whatever the seed? (issue 21, item 1)

    python benchmarks/seeds.py --label after                       # every set, fast encoder, seeds 0-9
    python benchmarks/seeds.py --label after --sets se_closed_sites --encoder minilm --seeds 5
    python benchmarks/seeds.py --table                             # the README table from the JSON

Every setting is the default (``SegmentConfig(encoder=..., seed=s)``: k-means, ``k="auto"`` in 3..12, the 50-d
PCA space) but the seed, which moves what is random in a run: the seeded initialisations of each k-means fit
(the PCA is exact, and the resamples behind the stability figure are drawn the same under every seed).
Per set and seed the JSON keeps the k chosen, the run's time
and the choice's reason and warnings; per set the mean and the smallest adjusted Rand index between the
seeds' segmentations (every pair of seeds), and the mean NMI with the set's labels where it has them.

The real sets are read in place from ``../shared/data`` (never copied into the project): the labelled users
of the forum, newsgroup and blog sets and the recipe reviewers with two reviews or more; the generated demo
runs last. Embeddings come from the workspace's cache, so each set is encoded once. A run adds its figures
under ``--label`` to ``benchmarks/results/seeds.json`` beside earlier labels (the code before a change, and
after it), with the commit, the date, the machine and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: E402
from stamp import load, stamp  # noqa: E402  (benchmarks/, the script's own folder)

from segmentation.ingest.io import load_comments  # noqa: E402
from segmentation.pipeline.config import SegmentConfig  # noqa: E402
from segmentation.pipeline.segment import cluster_prepared, prepare  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "seeds.json"
# name → (file, label column or None)
SETS = {
    "se_closed_sites": (DATA / "se_closed_sites" / "comments.csv.gz", "label"),
    "newsgroups_users": (DATA / "newsgroups_users" / "comments.csv.gz", "label"),
    "blog_industry": (DATA / "blog_industry" / "comments.csv.gz", "label"),
    "recipe_reviews": (DATA / "recipe_reviews" / "recipe_reviews_users_ge2.csv.gz", None),
    "demo": (ROOT / "segmentation" / "data" / "demo_reviews.csv", "true_taste"),
}


def seed_runs(path: Path, label_column: str | None, encoder: str, seeds: range) -> dict:
    """The automatic k's outcome per seed on one file, and how far the seeds' segmentations agree."""
    comments = load_comments(path)
    truth_by_user = comments.frame.groupby("user_id")[label_column].first() if label_column else None
    runs, labelings, nmis = [], [], []
    for seed in seeds:
        config = SegmentConfig(encoder=encoder, seed=seed)
        prepared = prepare(comments, config, with_map=False)
        started = time.perf_counter()
        result = cluster_prepared(prepared, config)
        seconds = time.perf_counter() - started
        labelings.append(result.labels)
        run = {
            "seed": seed,
            "k": int(result.metrics["n_segments"]),
            "seconds": round(seconds, 2),
            "reason": result.choice.reason if result.choice else None,
            "warnings": result.choice.warnings if result.choice else [],
        }
        if truth_by_user is not None:
            nmis.append(normalized_mutual_info_score(truth_by_user.loc[result.user_ids].to_numpy(), result.labels))
            run["nmi"] = round(nmis[-1], 3)
        runs.append(run)
        print(f"  seed {seed}: k={run['k']} in {seconds:.1f} s", flush=True)
    aris = [adjusted_rand_score(a, b) for a, b in combinations(labelings, 2)]
    return {
        "file": path.name,
        "users": int(len(labelings[0])),
        "comments": int(comments.n_comments),
        "ks": [run["k"] for run in runs],
        "ari_mean": round(float(np.mean(aris)), 3) if aris else None,
        "ari_min": round(float(np.min(aris)), 3) if aris else None,
        "nmi_mean": round(float(np.mean(nmis)), 3) if nmis else None,
        "seconds_median": round(statistics.median(run["seconds"] for run in runs), 2),
        "runs": runs,
    }


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def table(results: dict) -> str:
    """The README's seed table: one row per label, encoder and set."""
    lines = [
        "| code | encoder | set | users | k per seed | mean ARI | min ARI | NMI | s per run | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, run in results.items():
        busy = f"{run['load_start']} → {run['load_end']}"
        for name, row in run["sets"].items():
            ks = " ".join(str(k) for k in row["ks"])
            nmi = f"{row['nmi_mean']:.3f}" if row["nmi_mean"] is not None else "—"
            lines.append(
                f"| {label} ({run['commit']}) | {run['encoder']} | {name} | {row['users']:,} | {ks} | "
                f"{row['ari_mean']:.3f} | {row['ari_min']:.3f} | {nmi} | {row['seconds_median']:.2f} | {busy} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="after", help="key of this run in the JSON (e.g. before, after)")
    parser.add_argument("--encoder", default="fast")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1")
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=list(SETS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--table", action="store_true", help="print the README table from --out and stop")
    args = parser.parse_args()
    results = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}
    if args.table:
        print(table(results))
        return 0
    record = {
        "commit": commit(),
        "encoder": args.encoder,
        "seeds": args.seeds,
        **stamp(),
        "load_start": load(),
        "sets": {},
    }
    key = args.label if args.encoder == "fast" else f"{args.label}, {args.encoder}"
    for name in args.sets:
        path, label_column = SETS[name]
        path = args.data / path.relative_to(DATA) if path.is_relative_to(DATA) else path
        if not path.is_file():
            print(f"{name}: not found at {path}, skipped", file=sys.stderr)
            continue
        print(f"{name}:", flush=True)
        record["sets"][name] = seed_runs(path, label_column, args.encoder, range(args.seeds))
        # Written after every set, so that a long run stopped part way keeps what it measured.
        record["load_end"] = load()
        results[key] = record
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table({key: record}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
