"""The Ray engine at growing sizes: wall time per stage, comments/s, peak memory of driver and workers.

```
python benchmarks/scale.py --comments 100000 --work /tmp/scale-bench   # a Ray run, fast encoder, k = 6
python benchmarks/scale.py --local 100000 --work /tmp/scale-bench      # the local engine on the same data
python benchmarks/scale.py --minilm 300                                 # MiniLM comments/s per core
```
Each size is generated with the demo generator (realistic review lengths, ~5 comments per user) and
written as 8 Parquet parts; every Ray run starts with an empty embedding store, so it encodes everything.
Run one size per invocation (``--work DIR`` keeps the generated parts) so that the driver's peak memory is
that run's alone. Results are merged into ``benchmarks/results/scale.json``.
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
    """Samples, every ``interval`` seconds, the memory of this process (the driver) and of every Ray process.

    Per process it keeps the peak resident set (``VmRSS``, which counts the pages of Ray's shared object
    store the process has touched) and the peak private memory (``RssAnon``: its own heap, what grows if
    a worker holds more data), with the process title at that peak (``ray::MapWorker(...)``, ``ray::IDLE``
    …). It also keeps the highest 1-minute load average seen, since other users share the machine.
    """

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.driver = {"rss_kb": 0, "anon_kb": 0}
        self.workers: dict[int, dict] = {}
        self.workers_total_peak_kb = 0
        self.load_max = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> MemoryWatch:
        self.load_start = os.getloadavg()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.load_end = os.getloadavg()

    def _poll(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            status = _status(me)
            self.driver["rss_kb"] = max(self.driver["rss_kb"], status.get("VmRSS", 0))
            self.driver["anon_kb"] = max(self.driver["anon_kb"], status.get("RssAnon", 0))
            total = 0
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit() or int(entry.name) == me:
                    continue
                try:
                    title = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
                except OSError:
                    continue
                if not title.startswith("ray::"):
                    continue
                status = _status(int(entry.name))
                rss, anon = status.get("VmRSS", 0), status.get("RssAnon", 0)
                total += anon
                peak = self.workers.setdefault(int(entry.name), {"title": title, "rss_kb": 0, "anon_kb": 0})
                peak["rss_kb"] = max(peak["rss_kb"], rss)
                if anon > peak["anon_kb"]:
                    peak.update(anon_kb=anon, title=title)
            self.workers_total_peak_kb = max(self.workers_total_peak_kb, total)
            self.load_max = max(self.load_max, os.getloadavg()[0])
            self._stop.wait(self.interval)

    def summary(self) -> dict:
        mb = 1024
        workers = sorted(self.workers.values(), key=lambda w: -w["anon_kb"])
        return {
            "driver_peak_rss_mb": round(self.driver["rss_kb"] / mb),
            "driver_peak_private_mb": round(self.driver["anon_kb"] / mb),
            "worker_peak_rss_mb": round(max((w["rss_kb"] for w in workers), default=0) / mb),
            "worker_peak_private_mb": round(max((w["anon_kb"] for w in workers), default=0) / mb),
            "workers_private_total_peak_mb": round(self.workers_total_peak_kb / mb),
            "workers": [
                {"title": w["title"][:60], "peak_rss_mb": round(w["rss_kb"] / mb),
                 "peak_private_mb": round(w["anon_kb"] / mb)}
                for w in workers
            ],
            "load_average": {"start": [round(x, 2) for x in self.load_start],
                             "max_1min": round(self.load_max, 2),
                             "end": [round(x, 2) for x in self.load_end]},
        }


def _status(pid: int) -> dict[str, int]:
    """The kB fields of ``/proc/PID/status`` (empty if the process is gone)."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if value.strip().endswith("kB"):
                out[name] = int(value.split()[0])
    except OSError:
        pass
    return out


def _parts(n_comments: int, folder: Path) -> Path:
    """``n_comments`` generated comments (about, whole users) as ``N_PARTS`` Parquet parts, made once."""
    parts = folder / f"comments-{n_comments}"
    if parts.is_dir():
        return parts
    from segmentation.demo import generate_demo

    table = generate_demo(0, n_users=max(2, round(n_comments / COMMENTS_PER_USER)))
    scratch = folder / f".comments-{n_comments}"
    scratch.mkdir(parents=True, exist_ok=True)
    bounds = np.linspace(0, len(table), N_PARTS + 1).astype(int)
    for i in range(N_PARTS):
        table.iloc[bounds[i] : bounds[i + 1]].to_parquet(scratch / f"part-{i}.parquet", index=False)
    scratch.rename(parts)
    return parts


