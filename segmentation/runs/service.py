"""Use cases that the app and the command line share: run and save, restore, carry names over, warm up.

A page or a CLI command calls one of these and draws or prints what comes back; neither saves a run, picks
the run to restore or moves names by itself, so a run made in the terminal shows in the app and the other
way round.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from segmentation.cluster.placement import FAR_QUANTILE, Placement
from segmentation.core.errors import ConfigError, DataError, SegmentationError
from segmentation.core.labels import NOISE, fallback_name
from segmentation.embed.base import get_encoder
from segmentation.embed.cache import EmbeddingCache, encode_texts
from segmentation.embed.profiles import build_profiles
from segmentation.ingest.io import Comments
from segmentation.pipeline.config import PIPELINE_VERSION, SegmentConfig
from segmentation.pipeline.segment import Prepared, SegmentResult, StageProgress, cluster_prepared, prepare
from segmentation.runs.edits import Edit, EditLog, apply_edits, carry_edits, edited_result
from segmentation.runs.workspace import CarryReport, NameChange, RunInfo, SegmentName, Workspace, run_key

Compute = Callable[[Comments, SegmentConfig, StageProgress | None], tuple[Prepared, SegmentResult, bool]]
"""``compute(comments, config, progress) -> (prepared, result, reused)``: how a run is computed."""


@dataclass
class Run:
    """A computed run, saved in the workspace.

    Attributes
    ----------
    prepared, result
        What the pipeline computed (the result keeps the suggested names; ``names`` reads the saved ones).
    run_key, fingerprint : str
        The run's key in the workspace and its data's fingerprint.
    carry : CarryReport
        The names carried over from an earlier run of the same data.
    reused : bool
        Whether embeddings, profiles and the map came from memory.
    elapsed : float
        Seconds from the start of the computation to the saved run.
    stage_times : dict of str to float
        Seconds per finished stage, as the progress reported them.
    notes : list of str
        What the user should know about how this run came to be (a run restored under a newer pipeline, no
        names carried from a damaged earlier run).
    """

    prepared: Prepared
    result: SegmentResult
    run_key: str
    fingerprint: str
    carry: CarryReport
    reused: bool
    elapsed: float
    stage_times: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def key_of(fingerprint: str, config: SegmentConfig) -> str:
    """The workspace key of a run: the data, the config and the pipeline version that computes it."""
    return run_key(fingerprint, {**config.to_dict(), "pipeline_version": PIPELINE_VERSION})


def compute_fresh(
    comments: Comments, config: SegmentConfig, progress: StageProgress | None = None
) -> tuple[Prepared, SegmentResult, bool]:
    """Compute a run from scratch (the embedding cache still serves every comment encoded before)."""
    prepared = prepare(comments, config, progress=progress)
    return prepared, cluster_prepared(prepared, config, progress=progress), False


class _StageClock:
    """Forwards ``progress(stage, done, total)`` and records how long each stage took."""

    def __init__(self, progress: StageProgress | None) -> None:
        self.progress = progress
        self.started: dict[str, float] = {}
        self.times: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        self.started.setdefault(stage, now)
        if done >= total and stage not in self.times:
            self.times[stage] = now - self.started[stage]
        if self.progress is not None:
            self.progress(stage, done, total)


def run_and_save(
    comments: Comments,
    config: SegmentConfig,
    *,
    progress: StageProgress | None = None,
    workspace: Workspace | None = None,
    compute: Compute | None = None,
    carry_from: str | None = None,
    file_sha256: str | None = None,
) -> Run:
    """Segment the comments, save the run in the workspace and carry names over from an earlier run.

    Parameters
    ----------
    comments : Comments
    config : SegmentConfig
    progress : callable, optional
        ``progress(stage, done, total)``.
    workspace : Workspace, optional
        The workspace folder's one when None.
    compute : callable, optional
        How to compute the run (``Compute``); the app passes one that keeps prepared data in memory.
        Defaults to :func:`compute_fresh`.
    carry_from : str, optional
        The run whose names to carry; None takes the latest other named run of the same data.
    file_sha256 : str, optional
        The sha256 of the file the comments were read from, kept in the run's record so that the app can
        show the run again from the uploads it keeps in the workspace.

    Returns
    -------
    Run
        Saved with its data fingerprint, config, pipeline version, metrics, timings, notes and the full
        assignments table.
    """
    workspace = workspace if workspace is not None else Workspace()
    run = _compute_and_save(comments, config, progress, workspace, compute, file_sha256)
    run.carry = _carry(workspace, carry_from, run.run_key)
    run.notes.extend(run.carry.notes)
    return run


def _compute_and_save(comments: Comments, config: SegmentConfig, progress: StageProgress | None,
                      workspace: Workspace, compute: Compute | None, file_sha256: str | None) -> Run:
    compute = compute if compute is not None else compute_fresh
    started = time.perf_counter()
    clock = _StageClock(progress)
    prepared, result, reused = compute(comments, config, clock)
    fingerprint = comments.fingerprint()
    key = key_of(fingerprint, config)
    record = result.run_record()
    del record["config"]  # stored in its own column
    record.update(source=comments.source, n_comments=comments.n_comments)
    if file_sha256 is not None:
        record["file_sha256"] = file_sha256
    workspace.save_run(
        key,
        fingerprint,
        config.to_dict(),
        dict(zip(result.user_ids.tolist(), result.labels.tolist(), strict=True)),
        pipeline_version=PIPELINE_VERSION,
        record=record,
        table=result.assignments,
        arrays=_placement_arrays(prepared, result),
    )
    return Run(prepared, result, key, fingerprint, CarryReport(), reused, time.perf_counter() - started,
               clock.times)


def _carry(workspace: Workspace, from_key: str | None, to_key: str) -> CarryReport:
    """Carry names between the runs' edited segments, so a name follows the users it was given to."""
    log = EditLog(workspace.path)  # opened (it may create its table) before carry_over takes the write lock

    def edited(key: str, assignments: dict[str, int]) -> dict[str, int]:
        return _apply(log, key, assignments)

    return workspace.carry_over(from_key, to_key, edited=edited)


