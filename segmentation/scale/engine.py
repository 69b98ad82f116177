"""The Ray engine: the local engine's segmentation, stage by stage, over a Ray cluster (or local Ray).

Read → Encode → Profiles → Fit → Assign → Describe → Map → Write. Data moves between stages as Ray
Datasets; a stage that needs every row of a key (all copies of a text, all comments of a user) groups
by a hash bucket of that key, so its work (:mod:`segmentation.scale.stages`) sees complete keys and
reuses the local engine's functions unchanged. Only the fit sample, the map sample and per-segment sums
ever reach the driver; nothing that grows with the number of comments does.

Here: the configs, the check before Ray starts, and the stages' data movement. The driver's half of the
Describe stage is :mod:`segmentation.scale.descriptions`; starting Ray, its settings and its errors,
:mod:`segmentation.scale.ray_session`.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from segmentation.cluster.base import distinct_profiles
from segmentation.cluster.stage import cluster
from segmentation.core.errors import ConfigError
from segmentation.core.outputs import check_run_folder, staged
from segmentation.core.paths import workspace_dir
from segmentation.describe.segments import SegmentDescription
from segmentation.embed.base import ENCODERS, get_encoder
from segmentation.pipeline.config import PIPELINE_VERSION, SegmentConfig
from segmentation.pipeline.segment import versions
from segmentation.scale import read, stages, store
from segmentation.scale.descriptions import _descriptions
from segmentation.scale.ray_session import _ray_data_settings, _start_ray, _user_error

FIT_SAMPLE = 200_000
MAP_SAMPLE = 100_000
ENCODE_BATCH = 1024
ASSIGN_BATCH = 8192
# One user bucket per this many bytes of input (about 5,000 comments in Parquet), so that a group of
# comments with their vectors stays a few MB and a group-by's blocks can split between groups. At one per
# 16 MB, inputs up to 32 MB had two buckets and the profile workers' memory grew with the input: 406 MB
# at 100k comments, 872 MB at 300k.
BYTES_PER_USER_BUCKET = 256 * 2**10
WORK_DIR = "_work"

Report = Callable[[str], None]


@dataclass(frozen=True)
class ScaleConfig:
    """How the Ray engine runs; what it computes is :class:`SegmentConfig`.

    Parameters
    ----------
    address : str or None
        Ray cluster (``auto``, ``ray://host:port``); None starts Ray on this machine.
    fit_sample : int
        Users the space, the k-sweep and the clusterer are fitted on (a uniform sample; all when fewer).
    map_sample : int
        Users laid out on the 2-d map; 0 draws no map.
    encode_batch : int
        Texts per encode call of an actor.
    encode_concurrency : int or None
        Encoder actors; None: one per GPU where the cluster has GPUs, else one per CPU.
    store : Path or None
        Embedding store folder; None: ``workspace_dir()/embedding-store``.
    """

    address: str | None = None
    fit_sample: int = FIT_SAMPLE
    map_sample: int = MAP_SAMPLE
    encode_batch: int = ENCODE_BATCH
    encode_concurrency: int | None = None
    store: Path | None = None

    def __post_init__(self) -> None:
        if self.fit_sample < 2:
            raise ConfigError(f"--fit-sample must be at least 2 users, not {self.fit_sample}")
        if self.map_sample < 0:
            raise ConfigError(f"--map-sample must be 0 (no map) or more, not {self.map_sample}")
        if self.encode_batch < 1:
            raise ConfigError(f"the encode batch must hold at least one text, not {self.encode_batch}")


@dataclass
class ScaleRun:
    """What a Ray run wrote and measured."""

    out: Path
    n_comments: int
    n_users: int
    n_fit: int
    n_mapped: int
    segments: list[SegmentDescription]
    metrics: dict[str, Any]
    timings: dict[str, float]
    rates: dict[str, float]
    notes: list[str] = field(default_factory=list)


def check_config(config: SegmentConfig) -> None:
    """Refuse, before Ray starts, what the Ray engine cannot do at scale."""
    encoder_class = ENCODERS.get(config.encoder.partition(":")[0])
    if encoder_class is not None and getattr(encoder_class, "corpus_dependent", False):
        raise ConfigError(
            f"the {config.encoder} encoder is fitted on the whole corpus, so it cannot encode parts "
            "independently; use --encoder fast or minilm with --engine ray"
        )
    get_encoder(config.encoder)  # an unknown spec fails here, not in a worker
    if config.space[0] == "umap":
        raise ConfigError(
            "a UMAP clustering space cannot be applied to users outside the fit sample yet; "
            "use --reduction pca or none with --engine ray"
        )
    if config.attributes:
        raise ConfigError("--attributes is not supported by the Ray engine yet; leave it out")


def run(
    source: str | Path,
    out: str | Path,
    config: SegmentConfig,
    scale: ScaleConfig | None = None,
    *,
    roles: dict[str, str | None] | None = None,
    report: Report | None = None,
) -> ScaleRun:
    """Segment every user of ``source`` on Ray and write the run folder ``out``.

    Parameters
    ----------
    source : str or Path
        A comments file, a folder of parts (Parquet, CSV …) or a glob.
    out : str or Path
        Run folder: ``assignments/`` (Parquet partitioned by segment), ``segments.json``, ``run.json``.
    config : SegmentConfig
        The same parameters as the local engine (encoder, algorithm, k, seed …).
    scale : ScaleConfig, optional
    roles : dict, optional
        Column per role as the local engine's overrides (``""``: no such column); the rest is detected.
    report : callable, optional
        Receives one line per finished stage (rows and throughput); stderr by default.

    Returns
    -------
    ScaleRun

    Raises
    ------
    SegmentationError
        Bad input (naming the part), or a config the Ray engine cannot run.
    """
    try:
        import ray
    except ImportError:
        raise ConfigError("the Ray engine needs Ray: pip install -r requirements-ray.txt") from None

    scale = scale or ScaleConfig()
    report = report or _stderr
    check_config(config)
    out = Path(out)
    check_run_folder(out)
    parts, skipped = read.resolve_parts(source)
    roles = read.resolve_roles(parts[0], roles or {})
    store_root = Path(scale.store) if scale.store is not None else workspace_dir() / store.STORE_DIR
    encoder_name = get_encoder(config.encoder).name

    started_ray = not ray.is_initialized()
    if started_ray:
        _start_ray(ray, scale.address)
    try:
        # Written beside ``out`` and swapped in whole: a failed run leaves the earlier one as it was, and
        # the scratch folder lives in the staging folder, so nothing of the user's is ever deleted.
        with staged(out) as staging, _ray_data_settings():
            result = _run(parts, roles, staging, staging / WORK_DIR, config, scale, store_root, encoder_name,
                          report, skipped)
            shutil.rmtree(staging / WORK_DIR, ignore_errors=True)
        result.out = out
        return result
    except Exception as error:
        user_error = _user_error(error, out)
        if user_error is not None:
            raise user_error from None
        raise
    finally:
        if started_ray:
            ray.shutdown()


def _run(
    parts: list[Path],
    roles: dict[str, str | None],
    out: Path,
    work: Path,
    config: SegmentConfig,
    scale: ScaleConfig,
    store_root: Path,
    encoder_name: str,
    report: Report,
    skipped: list[Path],
) -> ScaleRun:
    import ray

    timings: dict[str, float] = {}
    rates: dict[str, float] = {}
    notes: list[str] = []
    if skipped:
        notes.append(read.skipped_note(skipped, parts))
        report(notes[-1])
    resources = {k: float(v) for k, v in ray.cluster_resources().items() if not k.startswith("node:")}
    cpus = max(1, int(resources.get("CPU", 1)))
    gpus = int(resources.get("GPU", 0))
    input_bytes = sum(p.stat().st_size for p in parts)
    user_buckets = max(2, cpus, math.ceil(input_bytes / BYTES_PER_USER_BUCKET))

    def stage(name: str, rows: int, unit: str, started: float) -> None:
        seconds = time.perf_counter() - started
        timings[name] = seconds
        rates[name] = rows / seconds if seconds > 0 else float("inf")
        report(f"{name}: {rows:,} {unit} in {seconds:.1f} s ({rates[name]:,.0f} {unit}/s)")

    # Read: one task per part, through the local engine's reader and cleaner.
    started = time.perf_counter()
    items = [{"part": str(p), "index": i} for i, p in enumerate(parts)]
    comments = (
        ray.data.from_items(items, override_num_blocks=len(items))
        .map_batches(
            _read_parts,
            batch_size=1,
            batch_format="pandas",
            fn_kwargs={
                "roles": roles,
                "n_parts": len(parts),
                "text_buckets": store.BUCKETS,
                "user_buckets": user_buckets,
            },
        )
        .materialize()
    )
    n_comments = comments.count()
    stage("read", n_comments, "comments", started)

    # Encode: distinct texts the store lacks, through an actor pool; then every comment gets its vector.
    started = time.perf_counter()
    before = store.count(store_root, encoder_name)
    concurrency = scale.encode_concurrency or (gpus if gpus else cpus)
    n_missing = int(
        _per_bucket(
            comments.select_columns(["text_hash", "text", "text_bucket"]),
            "text_bucket",
            stages.EncodeBucket,
            batch_format="pandas",
            fn_constructor_kwargs={
                "encoder_spec": config.encoder,
                "root": str(store_root),
                "encoder_name": encoder_name,
                "batch_size": scale.encode_batch,
                "use_gpu": bool(gpus),
            },
            # The pool starts with one actor and grows once the group-by feeding it is done: a pool that
            # starts with an actor on every CPU leaves none to the group-by's tasks, and the run waits for
            # ever (seen on 2 CPUs with 2 actors).
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=concurrency),
            num_gpus=1 if gpus else 0,
            # A killed actor is restarted and its bucket group retried (Ray Data's defaults, stated
            # because the store's append-only files rely on them: a retry re-encodes only what is missing).
            max_restarts=-1,
            max_task_retries=-1,
        ).sum("encoded")
        or 0
    )
    encoded = _per_bucket(
        comments,
        "text_bucket",
        stages.attach_embeddings,
        batch_format="pandas",
        fn_kwargs={"root": str(store_root), "encoder_name": encoder_name},
    ).materialize()
    n_stored = store.count(store_root, encoder_name) - before
    notes.append(
        f"encoded {n_missing:,} new distinct texts with {concurrency} {encoder_name} actors "
        f"({'1 GPU' if gpus else '1 CPU'} each, batches of {scale.encode_batch:,}); the rest came from "
        f"the embedding store at {store_root}"
    )
    stage("encode", n_missing, "new texts", started)
    del comments

    # Profiles: a group-by of comments per user bucket, by build_profiles itself.
    started = time.perf_counter()
    profiles = _per_bucket(
        encoded,
        "user_bucket",
        stages.user_profiles,
        batch_format="numpy",
        fn_kwargs={"half_life_days": config.half_life_days, "seed": config.seed},
    ).materialize()
    n_users = profiles.count()
    stage("profile", n_users, "users", started)
    if n_users < 2:
        raise ConfigError(f"the data has {n_users} user; segmentation needs at least 2 users")

    # Fit: the local engine's space, k-sweep and clusterer on a uniform sample of users.
    started = time.perf_counter()
    sample_ids, sample_vectors = _sample(profiles, min(1.0, scale.fit_sample / n_users))
    reducer = stages.SpaceReducer(*config.space, seed=config.seed)
    space = reducer.fit_transform(sample_vectors)
    # The local engine's cluster stage whole: the choice of k, the fit, the scores and the resample stability.
    found = cluster(space, config.clusterer, config.to_dict(), n_distinct=distinct_profiles(space))
    clusterer, table, metrics = found.clusterer, found.sweep, found.metrics
    metrics["fit_users"] = len(sample_ids)
    notes.extend(found.notes)
    notes.append(f"fitted on a uniform sample of {len(sample_ids):,} of {n_users:,} users")
    stage("fit", len(sample_ids), "users", started)

    # Assign: everyone, with predict, in parallel. Tasks, not an actor pool: the fitted space and clusterer
    # are small and go to the object store once, and tasks run in workers already started, where a new
    # pool of actors cost 14-16 s of start-up per run on 2 CPUs for 4,000 users.
    started = time.perf_counter()
    assigned = profiles.map_batches(
        stages.assign_batch,
        fn_kwargs={"reducer": reducer, "clusterer": clusterer},
        batch_size=ASSIGN_BATCH,
        batch_format="numpy",
    ).materialize()
    sums = assigned.map_batches(stages.segment_sums, batch_format="numpy", batch_size=ASSIGN_BATCH).to_pandas()
    stage("assign", n_users, "users", started)

    # Describe: term, item and rating sums per segment, and a top-k of comments nearest each centroid.
    started = time.perf_counter()
    by_segment = sums.groupby("segment")
    sizes = by_segment["users"].sum()
    centroids = {
        int(s): np.vstack(group["vector_sum"].to_numpy()).sum(axis=0) / max(int(group["comments"].sum()), 1)
        for s, group in by_segment
    }
    assign_root = work / "assign"
    assigned.select_columns(["user_id", "segment", "user_bucket"]).write_parquet(
        str(assign_root), partition_cols=["user_bucket"]
    )
    described = _per_bucket(
        encoded,
        "user_bucket",
        stages.describe_group,
        batch_format="numpy",
        fn_kwargs={"assign_root": str(assign_root), "centroids": centroids},
    ).materialize()
    segments = _descriptions(described, sizes, n_users, bool(roles["item"]), bool(roles["rating"]))
    stage("describe", n_comments, "comments", started)
    del encoded, described

    # Map: a 2-d layout of a uniform sample of users (nested in the fit sample).
    started = time.perf_counter()
    coords = pd.DataFrame({"user_id": pd.Series([], dtype=str), "x": [], "y": []})
    if scale.map_sample:
        from segmentation.embed.projection import knn_graph, map_2d

        map_ids, map_vectors = _sample(profiles, min(1.0, scale.map_sample / n_users))
        xy = map_2d(map_vectors, seed=config.seed, knn=knn_graph(map_vectors, seed=config.seed))
        coords = pd.DataFrame({"user_id": map_ids, "x": xy[:, 0], "y": xy[:, 1]})
        notes.append(f"the map shows a uniform sample of {len(map_ids):,} of {n_users:,} users")
    stage("map", len(coords), "users", started)

    # Write: the local engine's schema, assignments partitioned by segment.
    started = time.perf_counter()
    names = {s.id: s.name for s in segments}
    target = out / "assignments"
    assigned.map_batches(
        _finalise, batch_format="pandas", fn_kwargs={"names": names, "coords": coords}
    ).write_parquet(str(target), partition_cols=["segment"])
    stage("write", n_users, "users", started)

    timings["total"] = sum(timings.values())
    record = {
        "engine": "ray",
        "config": config.to_dict(),
        "scale": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(scale).items()},
        "metrics": metrics,
        "timings": {k: round(v, 4) for k, v in timings.items()},
        "rates": {k: round(v, 1) for k, v in rates.items()},
        "versions": {**versions(), "ray": ray.__version__},
        "cluster_resources": resources,
        "notes": notes,
        "warnings": found.warnings,
        "n_users": n_users,
        "n_comments": n_comments,
        "n_parts": len(parts),
        "n_fit_users": len(sample_ids),
        "n_mapped_users": len(coords),
        "n_encoded": n_missing,
        "n_stored": n_stored,
        "k_sweep": None if table is None else table.to_dict(orient="records"),
    }
    from segmentation.pipeline.segment import _segment_record

    described = json.dumps([_segment_record(s) for s in segments], ensure_ascii=False, indent=2)
    # The run names itself: the same segments of the same config are the same run, so names saved for it in the
    # app come back when the folder is written again.
    identity = json.dumps(record["config"], sort_keys=True) + "\0" + described
    record = {"run_id": "ray-" + hashlib.sha256(identity.encode("utf-8")).hexdigest()[:24],
              "pipeline_version": PIPELINE_VERSION, "package_version": record["versions"]["segmentation"], **record}
    (out / "segments.json").write_text(described, encoding="utf-8")
    (out / "run.json").write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
    return ScaleRun(
        out=out,
        n_comments=n_comments,
        n_users=n_users,
        n_fit=len(sample_ids),
        n_mapped=len(coords),
        segments=segments,
        metrics=metrics,
        timings=timings,
        rates=rates,
        notes=notes,
    )


def _per_bucket(dataset: Any, bucket: str, fn: Any, **map_groups: Any) -> Any:
    """``fn`` over every group of rows of one ``bucket`` value (``text_bucket`` or ``user_bucket``), lazily.

    A group holds every row of its keys (all copies of a text, all comments of a user), which is what lets
    the stages reuse the local engine's functions unchanged; ``map_groups`` takes Ray Data's arguments
    (``batch_format``, ``fn_kwargs``, ``compute`` …).
    """
    return dataset.groupby(bucket).map_groups(fn, **map_groups)


def _read_parts(batch: pd.DataFrame, **kwargs: Any) -> pd.DataFrame:
    frames = [read.read_part(Path(p), int(i), **kwargs) for p, i in zip(batch["part"], batch["index"], strict=True)]
    return pd.concat(frames, ignore_index=True)


def _sample(profiles: Any, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Users whose sample key is below ``fraction``, sorted by id as the local engine orders users."""
    ids, vectors = [], []
    for batch in profiles.select_columns(["user_id", "vector", "sample_key"]).iter_batches(
        batch_format="numpy", batch_size=ASSIGN_BATCH
    ):
        keep = batch["sample_key"] < fraction
        ids.append(np.asarray(batch["user_id"][keep], dtype=object))
        vectors.append(np.asarray(batch["vector"][keep], dtype=np.float32))
    user_ids = np.concatenate(ids)
    order = np.argsort(user_ids.astype(str), kind="stable")
    return user_ids[order], np.vstack(vectors)[order]


def _finalise(batch: pd.DataFrame, names: dict[int, str], coords: Any) -> pd.DataFrame:
    """Assignments in the local engine's schema (plus confidence); x, y for mapped users, NaN otherwise."""
    mapped = coords.set_index("user_id")
    xy = mapped.reindex(batch["user_id"])
    return pd.DataFrame(
        {
            "user_id": batch["user_id"].astype(str),
            "segment": batch["segment"].astype(np.int64),
            "segment_name": batch["segment"].map(names).astype(str),
            "confidence": batch["confidence"].astype(np.float32),
            "n_comments": batch["n_comments"].astype(np.int64),
            "x": xy["x"].to_numpy(dtype=np.float32),
            "y": xy["y"].to_numpy(dtype=np.float32),
        }
    )


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
