"""The Ray engine at growing sizes: wall time per stage, comments/s, peak memory of driver and workers.

```
python benchmarks/scale.py --comments 100000 300000 1000000   # Ray runs, fast encoder, k = 6
python benchmarks/scale.py --local 100000                      # the local engine on the same data
python benchmarks/scale.py --minilm 300                        # MiniLM comments/s per core, real reviews
```
Each size is generated with the demo generator (realistic review lengths, ~5 comments per user) and
written as 8 Parquet parts; every Ray run starts with an empty embedding store, so it encodes everything.
Results are merged into ``benchmarks/results/scale.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "scale.json"
RECIPES = ROOT.parent / "shared" / "data" / "recipe_reviews" / "recipe_reviews_full.csv.gz"
COMMENTS_PER_USER = 4.93  # the demo generator's mean, measured on 4,000 users (19,721 comments)
N_PARTS = 8
K = 6


class MemoryWatch:
    """Polls the resident memory of this process and of every Ray worker (``ray::`` processes)."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.driver_peak = 0
        self.worker_peak = 0
        self.workers_total_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.driver_peak = max(self.driver_peak, _status_kb(Path("/proc/self/status"), "VmHWM"))

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.driver_peak = max(self.driver_peak, _status_kb(Path("/proc/self/status"), "VmRSS"))
            total = 0
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    if not (entry / "cmdline").read_bytes().startswith(b"ray::"):
                        continue
                except OSError:
                    continue
                rss = _status_kb(entry / "status", "VmRSS")
                total += rss
                self.worker_peak = max(self.worker_peak, rss)
            self.workers_total_peak = max(self.workers_total_peak, total)
            self._stop.wait(self.interval)


def _status_kb(path: Path, field: str) -> int:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _parts(n_comments: int, folder: Path) -> Path:
    from segmentation.demo import generate_demo

    table = generate_demo(0, n_users=max(2, round(n_comments / COMMENTS_PER_USER)))
    parts = folder / f"comments-{n_comments}"
    if parts.is_dir():
        return parts
    parts.mkdir(parents=True)
    bounds = np.linspace(0, len(table), N_PARTS + 1).astype(int)
    for i in range(N_PARTS):
        table.iloc[bounds[i] : bounds[i + 1]].to_parquet(parts / f"part-{i}.parquet", index=False)
    return parts


def ray_run(n_comments: int, work: Path, map_sample: int) -> dict:
    from segmentation.pipeline import SegmentConfig
    from segmentation.scale.engine import ScaleConfig, run

    parts = _parts(n_comments, work)
    lines: list[str] = []
    with MemoryWatch() as memory:
        started = time.perf_counter()
        result = run(
            parts,
            work / f"out-{n_comments}",
            SegmentConfig(encoder="fast", k=K, seed=0),
            ScaleConfig(map_sample=map_sample, store=work / f"store-{n_comments}"),
            report=lambda line: (lines.append(line), print(line, file=sys.stderr, flush=True)),
        )
        wall = time.perf_counter() - started
    return {
        "engine": "ray",
        "comments": result.n_comments,
        "users": result.n_users,
        "fit_users": result.n_fit,
        "mapped_users": result.n_mapped,
        "wall_s": round(wall, 1),
        "comments_per_s": round(result.n_comments / wall, 1),
        "stages_s": {k: round(v, 1) for k, v in result.timings.items()},
        "driver_peak_mb": round(memory.driver_peak / 1024),
        "worker_peak_mb": round(memory.worker_peak / 1024),
        "workers_total_peak_mb": round(memory.workers_total_peak / 1024),
        "lines": lines,
    }


def local_run(n_comments: int, work: Path) -> dict:
    """The local engine on the same rows (one CSV), no map, a fresh embedding cache."""
    import pandas as pd

    from segmentation.cache import EmbeddingCache
    from segmentation.io import load_comments
    from segmentation.pipeline import SegmentConfig, cluster_prepared, prepare

    parts = _parts(n_comments, work)
    csv = work / f"comments-{n_comments}.csv"
    pd.concat([pd.read_parquet(p) for p in sorted(parts.glob("*.parquet"))]).to_csv(csv, index=False)
    config = SegmentConfig(encoder="fast", k=K, seed=0)
    with MemoryWatch() as memory:
        started = time.perf_counter()
        comments = load_comments(csv)
        loaded = time.perf_counter() - started
        prepared = prepare(comments, config, cache=EmbeddingCache(work / f"cache-{n_comments}.sqlite"), with_map=False)
        result = cluster_prepared(prepared, config)
        wall = time.perf_counter() - started
    return {
        "engine": "local",
        "comments": comments.n_comments,
        "users": comments.n_users,
        "wall_s": round(wall, 1),
        "comments_per_s": round(comments.n_comments / wall, 1),
        "stages_s": {"read": round(loaded, 1), **{k: round(v, 1) for k, v in result.timings.items()}},
        "driver_peak_mb": round(memory.driver_peak / 1024),
    }