def _apply(log: EditLog, key: str, assignments: dict[str, int]) -> dict[str, int]:
    edits = log.edits(key)
    if not edits:
        return assignments
    labels = apply_edits(np.fromiter(assignments.values(), dtype=int, count=len(assignments)), list(assignments),
                         edits)
    return dict(zip(assignments, labels.tolist(), strict=True))


def edited_assignments(key: str, workspace: Workspace | None = None) -> dict[str, int]:
    """A saved run's user → segment assignments after its hand edits (``segmentation.runs.edits``).

    This is how every view of a stored run reads it (``runs show``, ``runs compare``, ``assign``, carrying
    names over): the run's own labels with its active edits applied, so a segment merged away is gone and a
    segment saved from a selection holds its users.

    Parameters
    ----------
    key : str
        A saved run.
    workspace : Workspace, optional

    Returns
    -------
    dict of str to int
        Empty when the run is unknown.
    """
    workspace = workspace if workspace is not None else Workspace()
    return _apply(EditLog(workspace.path), key, workspace.assignments(key))


def with_edits(run: Run, workspace: Workspace | None = None) -> Run:
    """The run with its saved hand edits applied to its result (segments described again); the run as it
    is when it has none. Pass the run as computed, never one whose result is edited already."""
    workspace = workspace if workspace is not None else Workspace()
    edits = EditLog(workspace.path).edits(run.run_key)
    if not edits:
        return run
    labels = apply_edits(run.result.labels, run.result.user_ids, edits)
    return replace(run, result=edited_result(run.prepared, run.result, labels))


def restore(
    comments: Comments,
    key: str | None = None,
    *,
    progress: StageProgress | None = None,
    workspace: Workspace | None = None,
    compute: Compute | None = None,
) -> Run | None:
    """Bring back a saved run of these comments: the latest one, or the one named by ``key``.

    The run is recomputed from its saved config (the embedding cache serves every comment). A run saved
    by an older pipeline version is recomputed under the current one, as a new run: its hand edits are
    applied to it again by user (a note names any that could not apply; the old run keeps them all), its
    names move only to the new segments that share most of their users (never by segment id alone), and a
    note says so.

    Parameters
    ----------
    comments : Comments
    key : str, optional
        A run of these comments; None takes the latest saved one.
    progress, workspace, compute
        As for :func:`run_and_save`; the run keeps the file digest the saved one recorded.

    Returns
    -------
    Run or None
        None when no run of these comments was ever saved (and no key was given).

    Raises
    ------
    ConfigError
        When ``key`` names no saved run, or a run of other data.
    """
    workspace = workspace if workspace is not None else Workspace()
    fingerprint = comments.fingerprint()
    if key is None:
        key = workspace.latest_run(fingerprint)
        if key is None:
            return None
    info = saved_run(key, workspace)
    if info.fingerprint != fingerprint:
        raise ConfigError(f"run {key} was made on other data than {comments.source or 'these comments'}")
    config = SegmentConfig.from_dict(info.config)
    run = _compute_and_save(comments, config, progress, workspace, compute, info.record.get("file_sha256"))
    edit_notes = [] if run.run_key == key else _carry_edits(workspace, key, run)
    run.carry = _carry(workspace, key, run.run_key)
    if run.run_key != key:
        run.notes.extend([_recomputed_note(info, run), *edit_notes])
    run.notes.extend(run.carry.notes)
    return run


