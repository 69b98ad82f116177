"""Fast first, refined in the background (issue 22 item 2): what the refinement costs and what it changes.

    python benchmarks/refine.py                     # forum sites and newsgroups, seeds 0-2
    python benchmarks/refine.py --table             # the README table from the JSON

For each labelled set and seed, every setting at its default but the encoder: the fast run the page shows
first, then :class:`~segmentation.runs.refine.Refinement` to MiniLM as the page starts it (its own thread, a
saved run of its own, names carried). Reported: the fast run's seconds, the refinement's seconds (the first seed
encodes every comment with MiniLM; later seeds find them in the embedding cache, as a second refinement of the
same file would), the agreement between the two (ARI, users in another segment) and each one's NMI against the
real labels. The workspace is a folder of this script's (``--workspace``); its embedding cache persists between
calls, so delete it for a cold first seed. The real sets are read in place from ``../shared/data``.
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

from sklearn.metrics import normalized_mutual_info_score  # noqa: E402
from stamp import load, stamp  # noqa: E402  (benchmarks/, the script's own folder)

from segmentation.ingest.io import load_comments  # noqa: E402
from segmentation.pipeline.config import SegmentConfig  # noqa: E402
from segmentation.runs.refine import Refinement, refined_config  # noqa: E402
from segmentation.runs.service import run_and_save  # noqa: E402
from segmentation.runs.workspace import Workspace  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "refine.json"
SETS = ("se_closed_sites", "newsgroups_users")


def one_set(path: Path, seeds: range, workspace: Workspace) -> list[dict]:
    comments = load_comments(path)
    truth = comments.frame.groupby("user_id")["label"].first()
    rows = []
    for seed in seeds:
        started = time.perf_counter()
        fast = run_and_save(comments, SegmentConfig(encoder="fast", seed=seed), workspace=workspace)
        fast_s = time.perf_counter() - started
        config = refined_config(comments, fast.result.config)
        started = time.perf_counter()
        job = Refinement(comments, fast.run_key, config, workspace=workspace).start()
        status = job.wait()
        refine_s = time.perf_counter() - started
        if status.state != "done":
            raise SystemExit(f"{path.parent.name} seed {seed}: the refinement {status.state}: {status.error}")
        comparison = job.comparison()
        row = {
            "seed": seed, "users": comments.n_users, "comments": comments.n_comments,
            "fast_s": round(fast_s, 1), "refine_s": round(refine_s, 1),
            "encoded": int(job.run.prepared.n_encoded),
            "k_fast": int(fast.result.metrics["n_segments"]), "k_refined": int(job.run.result.metrics["n_segments"]),
            "ari": round(comparison.ari, 3), "moved_share": round(comparison.n_moved / comparison.n_common, 3),
            "nmi_fast": round(float(normalized_mutual_info_score(truth.loc[fast.result.user_ids],
                                                                 fast.result.labels)), 3),
            "nmi_refined": round(float(normalized_mutual_info_score(truth.loc[job.run.result.user_ids],
                                                                    job.run.result.labels)), 3),
        }
        rows.append(row)
        print(f"  {row}", flush=True)
    return rows


def table(results: dict) -> str:
    lines = ["| set | seed | users / comments | fast run | refinement (MiniLM encoded) | k fast → refined | ARI | "
             "users moved | NMI fast → refined |", "|---|---|---|---|---|---|---|---|---|"]
    for name, rows in results["sets"].items():
        for r in rows:
            lines.append(f"| {name} | {r['seed']} | {r['users']:,} / {r['comments']:,} | {r['fast_s']:.1f} s | "
                         f"{r['refine_s']:.1f} s ({r['encoded']:,}) | {r['k_fast']} → {r['k_refined']} | "
                         f"{r['ari']:.2f} | {r['moved_share']:.0%} | {r['nmi_fast']:.3f} → {r['nmi_refined']:.3f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/refine-benchmark"),
                        help="the workspace folder (its fast model is distilled on first use)")
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--table", action="store_true", help="print the README table from --out and stop")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(args.out.read_text(encoding="utf-8"))))
        return 0
    os.environ["SEGMENT_STUDIO_HOME"] = str(args.workspace)
    load_start = load()
    results = {
        **stamp(),
        "sets": {},
    }
    workspace = Workspace()
    for name in args.sets:
        path = args.data / name / "comments.csv.gz"
        if not path.is_file():
            print(f"{name}: not found at {path}, skipped", file=sys.stderr)
            continue
        print(name, flush=True)
        results["sets"][name] = one_set(path, range(args.seeds), workspace)
    results["load"] = f"{load_start} → {load()}"
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