def minilm_rate(n: int) -> dict:
    """MiniLM comments/s on real recipe reviews, one thread and two."""
    import torch

    from segmentation.encoders import get_encoder
    from segmentation.io import load_comments

    texts = load_comments(RECIPES).frame["text"].sample(n, random_state=0).tolist()
    encoder = get_encoder("minilm")
    encoder.encode(texts[:16])  # load the model outside the timing
    # On a shared machine wall time measures the other users' load; CPU seconds of this process measure
    # the work, so comments per CPU second is the per-core rate a dedicated core would give.
    torch.set_num_threads(1)
    wall, cpu = time.perf_counter(), time.process_time()
    encoder.encode(texts)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    lengths = [len(t) for t in texts]
    return {"texts": n, "median_chars": float(np.median(lengths)), "mean_chars": float(np.mean(lengths)),
            "threads": 1, "comments_per_cpu_s": round(n / cpu, 1), "comments_per_wall_s": round(n / wall, 1),
            "load_average": os.getloadavg()}


def kernel_rates(n_comments: int, work: Path) -> dict:
    """Each stage's work on one batch, in this process: comments (or users) per CPU second.

    These are the per-core rates of what Ray workers run (``segmentation.scale.stages``), free of Ray's
    scheduling and of the other users of a shared machine.
    """
    import pandas as pd

    from segmentation.encoders import get_encoder
    from segmentation.pipeline import SegmentConfig
    from segmentation.scale import read, stages, store

    parts = _parts(n_comments, work)
    part = sorted(parts.glob("*.parquet"))[0]
    roles = read.resolve_roles(part, {})
    rates: dict[str, float] = {}

    def timed(name: str, rows: int, fn):
        cpu = time.process_time()
        out = fn()
        rates[name] = round(rows / max(time.process_time() - cpu, 1e-9), 1)
        return out

    frame = timed("read_comments_per_cpu_s", n_comments // N_PARTS,
                  lambda: read.read_part(part, 0, roles, n_parts=1, text_buckets=store.BUCKETS, user_buckets=1))
    n = len(frame)
    encoder = get_encoder("fast")
    encoder.encode(["warm up"])
    root = work / "kernel-store"
    distinct = frame.drop_duplicates("text_hash")
    vectors = timed("encode_fast_texts_per_cpu_s", len(distinct), lambda: encoder.encode(distinct["text"].tolist()))
    for bucket, rows in distinct.groupby("text_bucket").indices.items():
        store.write_bucket(root, "fast", int(bucket), distinct["text_hash"].to_numpy()[rows].tolist(), vectors[rows])
    attached = timed("attach_comments_per_cpu_s", n, lambda: pd.concat(
        [pd.DataFrame({k: list(v) if k == "embedding" else v for k, v in
                       stages.attach_embeddings(g, str(root), "fast").items()})
         for _, g in frame.groupby("text_bucket")]))
    group = {c: attached[c].to_numpy() for c in attached.columns if c != "embedding"}
    group["embedding"] = np.vstack(attached["embedding"].to_numpy())
    profiles = timed("profile_comments_per_cpu_s", n, lambda: stages.user_profiles(group, None, 0))
    config = SegmentConfig(encoder="fast", k=K, seed=0)
    reducer = stages.SpaceReducer(*config.space, seed=0).fit(profiles["vector"])
    from segmentation.clustering import from_settings

    clusterer = from_settings("kmeans", config.to_dict()).fit(reducer.transform(profiles["vector"]))
    n_users = len(profiles["user_id"])
    assign = stages.AssignBatch(reducer, clusterer)
    assigned = timed("assign_users_per_cpu_s", n_users, lambda: assign(profiles))
    assign_root = work / "kernel-assign"
    folder = assign_root / "user_bucket=0"
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"user_id": assigned["user_id"], "segment": assigned["segment"]}).to_parquet(folder / "a.parquet")
    centroids = {int(s): group["embedding"][np.isin(group["user_id"], assigned["user_id"][assigned["segment"] == s])]
                 .mean(axis=0) for s in np.unique(assigned["segment"])}
    timed("describe_comments_per_cpu_s", n, lambda: stages.describe_group(group, str(assign_root), centroids))
    return {"comments": n, "users": n_users, **rates}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comments", type=int, nargs="*", default=[], help="Ray runs at these sizes")
    parser.add_argument("--local", type=int, nargs="*", default=[], help="local engine runs at these sizes")
    parser.add_argument("--minilm", type=int, default=0, help="real reviews encoded for MiniLM's rate")
    parser.add_argument("--map-sample", type=int, default=10_000)
    parser.add_argument("--kernels", type=int, default=0, help="per-CPU-second rates of each stage's work")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"runs": {}}
    results["machine"] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
        "date": datetime.now(UTC).date().isoformat(),
    }
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as scratch:
        work = Path(scratch)
        for n in args.comments:
            results["runs"][f"ray-{n}"] = ray_run(n, work, args.map_sample)
            RESULTS.write_text(json.dumps(results, indent=2))
        for n in args.local:
            results["runs"][f"local-{n}"] = local_run(n, work)
            RESULTS.write_text(json.dumps(results, indent=2))
        if args.kernels:
            results["kernels"] = kernel_rates(args.kernels, work)
    if args.minilm:
        results["minilm"] = minilm_rate(args.minilm)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "lines"} for k, v in results["runs"].items()},
                     indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