def _carry_edits(workspace: Workspace, key: str, run: Run) -> list[str]:
    """Re-apply the hand edits of run ``key`` to its recomputation ``run``, by user (before names move, so
    that names follow the edited segments); what could not apply is said, never dropped."""
    old = workspace.assignments(key)
    names = {segment: saved.name for segment, saved in workspace.names(key).items()}
    return carry_edits(EditLog(workspace.path), key, run.run_key, (list(old), np.fromiter(old.values(), dtype=int)),
                       (run.result.user_ids, run.result.labels), vectors=run.prepared.profiles.vectors, names=names)


def _placement_arrays(prepared: Prepared, result: SegmentResult) -> dict[str, np.ndarray] | None:
    if not (result.labels != NOISE).any():
        return None  # every user is noise: there is no segment to place anyone in
    profiles = prepared.profiles
    return Placement.fit(profiles.vectors, result.labels, embeddings=prepared.embeddings,
                         comment_user=profiles.comment_user, seed=result.config.seed).to_arrays()


def _recomputed_note(info: RunInfo, run: Run) -> str:
    carry = run.carry
    note = (
        f"Run {info.run_key} was saved by pipeline version {info.pipeline_version} and recomputed with "
        f"version {PIPELINE_VERSION} as run {run.run_key}: segments may hold other users now, so each saved "
        f"name moved only to the segment sharing most of its users ({len(carry.carried)} moved"
    )
    if carry.dropped:
        note += f"; {len(carry.dropped)} matched no segment and were not carried"
    return note + ")."


def saved_run(key: str, workspace: Workspace | None = None) -> RunInfo:
    """A saved run's details; ``ConfigError`` naming the way to list runs when the key is unknown."""
    workspace = workspace if workspace is not None else Workspace()
    info = workspace.run(key)
    if info is None:
        raise ConfigError(f"no saved run {key!r}; `python -m segmentation runs` lists the saved runs")
    return info


def names(run_key: str, workspace: Workspace | None = None) -> dict[int, SegmentName]:
    """The saved names of a run's segments, read fresh (another session may have renamed one)."""
    return (workspace if workspace is not None else Workspace()).names(run_key)


def named_result(run: Run, workspace: Workspace | None = None) -> SegmentResult:
    """The run's result with the saved names in place of the suggested ones."""
    return run.result.with_names({key: saved.name for key, saved in names(run.run_key, workspace).items()})


# Saved runs --------------------------------------------------------------------------------------

RUN_COLUMNS = (
    "run", "saved", "data", "users", "encoder", "algorithm", "k", "silhouette", "stability", "named", "damaged",
)


def runs_table(workspace: Workspace | None = None) -> pd.DataFrame:
    """Every saved run, most recently saved first, one row each with ``RUN_COLUMNS``.

    ``k`` is the number of segments the run found (noise aside), ``stability`` how alike they come back
    when the users are resampled, ``named`` how many of them carry a saved name. Runs saved before the
    workspace kept their record show blanks where it is missing; ``damaged`` says why a run cannot be
    used (empty when it can), and such a run shows what could be read of it.
    """
    workspace = workspace if workspace is not None else Workspace()
    rows = []
    for info in workspace.all_runs():
        metrics, record = info.metrics, info.record
        rows.append({
            "run": info.run_key,
            "saved": info.saved_at[:19].replace("T", " "),
            "data": record.get("source") or info.fingerprint[:12],
            "users": record.get("n_users"),
            "encoder": info.config.get("encoder"),
            "algorithm": info.config.get("algorithm"),
            "k": metrics.get("n_segments"),
            "silhouette": metrics.get("silhouette"),
            "stability": metrics.get("stability"),
            "named": info.n_named,
            "damaged": info.damaged,
        })
    return pd.DataFrame(rows, columns=list(RUN_COLUMNS))