def ray_run(n_comments: int, work: Path, map_sample: int) -> dict:
    """One Ray run (Ray started by the engine, all CPUs of this machine) with an empty embedding store."""
    import shutil

    from segmentation.pipeline.config import SegmentConfig
    from segmentation.scale.engine import ScaleConfig, run

    parts = _parts(n_comments, work)  # before the watch: generating the data is not the engine's work
    store_dir = work / f"store-{n_comments}"
    shutil.rmtree(store_dir, ignore_errors=True)
    lines: list[str] = []
    with MemoryWatch() as memory:
        started = time.perf_counter()
        result = run(
            parts,
            work / f"out-{n_comments}",
            SegmentConfig(encoder="fast", k=K, seed=0),
            ScaleConfig(map_sample=map_sample, store=store_dir),
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
        "stages_total_s": round(result.timings["total"], 1),
        "ray_start_and_stop_s": round(wall - result.timings["total"], 1),
        "comments_per_s": round(result.n_comments / wall, 1),
        "stages_s": {k: round(v, 1) for k, v in result.timings.items() if k != "total"},
        **memory.summary(),
        "lines": lines,
    }


def local_run(n_comments: int, work: Path) -> dict:
    """The local engine on the same rows (one CSV), no map, a fresh embedding cache."""
    import pandas as pd

    from segmentation.embed.cache import EmbeddingCache
    from segmentation.ingest.io import load_comments
    from segmentation.pipeline.config import SegmentConfig
    from segmentation.pipeline.segment import cluster_prepared, prepare

    parts = _parts(n_comments, work)
    csv = work / f"comments-{n_comments}.csv"
    pd.concat([pd.read_parquet(p) for p in sorted(parts.glob("*.parquet"))]).to_csv(csv, index=False)
    cache = work / f"cache-{n_comments}.sqlite"
    cache.unlink(missing_ok=True)
    config = SegmentConfig(encoder="fast", k=K, seed=0)
    with MemoryWatch() as memory:
        started = time.perf_counter()
        comments = load_comments(csv)
        loaded = time.perf_counter() - started
        prepared = prepare(comments, config, cache=EmbeddingCache(cache), with_map=False)
        result = cluster_prepared(prepared, config)
        wall = time.perf_counter() - started
    summary = memory.summary()
    return {
        "engine": "local",
        "comments": comments.n_comments,
        "users": comments.n_users,
        "wall_s": round(wall, 1),
        "comments_per_s": round(comments.n_comments / wall, 1),
        "stages_s": {"read": round(loaded, 1), **{k: round(v, 1) for k, v in result.timings.items()}},
        "driver_peak_rss_mb": summary["driver_peak_rss_mb"],
        "driver_peak_private_mb": summary["driver_peak_private_mb"],
        "load_average": summary["load_average"],
    }


def minilm_rate(n: int) -> dict:
    """MiniLM comments/s on real recipe reviews, one thread and two."""
    import torch

    from segmentation.embed.base import get_encoder
    from segmentation.ingest.io import load_comments

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

    from segmentation.embed.base import get_encoder
    from segmentation.pipeline.config import SegmentConfig
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
    reducer = stages.SpaceReducer(*config.space, seed=0)
    space = reducer.fit_transform(profiles["vector"])
    from segmentation.cluster.base import CLUSTERERS, from_settings

    clusterer = from_settings(CLUSTERERS["kmeans"], config.to_dict()).fit(space)
    n_users = len(profiles["user_id"])
    assigned = timed("assign_users_per_cpu_s", n_users, lambda: stages.assign_batch(profiles, reducer, clusterer))
    assign_root = work / "kernel-assign"
    folder = assign_root / "user_bucket=0"
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"user_id": assigned["user_id"], "segment": assigned["segment"]}).to_parquet(folder / "a.parquet")
    centroids = {int(s): group["embedding"][np.isin(group["user_id"], assigned["user_id"][assigned["segment"] == s])]
                 .mean(axis=0) for s in np.unique(assigned["segment"])}
    timed("describe_comments_per_cpu_s", n, lambda: stages.describe_group(group, str(assign_root), centroids))
    return {"comments": n, "users": n_users, **rates}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="minutes")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comments", type=int, nargs="*", default=[], help="Ray runs at these sizes")
    parser.add_argument("--local", type=int, nargs="*", default=[], help="local engine runs at these sizes")
    parser.add_argument("--minilm", type=int, default=0, help="real reviews encoded for MiniLM's rate")
    parser.add_argument("--map-sample", type=int, default=0,
                        help="users on the Ray run's map (default 0: the map is a fixed-size sample, so its "
                             "UMAP cost does not grow with the input)")
    parser.add_argument("--kernels", type=int, default=0, help="per-CPU-second rates of each stage's work")
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for generated parts, stores and outputs, kept between invocations "
                             "(default: a temporary folder)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"runs": {}}
    results["machine"] = {
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "date": datetime.now(UTC).date().isoformat(),
    }
    if args.comments or args.local:
        from segmentation.embed.base import get_encoder

        get_encoder("fast").setup()  # distilled once, before any timing
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        for n in args.comments:
            results["runs"][f"ray-{n}"] = {"measured_at": _now(), **ray_run(n, work, args.map_sample)}
            RESULTS.write_text(json.dumps(results, indent=2))
        for n in args.local:
            results["runs"][f"local-{n}"] = {"measured_at": _now(), **local_run(n, work)}
            RESULTS.write_text(json.dumps(results, indent=2))
        if args.kernels:
            results["kernels"] = kernel_rates(args.kernels, work)
    if args.minilm:
        results["minilm"] = minilm_rate(args.minilm)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk not in ("lines", "workers")}
                      for k, v in results["runs"].items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
