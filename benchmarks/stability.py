"""How much does a k's stability figure move with the draw of the resamples, and does the automatic k follow?

    python benchmarks/stability.py                                  # every set, draws 0-4, fast encoder
    python benchmarks/stability.py --sets recipe_reviews --draws 3
    python benchmarks/stability.py --table                          # the README tables from the JSON

The stability behind the automatic k is the mean adjusted Rand index between fits on resamples of the users,
drawn from ``selection.RESAMPLE_SEED`` (the same under every run seed). Another value of that seed is another,
equally valid draw: the spread of a k's figure over draws is the figure's noise, and a k chosen one way under
one draw and another way under the next rests on it. For each set and draw this runs the k-sweep k = 2..12 as
the pipeline runs it (fast encoder, k-means, the 50-d PCA space, run seed 0) and keeps, per k, the figure from
the first five resamples (the rule before: five, always) and the sequential figure (five, then five more at a
time up to ``MAX_RESAMPLES`` while the interval straddles 0.8), with the number of resamples it took; and the
k ``choose_k`` takes from each. The run's fits are the same under both rules (their starts are the first five
resamples' centres), so the tables differ only in the stability column; the ks are chosen again from the
kept tables whenever the tables are printed.

The real sets are read in place from ``../shared/data`` (never copied into the project). Results go to
``benchmarks/results/stability.json`` with the commit, date, machine and load.
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
import pandas as pd  # noqa: E402
from seeds import SETS, commit  # noqa: E402  (benchmarks/, the script's own folder)
from stamp import load, stamp  # noqa: E402

from segmentation.cluster import selection, stability  # noqa: E402
from segmentation.ingest.io import load_comments  # noqa: E402
from segmentation.pipeline.config import SegmentConfig  # noqa: E402
from segmentation.pipeline.segment import prepare, sweep  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "stability.json"
KS = range(2, 13)


def draws_of(path: Path, encoder: str, draws: range) -> dict:
    """Per draw of the resamples: each k's stability by both rules and the k each rule chooses."""
    config = SegmentConfig(encoder=encoder, seed=0)
    prepared = prepare(load_comments(path), config, with_map=False)
    out: dict = {"users": prepared.n_users, "draws": []}
    for draw in draws:
        selection.RESAMPLE_SEED = draw  # another draw of the resamples and of their fits' seeds
        runs = prepared.runs(*config.space)
        runs.clear()
        started = time.perf_counter()
        table = sweep(prepared, config, KS)
        seconds = time.perf_counter() - started
        placements = {fit.k: placed for fit, placed in runs.values()}  # the sweep's fits, kept per k
        five = table.copy()
        five[["stability", "stability_low", "stability_high"]] = [
            stability.stability_interval(placements[k][: selection.N_RESAMPLES]) for k in table["k"]
        ]
        five["resamples"] = selection.N_RESAMPLES
        out["draws"].append({
            "draw": draw,
            "seconds": round(seconds, 1),
            "per_k": {
                str(row.k): {
                    "five": round(float(five_row.stability), 4),
                    "five_low": round(float(five_row.stability_low), 4),
                    "five_high": round(float(five_row.stability_high), 4),
                    "sequential": round(float(row.stability), 4),
                    "low": round(float(row.stability_low), 4),
                    "high": round(float(row.stability_high), 4),
                    "resamples": int(row.resamples),
                    "silhouette": round(float(row.silhouette), 5),
                    "calinski_harabasz": round(float(row.calinski_harabasz), 3),
                    "davies_bouldin": round(float(row.davies_bouldin), 4),
                    "inertia": round(float(row.inertia), 4),
                    "smallest_share": round(float(row.smallest_share), 4),
                }
                for row, five_row in zip(table.itertuples(), five.itertuples(), strict=True)
            },
        })
        before, after = choices(out["draws"][-1])
        print(f"  draw {draw}: k {before.k} -> {after.k}, {seconds:.1f} s", flush=True)
    selection.RESAMPLE_SEED = 0
    return out


def choices(draw: dict) -> tuple[selection.KChoice, selection.KChoice]:
    """The k each rule takes from one draw's sweep (the choice is a function of the table alone, so the JSON's
    tables give it again under the current ``choose_k``): before, the first five resamples' figure and no
    interval; after, the sequential figure with its interval."""
    table = pd.DataFrame([{"k": int(k), **row} for k, row in draw["per_k"].items()])
    scores = table[["k", "silhouette", "calinski_harabasz", "davies_bouldin", "inertia", "smallest_share"]]
    five = scores.assign(stability=table["five"])
    sequential = scores.assign(stability=table["sequential"], stability_low=table["low"],
                               stability_high=table["high"])
    config = SegmentConfig()
    return tuple(selection.choose_k(t, k_min=config.k_min, k_max=config.k_max) for t in (five, sequential))


def summary(result: dict) -> dict:
    """Per k: mean and spread (standard deviation, range) over draws of each rule's figure, and resamples."""
    ks = sorted({int(k) for d in result["draws"] for k in d["per_k"]})
    rows = {}
    for k in ks:
        per_k = [d["per_k"][str(k)] for d in result["draws"]]
        five, seq, used = ([row[name] for row in per_k] for name in ("five", "sequential", "resamples"))
        rows[k] = {"five_mean": float(np.mean(five)), "five_sd": float(np.std(five, ddof=1)),
                   "five_range": float(np.ptp(five)), "seq_mean": float(np.mean(seq)),
                   "seq_sd": float(np.std(seq, ddof=1)), "seq_range": float(np.ptp(seq)),
                   "resamples_mean": float(np.mean(used))}
    return rows


def table(results: dict) -> str:
    """The README tables: the k per draw under each rule, and per k the figure's spread over draws."""
    lines = ["| set | users | k per draw, before (five resamples) | k per draw, after (sequential resamples) | load |",
             "|---|---|---|---|---|"]
    spread = ["| set | k | before, five: mean ± sd (range) | after, sequential: mean ± sd (range) | resamples (mean) |",
              "|---|---|---|---|---|"]
    for name, result in results["sets"].items():
        picked = [choices(d) for d in result["draws"]]
        before = " ".join(str(b.k) for b, _ in picked)
        after = " ".join(str(a.k) for _, a in picked)
        lines.append(f"| {name} | {result['users']:,} | {before} | {after} | {result['load']} |")
        for k, row in summary(result).items():
            spread.append(
                f"| {name} | {k} | {row['five_mean']:.2f} ± {row['five_sd']:.2f} ({row['five_range']:.2f}) | "
                f"{row['seq_mean']:.2f} ± {row['seq_sd']:.2f} ({row['seq_range']:.2f}) | {row['resamples_mean']:.1f} |"
            )
    return "\n".join(lines + [""] + spread)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="fast")
    parser.add_argument("--draws", type=int, default=5, help="resample draws 0..N-1")
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=list(SETS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--table", action="store_true", help="print the README tables from --out and stop")
    args = parser.parse_args()
    results = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}
    if args.table:
        print(table(results))
        return 0
    results = {"commit": commit(), "encoder": args.encoder, **stamp(), "sets": results.get("sets", {})}
    for name in args.sets:
        path, _ = SETS[name]
        if not path.is_file():
            print(f"{name}: not found at {path}, skipped", file=sys.stderr)
            continue
        print(f"{name}:", flush=True)
        start = load()
        result = draws_of(path, args.encoder, range(args.draws))
        result["load"] = f"{start} → {load()}"
        results["sets"][name] = result
        # Written after every set, so that a long run stopped part way keeps what it measured.
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