@dataclass(frozen=True)
class StoredRun:
    """A saved run as the workspace keeps it, without recomputing anything."""

    info: RunInfo
    assignments: pd.DataFrame | None
    names: dict[int, SegmentName]
    edits: tuple[Edit, ...] = ()

    def to_dict(self) -> dict:
        """What ``python -m segmentation runs show`` prints: config, record, names, segment sizes (hand
        edits applied) and the edits, worded with the names."""
        sizes = {}
        if self.assignments is not None:
            sizes = {int(k): int(v) for k, v in self.assignments["segment"].value_counts().sort_index().items()}
        return {
            "run": self.info.run_key,
            "fingerprint": self.info.fingerprint,
            "created_at": self.info.created_at,
            "saved_at": self.info.saved_at,
            "pipeline_version": self.info.pipeline_version,
            "config": self.info.config,
            **self.info.record,
            "segments": [
                {"id": segment, "users": size, "name": self.names[segment].name if segment in self.names else None,
                 "description": self.names[segment].description if segment in self.names else ""}
                for segment, size in sizes.items()
            ],
            "edits": [edit.describe({k: v.name for k, v in self.names.items()}) for edit in self.edits],
        }


def load_run(key: str, workspace: Workspace | None = None) -> StoredRun:
    """Read one saved run: its details, its assignments table (hand edits applied) and its saved names."""
    workspace = workspace if workspace is not None else Workspace()
    info = saved_run(key, workspace)
    table = workspace.table(key)
    if table is not None:
        edited = edited_assignments(key, workspace)
        table = table.assign(segment=[edited.get(str(user), segment)
                                      for user, segment in zip(table["user_id"], table["segment"], strict=True)])
    return StoredRun(info, table, workspace.names(key), tuple(EditLog(workspace.path).edits(key)))


@dataclass(frozen=True)
class RunComparison:
    """How the users of two saved runs sit in each other's segments.

    Attributes
    ----------
    first, second : str
        The two runs' keys.
    overlap : DataFrame
        Users in both runs: one row per segment of ``first``, one column per segment of ``second``, each
        cell the users the two segments share (noise is segment -1, like any other).
    first_names, second_names : dict of int to str
        Each run's segment names: the saved ones, else the ones the run suggested.
    ari : float
        Adjusted Rand index between the two segmentations of the shared users: 1 the same grouping, about
        0 no more alike than chance.
    n_only_first, n_only_second : int
        Users in one run only (runs of different data may share only part of their users).
    """

    first: str
    second: str
    overlap: pd.DataFrame
    first_names: dict[int, str]
    second_names: dict[int, str]
    ari: float
    n_only_first: int
    n_only_second: int

    @property
    def n_common(self) -> int:
        return int(self.overlap.to_numpy().sum())

    @property
    def kept_together(self) -> float:
        """The share of shared users who landed in the segment of ``second`` that took most of their
        segment of ``first``: how many users a marketer would find "in the same place" again."""
        return float(self.overlap.max(axis=1).sum() / max(self.n_common, 1))

    def flows(self) -> pd.DataFrame:
        """The non-empty cells of ``overlap``, largest first: ``first_segment, first_name, second_segment,
        second_name, users``."""
        long = self.overlap.stack().rename("users").reset_index()
        long.columns = ["first_segment", "second_segment", "users"]
        long = long[long["users"] > 0].sort_values("users", ascending=False, ignore_index=True)
        long.insert(1, "first_name", [self.first_names.get(s) or fallback_name(s) for s in long["first_segment"]])
        long.insert(3, "second_name",
                    [self.second_names.get(s) or fallback_name(s) for s in long["second_segment"]])
        return long


def compare_runs(first: str, second: str, workspace: Workspace | None = None) -> RunComparison:
    """Compare two saved runs on the users they share, each with its hand edits applied.

    Parameters
    ----------
    first, second : str
        Saved runs (of the same data, or of data that shares users).
    workspace : Workspace, optional

    Returns
    -------
    RunComparison

    Raises
    ------
    ConfigError
        When a run is unknown, or the two runs share no user.
    """
    from sklearn.metrics import adjusted_rand_score

    workspace = workspace if workspace is not None else Workspace()
    for key in (first, second):
        saved_run(key, workspace)
    a = pd.Series(edited_assignments(first, workspace), name="first", dtype="Int64")
    b = pd.Series(edited_assignments(second, workspace), name="second", dtype="Int64")
    both = pd.concat([a, b], axis=1, join="inner")
    if both.empty:
        raise ConfigError(f"runs {first} and {second} share no user: there is nothing to compare")
    overlap = pd.crosstab(both["first"], both["second"])
    overlap.index, overlap.columns = overlap.index.astype(int), overlap.columns.astype(int)
    return RunComparison(
        first, second, overlap, _segment_names(workspace, first), _segment_names(workspace, second),
        float(adjusted_rand_score(both["first"], both["second"])), len(a) - len(both), len(b) - len(both),
    )


def name_lineage(key: str, workspace: Workspace | None = None) -> dict[int, list[NameChange]]:
    """Each named segment's name changes across runs, oldest first (see ``Workspace.lineage``)."""
    workspace = workspace if workspace is not None else Workspace()
    return {segment: workspace.lineage(key, segment) for segment in workspace.names(key)}


