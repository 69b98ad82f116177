"""Benchmark harness: every stage of a segmentation at N users, and BERTopic on the same work.

    python benchmarks/run.py --users 10000 [--out FILE.json] [--repeats R] [--quick]
    python benchmarks/run.py --comments-100k            # end-to-end pipeline on ~100k comments
    python benchmarks/run.py --users 1000 --encoder-quality 1000 --numba

The data is the generated demo (:func:`segmentation.demo.generate_demo`): realistic reviews of varied
length, about five per user, with each user's latent taste known, so clusterings can be scored by NMI.

What the figures mean:

* ``median_s`` is the median wall time over ``--repeats`` runs of the stage in this process, after a
  warm-up where a first call would pay one-off costs (model loading, numba compilation); those costs are
  stages of their own (``load_minilm``, ``umap_warm_up``).
* ``peak_rss_mb`` is the process's peak resident memory *while the stage ran*: the kernel's high-water mark
  (``VmHWM``) is reset through ``/proc/self/clear_refs`` before each run and read after it. It therefore
  includes everything already resident (the data, the embeddings, loaded models): it is what the machine
  must hold for that stage in this process, not the stage's own allocation (``rss_before_mb`` is given too).
* Profiles for the clustering stages are built from the ``fast`` encoder (static MiniLM distilled with
  model2vec) over **all** comments. MiniLM and the multilingual encoder only encode a random sample (their
  throughput, extrapolated to the whole corpus in ``encode[...]["extrapolated_s"]``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import normalized_mutual_info_score  # noqa: E402

from segmentation.cluster.base import CLUSTERERS, make_clusterer  # noqa: E402
from segmentation.cluster.density import HDBSCANClusterer  # noqa: E402
from segmentation.cluster.metrics import quality, silhouette_values  # noqa: E402
from segmentation.cluster.selection import k_sweep  # noqa: E402
from segmentation.demo import generate_demo  # noqa: E402
from segmentation.describe.segments import describe_segments  # noqa: E402
from segmentation.embed.base import get_encoder  # noqa: E402
from segmentation.embed.profiles import build_profiles  # noqa: E402
from segmentation.embed.projection import knn_graph, map_2d, map_and_space, reduce, warm_up  # noqa: E402
from segmentation.ingest.io import load_comments  # noqa: E402
from segmentation.pipeline.config import SegmentConfig  # noqa: E402
from segmentation.pipeline.segment import Prepared, cluster_prepared, prepare  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SAMPLE_ENCODERS = ("minilm", "multilingual")  # too slow to encode everything: a sample, extrapolated
K_ALGORITHMS = ("kmeans", "bisecting", "agglomerative")
SWEEP_KS = range(2, 16)
N_TASTES = 6  # the English demo's tastes (plus the noise users)


# --------------------------------------------------------------------------- measuring


def rss_mb(field: str = "VmRSS") -> float:
    """A memory line of /proc/self/status in MiB (VmRSS now, VmHWM the high-water mark)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> None:
    """Reset the kernel's RSS high-water mark of this process (Linux ≥ 4.0)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


class Bench:
    """Collects stage timings and peaks, and prints one line per stage as it goes."""

    def __init__(self, repeats: int) -> None:
        self.repeats = repeats
        self.stages: dict[str, dict[str, float]] = {}

    def stage(self, name: str, work: Callable[[], Any], repeats: int | None = None) -> Any:
        """Run ``work`` ``repeats`` times; keep the median time and the highest peak RSS; return its result."""
        times, peak, result = [], 0.0, None
        gc.collect()
        before = rss_mb()
        for _ in range(repeats or self.repeats):
            gc.collect()
            reset_peak()
            started = time.perf_counter()
            result = work()
            times.append(time.perf_counter() - started)
            peak = max(peak, rss_mb("VmHWM"))
        self.stages[name] = {
            "median_s": round(statistics.median(times), 4),
            "peak_rss_mb": round(peak, 1),
            "rss_before_mb": round(before, 1),
            "runs": len(times),
        }
        print(f"  {name:<28} {statistics.median(times):9.3f} s  peak {peak:8.1f} MB  ({len(times)} runs)", flush=True)
        return result


def nmi(a: Any, b: Any) -> float:
    return round(float(normalized_mutual_info_score(np.asarray(a).astype(str), np.asarray(b).astype(str))), 4)


def machine() -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as meminfo:
        total = int(meminfo.readline().split()[1]) / 1024**2
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(total, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --------------------------------------------------------------------------- data


def demo_comments(n_users: int, seed: int, workdir: Path, max_comments: int | None = None) -> tuple[Any, Any]:
    """Write the demo to CSV and load it like an upload; returns (frame, path)."""
    frame = generate_demo(seed, n_users=n_users)
    if max_comments is not None and len(frame) > max_comments:
        # Whole users only: cut at the user boundary at or after max_comments.
        last_user = frame["user_id"].iloc[max_comments - 1]
        frame = frame[frame["user_id"] <= last_user].reset_index(drop=True)
    path = workdir / f"demo-{n_users}.csv"
    frame.to_csv(path, index=False)
    return frame, path


def true_groups(frame: pd.DataFrame, user_ids: np.ndarray) -> np.ndarray:
    taste = frame.groupby("user_id")["true_taste"].first()
    return taste.loc[user_ids].to_numpy()


# --------------------------------------------------------------------------- stages


def encode_stages(bench: Bench, texts: list[str], quick: bool, sample_size: int, seed: int) -> dict:
    """Throughput per encoder; the fast and tfidf encoders encode everything, the neural ones a sample."""
    report: dict[str, dict] = {}
    rng = np.random.default_rng(seed)
    sample = [texts[i] for i in rng.choice(len(texts), size=min(sample_size, len(texts)), replace=False)]
    # Quick (smoke) runs skip the encoders that need a model: the fast one distils MiniLM on first use.
    for backend in ("tfidf",) if quick else ("fast", "tfidf", *SAMPLE_ENCODERS):
        encoder = get_encoder(backend)
        batch = sample if backend in SAMPLE_ENCODERS else texts
        # The first call loads (or distils) the model: a stage of its own, so throughput is steady-state.
        bench.stage(f"load_{backend}", lambda e=encoder: e.encode(sample[:16]), repeats=1)
        repeats = 1 if backend in SAMPLE_ENCODERS else None
        vectors = bench.stage(f"encode_{backend}", lambda e=encoder, b=batch: e.encode(b), repeats=repeats)
        seconds = bench.stages[f"encode_{backend}"]["median_s"]
        report[backend] = {
            "comments_per_s": round(len(batch) / seconds, 1),
            "measured_on": len(batch),
            "extrapolated_s": round(len(texts) / (len(batch) / seconds), 1),
            "dim": int(vectors.shape[1]),
        }
        if backend == profile_encoder(quick):
            profile_vectors = vectors
    return report, profile_vectors


def profile_encoder(quick: bool) -> str:
    return "tfidf" if quick else "fast"


def bertopic_side_by_side(
    bench: Bench, frame: pd.DataFrame, comments: Any, profiles: Any, embeddings: np.ndarray,
    truth: np.ndarray, seed: int, min_cluster_size: int, repeats: int,
) -> dict:
    """BERTopic's fit_transform + its visualize_documents 2-d UMAP vs ours for the same outputs.

    Documents: one per user (the dashboard segments users), their comments joined; embeddings: the same
    user profiles for both. Both 5-d UMAPs: 15 neighbours, 5 components, min_dist 0, cosine, same seed;
    both HDBSCANs: the same min_cluster_size, Euclidean, eom. BERTopic's 2-d map is the UMAP its
    ``visualize_documents`` runs (10 neighbours, min_dist 0, cosine, unseeded); ours is
    :func:`map_2d` on the shared k-NN graph.
    """
    from bertopic import BERTopic
    from hdbscan import HDBSCAN
    from umap import UMAP

    X = profiles.vectors
    joined = frame.groupby("user_id", sort=True)["text"].apply(" ".join)
    docs = joined.loc[profiles.user_ids].tolist()

    def ours(rows: slice = slice(None)) -> np.ndarray:
        # On a prefix of users the comments need cutting to theirs (describe works per comment).
        part = _first_users(comments, profiles, embeddings, rows)
        x = profiles.vectors[rows]
        knn = knn_graph(x, seed=seed)
        # As the pipeline does for HDBSCAN: the map and the 5-d space laid out side by side (two processes).
        _, space = map_and_space(x, 5, seed=seed, knn=knn)
        labels = HDBSCANClusterer(min_cluster_size=min_cluster_size).fit(space).labels_
        describe_segments(part[0], part[1], labels, part[2])
        return labels

    def theirs(rows: slice = slice(None)) -> np.ndarray:
        model = BERTopic(
            umap_model=UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed),
            hdbscan_model=HDBSCAN(
                min_cluster_size=min_cluster_size, metric="euclidean", cluster_selection_method="eom",
                prediction_data=True,
            ),
        )
        topics, _ = model.fit_transform(docs[rows], embeddings=X[rows])
        UMAP(n_neighbors=10, n_components=2, min_dist=0.0, metric="cosine").fit(X[rows])
        return np.asarray(topics)

    # Both sides once on a few hundred users first, so numba compilation (BERTopic's unseeded 2-d UMAP runs
    # the parallel layout, compiled separately) stays out of the timings of both.
    warm = slice(0, min(len(docs), 400))
    ours(warm)
    theirs(warm)
    # Alternating, one of ours then one of theirs, so that a change in the machine's load between runs falls on
    # both sides alike; the ratio is also taken pair by pair (issue 22: one side's time moved 2x between runs).
    ours_times, their_times = [], []
    for _ in range(max(repeats, 3)):
        ours_labels = _timed(ours, ours_times)
        their_labels = _timed(theirs, their_times)
    ours_s, bertopic_s = statistics.median(ours_times), statistics.median(their_times)
    pairs = [theirs_s / ours_run for ours_run, theirs_s in zip(ours_times, their_times, strict=True)]
    print(f"  ours / BERTopic, alternating: {[round(t, 2) for t in ours_times]} / "
          f"{[round(t, 2) for t in their_times]} s", flush=True)
    return {
        "ours_s": round(ours_s, 4),
        "bertopic_s": round(bertopic_s, 4),
        "ratio": round(bertopic_s / ours_s, 2),
        "ratio_per_pair": [round(r, 2) for r in pairs],
        "ours_runs_s": [round(t, 3) for t in ours_times],
        "bertopic_runs_s": [round(t, 3) for t in their_times],
        "nmi_ours": nmi(ours_labels, truth),
        "nmi_bertopic": nmi(their_labels, truth),
        "nmi_between": nmi(ours_labels, their_labels),
        "segments_ours": int(ours_labels.max()) + 1,
        "topics_bertopic": int(their_labels.max()) + 1,
        "min_cluster_size": min_cluster_size,
        "documents": "one per user (their comments joined); embeddings: the same user profiles",
    }


def _timed(work: Callable[[], Any], into: list[float]) -> Any:
    """Run ``work`` once, appending its seconds to ``into``; return its result."""
    gc.collect()
    started = time.perf_counter()
    result = work()
    into.append(time.perf_counter() - started)
    return result


def _first_users(comments: Any, profiles: Any, embeddings: np.ndarray, rows: slice) -> tuple:
    """(comments, profiles, embeddings) restricted to the users ``rows`` (all of them for ``slice(None)``)."""
    if rows == slice(None):
        return comments, profiles, embeddings
    n_users = len(profiles.user_ids[rows])
    keep = np.flatnonzero(profiles.comment_user < n_users)
    frame = comments.frame.iloc[keep].reset_index(drop=True)
    part = replace(profiles, user_ids=profiles.user_ids[rows], vectors=profiles.vectors[rows],
                   n_comments=profiles.n_comments[rows], comment_user=profiles.comment_user[keep])
    return replace(comments, frame=frame), part, embeddings[keep]


def encoder_quality(n_users: int, seed: int, workdir: Path) -> dict:
    """Clustering NMI against the true tastes with MiniLM vs fast profiles on the same demo users.

    MiniLM embeddings go through the workspace's embedding cache, so only the first run pays for them.
    """
    from segmentation.embed.cache import EmbeddingCache

    frame, path = demo_comments(n_users, seed, workdir)
    comments = load_comments(path)
    out: dict[str, Any] = {"users": n_users, "comments": comments.n_comments}
    for backend in ("minilm", "fast", "tfidf"):
        config = SegmentConfig(encoder=backend, algorithm="kmeans", k=N_TASTES, seed=seed)
        prepared = prepare(comments, config, cache=EmbeddingCache(), with_map=False)
        truth = true_groups(frame, prepared.profiles.user_ids)
        kmeans = cluster_prepared(prepared, config)
        hdbscan = cluster_prepared(prepared, replace(config, algorithm="hdbscan", min_cluster_size=10))
        out[backend] = {"nmi_kmeans": nmi(kmeans.labels, truth), "nmi_hdbscan": nmi(hdbscan.labels, truth)}
        print(f"  encoder quality {backend:<8} {out[backend]}", flush=True)
    return out


_NUMBA_PROBE = """
import json, sys, time
t = time.perf_counter()
from segmentation.embed.projection import _import_umap, knn_graph, map_2d, reduce
_import_umap()
imported = time.perf_counter() - t
from segmentation.demo import generate_demo
import numpy as np
rng = np.random.default_rng(0)
X = rng.normal(size=(int(sys.argv[1]), 64)).astype(np.float32)
t = time.perf_counter()
knn = knn_graph(X)
reduce(X, "umap", 5, knn=knn)
map_2d(X, knn=knn)
first = time.perf_counter() - t
t = time.perf_counter()
reduce(X, "umap", 5, knn=knn)
map_2d(X, knn=knn)
second = time.perf_counter() - t
print(json.dumps({"import_umap_s": round(imported, 2), "first_fit_s": round(first, 2),
                  "warm_fit_s": round(second, 2)}))
