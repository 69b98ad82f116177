"""How close the app's encoding-time estimates come, before and during a run, per encoder, on real files.

    python benchmarks/estimate.py [--new 700] [--previous 300] [--encoders fast,minilm] [--seeds 0,1,2]
                                  [--out benchmarks/results/estimate.json]

As the app does it: a previous run on *another* file is timed and kept (``ThroughputLog``); the Segment page
then estimates the new file before Run (``throughput.estimate``), and during the run the progress line
counts down (``EncodeClock``). Files: recipe reviews (real, ~300 characters), newsgroup posts (real, long,
a tail past the encoder's cut) and the generated demo. Each file is estimated after a timed run on the
*next* file in that list, so the speed must carry from short texts to long ones and back.

"Before" is the rule at 276b008: comments per second from the previous run, no length, no load.
"After" is work per second (characters up to the encoder's cut plus a fixed part per comment),
normalised by the load. A resumed run (half the file already in the cache) is estimated too, before and
during. Everything runs in one process, one file after the other, so load changes are shared; the load
average is recorded beside every row. Each seed draws other comments from each file.
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
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from segmentation.embed.base import get_encoder  # noqa: E402
from segmentation.embed.cache import EmbeddingCache, encode_texts  # noqa: E402
from segmentation.embed.estimate import current_load, text_work  # noqa: E402
from segmentation.embed.throughput import EncodeClock, ThroughputLog, estimate  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def files(new: int, seed: int = 0) -> dict[str, list[str]]:
    def sample(texts: pd.Series, n: int) -> list[str]:
        distinct = pd.Series(texts.dropna().astype(str).unique())
        return distinct.sample(n=min(n, len(distinct)), random_state=seed).tolist()

    return {
        "recipe reviews (real)": sample(pd.read_csv(DATA / "recipe_reviews" / "recipe_reviews_full.csv.gz")["text"],
                                        2 * new),
        "newsgroup posts (real)": sample(pd.read_csv(DATA / "newsgroups_users" / "comments.csv.gz")["text"], 2 * new),
        "demo reviews (generated)": sample(pd.read_csv(ROOT / "segmentation" / "data" / "demo_reviews.csv")["text"],
                                           2 * new),
    }


def timed(texts: list[str], encoder, cache: EmbeddingCache, clock: EncodeClock | None = None):
    """Seconds to encode ``texts`` and the clock's (elapsed, left) at each report."""
    reports: list[tuple[float, float | None]] = []
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        elapsed = time.perf_counter() - started
        reports.append((elapsed, clock.left(done, total, elapsed) if clock else None))

    encode_texts(texts, encoder, cache, progress=progress)
    return time.perf_counter() - started, reports


def error(estimate_s: float | None, actual_s: float) -> float | None:
    return None if estimate_s is None else round(estimate_s / actual_s - 1, 3)


def run(spec: str, data: dict[str, list[str]], new: int, previous: int, folder: Path, seed: int) -> list[dict]:
    encoder = get_encoder(spec)
    encoder.encode(["warm the model up"] * 8)  # the model's start-up is not its speed
    names = list(data)
    rows = []
    for i, name in enumerate(names):
        before_file = data[names[(i + 1) % len(names)]][new:new + previous]
        texts = data[name][:new]
        here = folder / f"{spec}-{seed}-{i}"
        here.mkdir()
        log = ThroughputLog(here / "speeds.json")
        load = current_load()
        seconds, _ = timed(before_file, encoder, EmbeddingCache(here / f"{spec}-prev-{i}.sqlite"))
        log.record(spec, text_work(before_file, encoder.max_chars, encoder.per_text_chars), seconds, load=load)
        old_rate = len(before_file) / seconds  # the rule before: comments per second
        cache = EmbeddingCache(here / f"{spec}-new-{i}.sqlite")
        after = estimate(spec, texts, cache, log)
        after_s = after.seconds - after.start_s  # the model is loaded here, as in a second run
        clock = EncodeClock(after_s)
        load_start = current_load()
        actual, reports = timed(texts, encoder, cache, clock)
        # A resumed run: the second half of another sample of the file, with its first half cached.
        more = data[name][new:2 * new]
        resumed_cache = EmbeddingCache(here / f"{spec}-resumed-{i}.sqlite")
        encode_texts(more[: len(more) // 2], encoder, resumed_cache)
        resumed_after = estimate(spec, more, resumed_cache, log)
        resumed_clock = EncodeClock(resumed_after.seconds - resumed_after.start_s)
        resumed_actual, resumed_reports = timed(more, encoder, resumed_cache, resumed_clock)
        quarter = next(((e, left) for e, left in reports if e >= actual / 4 and left is not None), (None, None))
        resumed_quarter = next(((e, left) for e, left in resumed_reports
                                if e >= resumed_actual / 4 and left is not None), (None, None))
        rows.append({
            "encoder": spec, "seed": seed, "file": name, "comments": len(texts),
            "previous_run": names[(i + 1) % len(names)],
            "actual_s": round(actual, 2),
            "before_error": error(len(texts) / old_rate, actual),
            "after_error": error(after_s, actual),
            "after_error_quarter_in": error(quarter[0] + quarter[1], actual) if quarter[0] else None,
            "resumed_actual_s": round(resumed_actual, 2),
            "resumed_before_error": error(len(more) / old_rate, resumed_actual),  # counted every comment
            "resumed_after_error": error(resumed_after.seconds - resumed_after.start_s, resumed_actual),
            "resumed_after_error_quarter_in": (error(resumed_quarter[0] + resumed_quarter[1], resumed_actual)
                                               if resumed_quarter[0] else None),
            "load_start": round(load_start or 0, 2), "load_end": round(current_load() or 0, 2),
        })
        print(json.dumps(rows[-1]), flush=True)
    return rows


def summary(rows: list[dict]) -> dict:
    """Per encoder, the median absolute error of each estimate over files and seeds."""
    columns = [c for c in rows[0] if c.endswith("error") or c.endswith("quarter_in")]
    frame = pd.DataFrame(rows)
    return {spec: {c: round(float(group[c].dropna().abs().median()), 3) for c in columns}
            for spec, group in frame.groupby("encoder")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new", type=int, default=700, help="comments in each new file")
    parser.add_argument("--previous", type=int, default=300, help="comments in the previous, timed run")
    parser.add_argument("--encoders", default="fast,minilm")
    parser.add_argument("--seeds", default="0,1,2", help="one draw of comments from each file per seed")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "estimate.json")
    args = parser.parse_args()
    record: dict = {"date": time.strftime("%Y-%m-%d"), "machine": f"{os.cpu_count()} cores",
                    "new": args.new, "previous": args.previous,
                    "load_1min_start": round(current_load() or 0, 2), "rows": []}
    with tempfile.TemporaryDirectory() as folder:
        for seed in (int(s) for s in args.seeds.split(",")):
            data = files(args.new + args.previous, seed)
            for spec in args.encoders.split(","):
                record["rows"] += run(spec, data, args.new, args.previous, Path(folder), seed)
    record["load_1min_end"] = round(current_load() or 0, 2)
    record["median_abs_error"] = summary(record["rows"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