# New users into saved segments --------------------------------------------------------------------

DRIFT_WARNING_SHARE = 0.2
# By chance 1 - FAR_QUANTILE (5 %) of a segment's own members lie beyond its far line, so a few new users
# give large shares by luck: one far user out of two is 50 %. A warning also needs the far count to be
# unlikely under that 5 % (one-sided binomial test): 2 of 2, 2 of 3 or 4 of 10 warn; 1 of 2 or 3 of 10 do not.
DRIFT_SIGNIFICANCE = 0.01

# Users encoded and placed at once by ``assign``: 50,000 users of a few comments each keep the float64 sums
# of their profiles and their vectors to a few hundred MB, where a million at once did not fit in memory.
ASSIGN_CHUNK_USERS = 50_000


@dataclass
class Assignment:
    """New comments placed in the segments of a saved run.

    Attributes
    ----------
    run_key : str
    assignments : DataFrame
        One row per user of the new comments: ``user_id, segment, segment_name, confidence, distance,
        far, status, previous_segment, n_comments``. ``status`` is ``new`` (not in the run), ``kept`` or
        ``moved`` (in the run; the new comments kept or moved them); ``far`` marks a user beyond the
        95th-percentile distance of their segment's members remade from as many comments.
    drift : DataFrame
        Per segment: ``segment, segment_name, new_users, far_users, far_share, drifting``.
    warnings : list of str
        One plain sentence per drifting segment: its far share passes ``DRIFT_WARNING_SHARE`` and is
        unlikely by chance (``DRIFT_SIGNIFICANCE``).
    """

    run_key: str
    assignments: pd.DataFrame
    drift: pd.DataFrame
    warnings: list[str]

    @property
    def n_moved(self) -> int:
        return int((self.assignments["status"] == "moved").sum())

    @property
    def n_known(self) -> int:
        return int((self.assignments["status"] != "new").sum())

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``assignments.csv`` and ``drift.json`` into ``out_dir``.

        Both files are written beside their places first and then renamed into them, so earlier files of
        the same names are replaced whole, together, or not at all.

        Raises
        ------
        ConfigError
            When the disk fills up (an earlier file is left as it was).
        """
        from segmentation.core.outputs import disk_full, is_disk_full
        from segmentation.describe.export import assignments_csv

        out = Path(out_dir)
        record = {"run": self.run_key, "moved": self.n_moved, "warnings": self.warnings,
                  "segments": self.drift.to_dict(orient="records")}
        contents = {
            "assignments.csv": assignments_csv(self.assignments),
            "drift.json": json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8"),
        }
        scratch = {name: out / f".{name}.writing" for name in contents}
        try:
            out.mkdir(parents=True, exist_ok=True)
            for name, data in contents.items():
                scratch[name].write_bytes(data)
            for name in contents:
                os.replace(scratch[name], out / name)
        except OSError as error:
            if is_disk_full(error):
                raise disk_full(out) from None
            raise
        finally:
            for path in scratch.values():
                path.unlink(missing_ok=True)
        return [out / name for name in contents]


def assign(
    comments: Comments,
    key: str,
    *,
    encoder: str | None = None,
    workspace: Workspace | None = None,
    cache: EmbeddingCache | None = None,
    progress: StageProgress | None = None,
    chunk_users: int = ASSIGN_CHUNK_USERS,
) -> Assignment:
    """Place the users of new comments in the segments of a saved run.

    Only comments the embedding cache lacks are encoded. Each user's profile is built as the run built
    its users' profiles and placed in the nearest segment centre (see :mod:`segmentation.cluster.placement`).
    A user already in the run counts as holding their segment's centre with the weight of their earlier
    comments, so new comments move them only when they outweigh those and point elsewhere. Users are
    encoded and placed ``chunk_users`` at a time, so memory stays bounded however many there are.

    Parameters
    ----------
    comments : Comments
        The new comments; they must name their users (a user column).
    key : str
        A saved run.
    encoder : str, optional
        The encoder the caller expects; refused when the run used another.
    workspace, cache, progress
        As elsewhere; ``progress`` reports the ``encode`` stage.
    chunk_users : int, default ASSIGN_CHUNK_USERS
        Users encoded and placed at once.

    Returns
    -------
    Assignment

    Raises
    ------
    DataError
        When the comments have no user column: row numbers are not users, and would be matched to the
        run's users by number.
    ConfigError
        When the run is unknown, damaged (its table or centres missing or not finite), was made with another
        encoder or with one whose vectors depend on the whole file (tfidf), or was saved before runs kept
        their segment centres.
    """
    workspace = workspace if workspace is not None else Workspace()
    info = saved_run(key, workspace)
    if comments.roles.get("user") is None:
        raise DataError(
            f"{comments.source or 'the new comments'} has no user column: each row would be its own user, and "
            f"row numbers would be matched to the users of run {key}; choose the column that holds the users",
            cli_hint="--user-col NAME",
        )
    config = SegmentConfig.from_dict(info.config)
    if encoder is not None and encoder != config.encoder:
        raise ConfigError(f"run {key} was made with the {config.encoder} encoder, not {encoder}: "
                          "its segments cannot take vectors of another encoder")
    table = run_table(info, workspace)
    # Every view of a run shows its edited state: earlier users count in the segment the app shows them in.
    edited = edited_assignments(key, workspace)
    table = table.assign(segment=table["user_id"].astype(str).map(edited).fillna(NOISE).astype(int))
    try:
        arrays = workspace.arrays(key)
    except (OSError, ValueError, zipfile.BadZipFile) as error:  # what np.load raises for a damaged .npz
        raise ConfigError(f"run {key} is damaged: its segment centres are unreadable ({type(error).__name__}); "
                          "run `segment` again on its data") from None
    if arrays is None:
        raise ConfigError(f"run {key} was saved before runs kept their segment centres; "
                          "run `segment` again on its data to place new users in it")
    try:
        placement, edit_notes = _edited_placement(workspace, key, Placement.from_arrays(arrays))
    except ConfigError as error:
        raise ConfigError(f"run {key} is damaged: {error}; run `segment` again on its data") from None
    model = get_encoder(config.encoder)
    if model.corpus_dependent:
        raise ConfigError(f"run {key} used the {config.encoder} encoder, whose vectors depend on the whole "
                          "file: new comments cannot be placed in its segments (use another encoder)")
    cache = cache if cache is not None else EmbeddingCache()
    frame = comments.frame
    codes, _ = pd.factorize(frame["user_id"], sort=True)
    chunks = []
    done = 0
    if progress is not None:
        progress("encode", 0, comments.n_comments)
    for first in range(0, int(codes.max()) + 1, chunk_users):
        rows = np.flatnonzero((codes >= first) & (codes < first + chunk_users))
        part = Comments(frame.iloc[rows].reset_index(drop=True), comments.roles, comments.source)
        reported = done

        def encode_progress(n: int, total: int, offset: int = reported, size: int = len(rows)) -> None:
            if progress is not None:  # distinct texts of this chunk, scaled to its comments
                progress("encode", offset + round(size * n / max(total, 1)), comments.n_comments)

        chunks.append(_place_chunk(part, model, cache, encode_progress, config, placement, table))
        done += len(rows)
    if progress is not None:
        progress("encode", comments.n_comments, comments.n_comments)
    placed = pd.concat(chunks, ignore_index=True)
    names = _segment_names(workspace, key)
    placed.insert(2, "segment_name", [names.get(int(label), f"Segment {label}") for label in placed["segment"]])
    drift = _drift(placed)
    warnings = [*edit_notes] + [
        f"Segment {row.segment} ({row.segment_name}): {row.far_share:.0%} of its {row.new_users} new users lie "
        "farther from it than 95% of its members with as many comments did; it may be drifting, or they may "
        "form a new segment."
        for row in drift.itertuples()
        if row.drifting
    ]
    return Assignment(key, placed, drift, warnings)


def _place_chunk(
    comments: Comments,
    model,
    cache: EmbeddingCache,
    progress: Callable[[int, int], None],
    config: SegmentConfig,
    placement: Placement,
    table: pd.DataFrame,
) -> pd.DataFrame:
    """The rows of ``Assignment.assignments`` (without names) for the users of one chunk."""
    encoded = encode_texts(comments.frame["text"].tolist(), model, cache, progress=progress)
    profiles = build_profiles(comments, encoded.embeddings, half_life_days=config.half_life_days,
                              attributes=config.attributes, attribute_weight=config.attribute_weight)
    del encoded
    vectors = profiles.vectors
    labels, confidence, distance = placement.predict(vectors)
    previous, n_earlier = _earlier(table, profiles.user_ids)
    in_run = previous != _ABSENT
    # A noise user, or one in a segment with no centre (saved by hand without profiles), is placed by their
    # new comments alone.
    known = in_run & np.isin(previous, placement.segment_ids)
    if known.any():
        rows = np.searchsorted(placement.segment_ids, previous[known])
        weight_new = profiles.n_comments[known][:, None].astype(np.float32)
        weight_old = n_earlier[known][:, None].astype(np.float32)
        together = (weight_old * placement.centres[rows] + weight_new * vectors[known]) / (weight_old + weight_new)
        labels[known], confidence[known], distance[known] = placement.predict(together)
    status = np.where(~in_run, "new", np.where(labels == previous, "kept", "moved"))
    return pd.DataFrame({
        "user_id": profiles.user_ids,
        "segment": labels,
        "confidence": np.round(confidence, 4),
        "distance": np.round(distance, 4),
        # Judged against members with as many comments: fewer comments alone put a profile farther out.
        "far": placement.is_far(labels, distance, profiles.n_comments),
        "status": status,
        "previous_segment": pd.Series(previous).where(in_run).astype("Int64"),
        "n_comments": profiles.n_comments,
    })


def run_table(info: RunInfo, workspace: Workspace | None = None) -> pd.DataFrame:
    """A saved run's assignments table, checked: a run that lost its table is damaged, not empty.

    Parameters
    ----------
    info : RunInfo
        The run (``saved_run``).
    workspace : Workspace, optional

    Returns
    -------
    DataFrame
        ``user_id, segment, n_comments`` at least; a run saved before runs kept tables gives its
        assignments with one comment each.

    Raises
    ------
    ConfigError
        When the run's table file is missing (deleted) though the run was saved with one, or unreadable.
    """
    workspace = workspace if workspace is not None else Workspace()
    damaged = f"run {info.run_key} is damaged: its assignments table is {{}}; run `segment` again on its data"
    try:
        table = workspace.table(info.run_key)
    except (OSError, ValueError) as error:  # pyarrow's errors for a truncated file are ValueErrors
        raise ConfigError(damaged.format(f"unreadable ({type(error).__name__})")) from None
    if table is not None:
        return table
    if info.record:  # runs that keep a record were saved with their table (both came in one change)
        raise ConfigError(damaged.format("missing from the workspace"))
    saved = workspace.assignments(info.run_key)
    return pd.DataFrame({"user_id": list(saved), "segment": list(saved.values()), "n_comments": 1})


# A user who is not in the run; NOISE marks one who is, as noise (placed by their new comments alone).
_ABSENT = -2


def _earlier(table: pd.DataFrame, user_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each user's segment in the run (``_ABSENT`` when not in it) and their comments counted then."""
    by_user = table.set_index(table["user_id"].astype(str))
    found = pd.Index(by_user.index).get_indexer(user_ids.astype(str))
    present = found >= 0
    previous = np.full(len(user_ids), _ABSENT, dtype=int)
    counts = np.zeros(len(user_ids), dtype=int)
    previous[present] = by_user["segment"].to_numpy()[found[present]]
    counts[present] = by_user["n_comments"].to_numpy()[found[present]]
    return previous, counts