"""


def numba_cold_start(points: int) -> dict:
    """Fresh processes on a fresh numba cache dir: first ever start, then a second start reusing it."""
    out: dict[str, Any] = {"points": points}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for run in ("first_ever", "second_start"):
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", _NUMBA_PROBE, str(points)], env=env, cwd=ROOT,
                capture_output=True, text=True, check=True,
            )
            out[run] = {**json.loads(done.stdout.strip().splitlines()[-1]),
                        "process_s": round(time.perf_counter() - started, 2)}
            print(f"  numba {run:<13} {out[run]}", flush=True)
        out["cache_files"] = sum(1 for p in Path(cache).rglob("*") if p.suffix in (".nbi", ".nbc"))
    return out


# --------------------------------------------------------------------------- runs


def run_users(args: argparse.Namespace, workdir: Path) -> dict:
    bench = Bench(args.repeats)
    seed = args.seed
    print(f"{args.users:,} users, {args.repeats} repeats, load {loadavg()}", flush=True)
    frame = bench.stage("generate_demo", lambda: demo_comments(args.users, seed, workdir)[0], repeats=1)
    path = workdir / f"demo-{args.users}.csv"
    comments = bench.stage("load", lambda: load_comments(path))
    texts = comments.frame["text"].tolist()
    encode, embeddings = encode_stages(bench, texts, args.quick, args.sample, seed)

    profiles = bench.stage("profile", lambda: build_profiles(comments, embeddings))
    X = profiles.vectors
    truth = true_groups(frame, profiles.user_ids)
    bench.stage("umap_warm_up", warm_up, repeats=1)
    knn = bench.stage("knn", lambda: knn_graph(X, seed=seed))
    umap5 = bench.stage("reduce_umap_5d", lambda: reduce(X, "umap", 5, seed=seed, knn=knn))
    pca50 = bench.stage("reduce_pca_50d", lambda: reduce(X, "pca", 50, seed=seed))
    coords = bench.stage("map_2d", lambda: map_2d(X, seed=seed, knn=knn))

    min_cluster_size = int(np.clip(args.users // 200, 10, 50))
    labels_by: dict[str, np.ndarray] = {}
    for algorithm in K_ALGORITHMS:
        labels_by[algorithm] = bench.stage(
            f"cluster_{algorithm}", lambda a=algorithm: make_clusterer(a, k=N_TASTES, seed=seed).fit(pca50).labels_
        )
    labels_by["hdbscan"] = bench.stage(
        "cluster_hdbscan", lambda: make_clusterer("hdbscan", min_cluster_size=min_cluster_size).fit(umap5).labels_
    )
    for algorithm in K_ALGORITHMS:
        bench.stage(f"ksweep_{algorithm}", lambda a=algorithm: k_sweep(pca50, CLUSTERERS[a], SWEEP_KS, seed=seed))
    labels = labels_by["kmeans"]
    bench.stage("silhouette", lambda: (quality(pca50, labels, seed=seed), silhouette_values(pca50, labels, seed=seed)))
    bench.stage("describe", lambda: describe_segments(comments, profiles, labels, embeddings))

    # Re-cluster through the pipeline with everything prepared cached (the Segment page's second Run).
    config = SegmentConfig(encoder=profile_encoder(args.quick), algorithm="kmeans", k=N_TASTES, seed=seed)
    prepared = Prepared(comments=comments, config=config, embeddings=embeddings, profiles=profiles, _knn=knn,
                        coords=coords, timings={}, n_encoded=len(texts), n_cached=0)
    for algorithm in ("kmeans", "bisecting", "agglomerative", "hdbscan"):
        first = replace(config, algorithm=algorithm, min_cluster_size=min_cluster_size)
        cluster_prepared(prepared, first)  # builds and memoises this algorithm's clustering space
        # A new k (a new min_cluster_size for HDBSCAN) on every run, as when an analyst moves the slider.
        news = iter(range(1, 100))
        bench.stage(
            f"recluster_{algorithm}",
            lambda f=first, news=news: cluster_prepared(prepared, _moved(f, next(news))),
        )

    out = {
        "users": args.users,
        "comments": comments.n_comments,
        "stages": bench.stages,
        "encode": encode,
        "recluster_s": bench.stages["recluster_kmeans"]["median_s"],
        "ksweep_s": max(bench.stages[f"ksweep_{a}"]["median_s"] for a in K_ALGORITHMS),
        "nmi_true": {name: nmi(lab, truth) for name, lab in labels_by.items()},
        "profiles_from": f"{profile_encoder(args.quick)} encoder over all {comments.n_comments:,} comments",
    }
    out["bertopic"] = bertopic_side_by_side(
        bench, frame, comments, profiles, embeddings, truth, seed, min_cluster_size, args.repeats
    )
    print(f"  bertopic {out['bertopic']}", flush=True)
    return out


def _moved(config: SegmentConfig, step: int) -> SegmentConfig:
    if config.algorithm == "hdbscan":
        return replace(config, min_cluster_size=config.min_cluster_size + step)
    return replace(config, k=config.k + step)


def run_comments_100k(args: argparse.Namespace, workdir: Path) -> dict:
    """The pipeline end to end (prepare with the fast encoder, then every algorithm) on ~100k comments."""
    from segmentation.embed.cache import EmbeddingCache

    bench = Bench(1)
    frame, path = demo_comments(21_000, args.seed, workdir, max_comments=100_000)
    comments = bench.stage("load", lambda: load_comments(path))
    print(f"{comments.n_comments:,} comments from {comments.n_users:,} users, load {loadavg()}", flush=True)
    config = SegmentConfig(encoder="fast", algorithm="kmeans", k="auto", seed=args.seed)
    cache = EmbeddingCache(workdir / "embeddings.sqlite")
    prepared = bench.stage("e2e_prepare", lambda: prepare(comments, config, cache=cache))
    truth = true_groups(frame, prepared.profiles.user_ids)
    nmis = {}
    for algorithm in ("kmeans", "bisecting", "agglomerative", "hdbscan"):
        result = bench.stage(
            f"e2e_cluster_{algorithm}",
            lambda a=algorithm: cluster_prepared(prepared, replace(config, algorithm=a, min_cluster_size=50)),
        )
        nmis[algorithm] = nmi(result.labels, truth)
    return {"users": comments.n_users, "comments": comments.n_comments, "stages": bench.stages, "nmi_true": nmis}


def print_table(result: dict) -> None:
    print(f"\n{'stage':<28} {'median s':>9} {'peak RSS MB':>12}")
    for name, stage in result["stages"].items():
        print(f"{name:<28} {stage['median_s']:9.3f} {stage['peak_rss_mb']:12.1f}")
    for key in ("encode", "recluster_s", "ksweep_s", "bertopic", "nmi_true", "encoder_quality", "numba"):
        if key in result:
            print(f"{key}: {json.dumps(result[key])}")


def markdown_table(paths: list[Path]) -> str:
    """The README's table: one column per result file, one row per stage (median s / peak RSS MB)."""
    results = [json.loads(path.read_text()) for path in paths]
    names = [f"{r['users']:,} users" + (f" ({r['comments']:,} comments)" if "comments" in r else "") for r in results]
    stages = list(dict.fromkeys(name for r in results for name in r["stages"]))
    lines = ["| stage | " + " | ".join(names) + " |", "|---|" + "---|" * len(results)]
    for stage in stages:
        cells = []
        for r in results:
            got = r["stages"].get(stage)
            cells.append(f"{got['median_s']:.2f} s / {got['peak_rss_mb']:,.0f} MB" if got else "")
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1000, help="demo users (about 5 comments each)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per stage; the median is reported")
    parser.add_argument("--out", type=Path, help="JSON file (default benchmarks/results/users-N.json)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample", type=int, default=300, help="comments MiniLM/multilingual encode")
    parser.add_argument("--quick", action="store_true", help="skip the neural encoders (smoke runs)")
    parser.add_argument("--comments-100k", action="store_true", help="pipeline end to end on ~100k comments")
    parser.add_argument("--encoder-quality", type=int, default=0, metavar="USERS",
                        help="also compare MiniLM vs fast clustering NMI on this many demo users")
    parser.add_argument("--numba", type=int, default=0, metavar="POINTS",
                        help="also time UMAP's first fit in fresh processes on a fresh numba cache")
    parser.add_argument("--table", type=Path, nargs="+", metavar="JSON",
                        help="print the README's markdown table from result files and exit")
    args = parser.parse_args(argv)
    if args.table:
        print(markdown_table(args.table))
        return 0

    started = time.perf_counter()
    load_start = loadavg()
    with tempfile.TemporaryDirectory(prefix="segment-bench-") as tmp:
        workdir = Path(tmp)
        result = run_comments_100k(args, workdir) if args.comments_100k else run_users(args, workdir)
        if args.encoder_quality:
            result["encoder_quality"] = encoder_quality(args.encoder_quality, args.seed, workdir)
    if args.numba:
        result["numba"] = numba_cold_start(args.numba)
    result["machine"] = {**machine(), "loadavg_start": load_start, "loadavg_end": loadavg(),
                         "wall_s": round(time.perf_counter() - started, 1)}
    name = "comments-100k" if args.comments_100k else f"users-{args.users}"
    out = args.out or RESULTS / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=float) + "\n")
    print_table(result)
    print(f"\nwrote {out}; load average {load_start} → {result['machine']['loadavg_end']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
