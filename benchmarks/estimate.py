"""How close the app's encoding-time estimates come on a real 10k-comment file, with MiniLM.

    python benchmarks/estimate.py [--out benchmarks/results/estimate.json]

As the app does it: a previous run's speed is kept (``ThroughputLog``) and the Segment page divides the new
file's comments by it before Run; during the run the progress line extrapolates from the texts done so far
(``remaining_seconds``); how good that is after the first report, the first chunk of 256, 10 % and 25 % is
recorded. Two previous runs are tried: 1,000
other recipe reviews (a file like the new one) and 1,000 newsgroup posts (much longer texts). The new file
is the first 10,000 recipe reviews. Everything runs in one process, one after the other, so the same load
applies to all; the load average is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from segmentation.embed.base import get_encoder  # noqa: E402
from segmentation.embed.cache import EmbeddingCache, encode_texts  # noqa: E402
from segmentation.embed.throughput import ThroughputLog, remaining_seconds  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
NEW_FILE = 10_000
PREVIOUS = 1_000


def timed_encode(texts: list[str], encoder, cache: EmbeddingCache) -> tuple[float, list[tuple[int, float]]]:
    """Seconds to encode ``texts`` and the (done, elapsed) of every progress report."""
    reports: list[tuple[int, float]] = []
    started = time.perf_counter()
    encode_texts(texts, encoder, cache, progress=lambda done, total: reports.append(
        (done, time.perf_counter() - started)))
    return time.perf_counter() - started, reports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "estimate.json")
    args = parser.parse_args()
    recipes = pd.read_csv(DATA / "recipe_reviews" / "recipe_reviews_full.csv.gz")["text"].dropna().astype(str)
    recipes = list(dict.fromkeys(recipes))
    posts = list(dict.fromkeys(pd.read_csv(DATA / "newsgroups_users" / "comments.csv.gz")["text"].dropna().astype(str)))
    new = recipes[:NEW_FILE]
    previous = {"1,000 other recipe reviews": recipes[NEW_FILE:NEW_FILE + PREVIOUS],
                "1,000 newsgroup posts": posts[:PREVIOUS]}
    encoder = get_encoder("minilm")
    encoder.encode(["warm the model up"] * 8)  # loading the model is not encoding speed
    record: dict = {"encoder": "minilm", "new_file": f"first {NEW_FILE:,} distinct recipe reviews",
                    "date": time.strftime("%Y-%m-%d"), "load_1min_start": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as folder:
        estimates = {}
        for name, texts in previous.items():
            log = ThroughputLog(Path(folder) / f"{len(estimates)}.json")
            seconds, _ = timed_encode(texts, encoder, EmbeddingCache(Path(folder) / f"prev{len(estimates)}.sqlite"))
            log.record("minilm", len(texts), seconds)
            estimates[name] = log.estimate("minilm", len(new))
        actual, reports = timed_encode(new, encoder, EmbeddingCache(Path(folder) / "new.sqlite"))
    in_run = {}
    for least in (1, 256, 1_000, 2_500):  # the first report, one chunk, 10 %, 25 %
        done, elapsed = next((d, e) for d, e in reports if d >= least)
        estimate = elapsed + remaining_seconds(done, len(new), elapsed)
        in_run[f"first report with {least:,}+ texts done"] = {
            "texts_done": done, "at_s": round(elapsed, 1), "estimate_s": round(estimate, 1),
            "error": round(estimate / actual - 1, 3)}
    record.update(
        actual_s=round(actual, 1),
        before_run={name: {"estimate_s": round(e, 1), "error": round(e / actual - 1, 3)}
                    for name, e in estimates.items()},
        during_run=in_run,
        load_1min_end=round(os.getloadavg()[0], 2),
    )
    print(json.dumps(record, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