def _edited_placement(workspace: Workspace, key: str, placement: Placement) -> tuple[Placement, list[str]]:
    """The run's segment centres after its hand edits, and what was done to get them.

    A merged segment's centre is the size-weighted mean of the two centres (exact for a mean), its far line
    the larger of the two. A segment saved from a selection has the centre its edit kept from its members'
    profiles; one saved without them gets no new users, and a note says so. Segments that lost users to a
    selection keep their centre: it still includes those users.
    """
    edits = EditLog(workspace.path).edits(key)
    if not edits:
        return placement, []
    saved = workspace.assignments(key)
    users, labels = list(saved), np.fromiter(saved.values(), dtype=int, count=len(saved))
    centre = dict(zip(placement.segment_ids.tolist(), placement.centres, strict=True))
    far = dict(zip(placement.segment_ids.tolist(), placement.far.tolist(), strict=True))
    # The far line per comment count, where the run has one; a segment saved from a selection has only its
    # single far line, used at every count.
    by_count = None if placement.far_by_count is None else dict(
        zip(placement.segment_ids.tolist(), placement.far_by_count, strict=True))
    names = {segment: name.name for segment, name in workspace.names(key).items()}
    notes = []
    for edit in edits:
        after = apply_edits(labels, users, [edit])
        if edit.kind == "merge":
            kept, absorbed = edit.kept, edit.absorbed
            if kept in centre and absorbed in centre:
                n_kept, n_absorbed = int((labels == kept).sum()), int((labels == absorbed).sum())
                centre[kept] = (n_kept * centre[kept] + n_absorbed * centre[absorbed]) / max(n_kept + n_absorbed, 1)
                far[kept] = max(far[kept], far[absorbed])
                if by_count is not None:
                    by_count[kept] = np.maximum(by_count[kept], by_count[absorbed])
            centre.pop(absorbed, None)
        elif edit.centre is not None:
            centre[edit.segment], far[edit.segment] = np.asarray(edit.centre, dtype=np.float32), float(edit.far)
            if by_count is not None:
                by_count[edit.segment] = np.full(placement.far_by_count.shape[1], float(edit.far), dtype=np.float32)
        else:
            segment = edit.segment if edit.segment is not None else int(after.max())
            notes.append(f"Segment {segment} ({names.get(segment) or fallback_name(segment)}) was saved from a "
                         "map selection without its members' profiles: no new user is placed in it.")
        labels = after
    ids = np.array(sorted((set(labels.tolist()) - {NOISE}) & set(centre)), dtype=int)
    if len(ids) == 0:
        raise ConfigError(f"run {key} has no segment left to place users in after its hand edits")
    return Placement(ids, np.stack([centre[i] for i in ids]).astype(np.float32),
                     np.array([far[i] for i in ids], dtype=np.float32),
                     None if by_count is None else np.stack([by_count[i] for i in ids]).astype(np.float32)), notes


def _segment_names(workspace: Workspace, key: str) -> dict[int, str]:
    """Saved names where there are, else the names the run suggested."""
    table = workspace.table(key)
    names: dict[int, str] = {}
    if table is not None and "segment_name" in table.columns:
        names = dict(zip(table["segment"].astype(int), table["segment_name"].astype(str), strict=True))
    names.update({segment: saved.name for segment, saved in workspace.names(key).items()})
    return names


def _drift(table: pd.DataFrame) -> pd.DataFrame:
    from scipy.stats import binomtest

    new = table[table["status"] == "new"]
    grouped = new.groupby(["segment", "segment_name"], sort=True)["far"]
    drift = grouped.agg(new_users="size", far_users="sum").reset_index()
    drift["far_users"] = drift["far_users"].astype(int)
    drift["far_share"] = (drift["far_users"] / drift["new_users"]).round(4)
    by_chance = 1 - FAR_QUANTILE
    drift["drifting"] = [
        share > DRIFT_WARNING_SHARE
        and binomtest(far, n, by_chance, alternative="greater").pvalue < DRIFT_SIGNIFICANCE
        for far, n, share in zip(drift["far_users"], drift["new_users"], drift["far_share"], strict=True)
    ]
    return drift


def seed_demo_embeddings(cache: EmbeddingCache | None = None) -> int:
    """Put the bundled demo vectors into the embedding cache where they are missing.

    Parameters
    ----------
    cache : EmbeddingCache, optional
        The workspace's cache when None.

    Returns
    -------
    int
        How many vectors were added (0 when they were all there, or the file is absent or stale).
    """
    from segmentation.demo import DEMO_EMBEDDINGS_PATH, DEMO_ENCODER, demo_texts

    if not DEMO_EMBEDDINGS_PATH.exists():
        return 0
    cache = cache if cache is not None else EmbeddingCache()
    texts = demo_texts()
    vectors = np.load(DEMO_EMBEDDINGS_PATH, allow_pickle=False).astype(np.float32)
    if len(vectors) != len(texts):  # the demo was regenerated without its vectors: encode as usual
        return 0
    found = cache.get_many(DEMO_ENCODER, texts)
    missing = [i for i in range(len(texts)) if i not in found]
    if missing:
        chosen = vectors[missing]
        chosen /= np.maximum(np.linalg.norm(chosen, axis=1, keepdims=True), 1e-12)
        cache.put_many(DEMO_ENCODER, [texts[i] for i in missing], chosen)
    return len(missing)


def warm_up() -> None:
    """Make first runs fast: the bundled demo vectors into the embedding cache and UMAP's code compiled
    (the first Run on the demo), then the fast encoder distilled once per workspace (the first large file;
    half a minute to a few minutes of both cores, so it comes last)."""
    from segmentation.embed.fast import FastEncoder
    from segmentation.embed.projection import warm_up as compile_umap

    seed_demo_embeddings()
    compile_umap()
    with contextlib.suppress(SegmentationError):  # a Run with the fast encoder meets the error and shows it
        FastEncoder.prepare()


__all__ = [
    "Assignment",
    "Compute",
    "Run",
    "RunComparison",
    "StoredRun",
    "assign",
    "compare_runs",
    "load_run",
    "runs_table",
    "compute_fresh",
    "edited_assignments",
    "key_of",
    "named_result",
    "name_lineage",
    "names",
    "restore",
    "run_and_save",
    "run_table",
    "saved_run",
    "seed_demo_embeddings",
    "warm_up",
    "with_edits",
]
