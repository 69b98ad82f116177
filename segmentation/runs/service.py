"""Use cases that the app and the command line share: run and save, restore, carry names over, read saved runs.

A page or a CLI command calls one of these and draws or prints what comes back; neither saves a run, picks
the run to restore or moves names by itself, so a run made in the terminal shows in the app and the other
way round. Comparing two saved runs lives in :mod:`segmentation.runs.compare`, placing new users in a saved
run's segments in :mod:`segmentation.runs.assign`, and the start-up warm-up in :mod:`segmentation.runs.warmup`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from segmentation.cluster.membership import MEMBERSHIP_COLUMNS
from segmentation.cluster.placement import Placement
from segmentation.core.errors import ConfigError
from segmentation.core.labels import NOISE
from segmentation.ingest.io import Comments
from segmentation.pipeline.config import PIPELINE_VERSION, SegmentConfig
from segmentation.pipeline.segment import Prepared, SegmentResult, StageProgress, cluster_prepared, prepare
from segmentation.runs.edits import Edit, EditLog, apply_edits, carry_edits, edited_result
from segmentation.runs.matching import CarryReport
from segmentation.runs.records import RunInfo, SegmentName, damaged_message, run_key
from segmentation.runs.workspace import Workspace

if TYPE_CHECKING:  # the evaluation's module pulls in every recommender
    from segmentation.recommend.evaluate import Evaluation

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
        Saved with its data fingerprint, config, pipeline version, metrics, timings, notes, the segments'
        descriptions (keywords, representative comments, top items: what a report of the saved run shows) and
        the full assignments table.
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
    record.update(source=comments.source, n_comments=comments.n_comments, descriptions=_described(result))
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


# What each segment is about, kept in the run's record so that a saved run can be reported without its comments
# (segmentation.present.report). Sizes are left out: the assignments table has them, hand edits applied.
KEPT_DESCRIPTION = ("id", "name", "keywords", "representative_comments", "top_items", "mean_rating")


def _described(result: SegmentResult) -> list[dict]:
    """The segments' descriptions as the record keeps them (a few hundred words per segment)."""
    return [{key: getattr(segment, key) for key in KEPT_DESCRIPTION} for segment in result.segments]


def keep_evaluation(comments: Comments, config: SegmentConfig, evaluation: Evaluation,
                    workspace: Workspace | None = None) -> str:
    """Keep a recommendation evaluation with the runs of its data and config, so that a saved run's report can
    answer whether segments help (``evaluate`` from the command line and the Recommend page both keep theirs).

    Returns
    -------
    str
        The run key it is kept under (the key a run of this data and config is saved under).
    """
    workspace = workspace if workspace is not None else Workspace()
    key = key_of(comments.fingerprint(), config)
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    workspace.save_evaluation(key, {**evaluation.to_dict(), "made": made})
    return key


def kept_evaluation(run_key: str, workspace: Workspace | None = None) -> dict | None:
    """The evaluation kept for a run's data and config (:func:`keep_evaluation`), None where none was."""
    return (workspace if workspace is not None else Workspace()).evaluation(run_key)


def carry_names(from_key: str, to_key: str, workspace: Workspace | None = None) -> CarryReport:
    """Carry the names of run ``from_key`` onto the matching segments of run ``to_key`` (hand edits applied to
    both); a name already set on ``to_key`` is kept."""
    return _carry(workspace if workspace is not None else Workspace(), from_key, to_key)


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
    if key is None:
        key = workspace.latest_run(comments.fingerprint())
        if key is None:
            return None
    info = saved_run_of(key, comments, workspace)
    if "guided" in info.record:
        return _restore_guided(comments, info, progress, compute, workspace)
    config = SegmentConfig.from_dict(info.config)
    run = _compute_and_save(comments, config, progress, workspace, compute, info.record.get("file_sha256"))
    edit_notes = [] if run.run_key == key else _carry_edits(workspace, key, run)
    run.carry = _carry(workspace, key, run.run_key)
    if run.run_key != key:
        run.notes.extend([_recomputed_note(info, run), *edit_notes])
    run.notes.extend(run.carry.notes)
    return run


def _restore_guided(comments: Comments, info: RunInfo, progress: StageProgress | None, compute: Compute | None,
                    workspace: Workspace) -> Run:
    """A saved run of guided segments (:mod:`segmentation.runs.guided`), shown as saved: the profiles and map are
    computed from its config (the one of the run it was guided from; nothing is saved again), and the users take
    their saved segments and persona names, the segments described again as after a hand edit. Restored like any
    other run, its config alone would show the run it came from."""
    started = time.perf_counter()
    clock = _StageClock(progress)
    prepared, base, reused = (compute or compute_fresh)(comments, SegmentConfig.from_dict(info.config), clock)
    table = run_table(info, workspace)
    labels = labels_of(table, base.user_ids)
    names = dict(zip(table["segment"].astype(int), table["segment_name"].astype(str), strict=False))
    result = edited_result(prepared, base, labels).with_names(names)
    # The automatic k and the notes were the base run's: the guided run's own note says where it came from.
    result = replace(result, choice=None, notes=[*comments.notes, *info.record.get("notes", [])])
    return Run(prepared, result, info.run_key, info.fingerprint, CarryReport(), reused,
               time.perf_counter() - started, clock.times)


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


def saved_run_of(key: str, comments: Comments, workspace: Workspace | None = None) -> RunInfo:
    """A saved run of these comments: :func:`saved_run`, and ``ConfigError`` when it was made on other data."""
    info = saved_run(key, workspace)
    if info.fingerprint != comments.fingerprint():
        raise ConfigError(f"run {key} was made on other data than {comments.source or 'these comments'}")
    return info


def labels_of(table: pd.DataFrame, user_ids: np.ndarray) -> np.ndarray:
    """Each of ``user_ids``'s segment in a saved run's table (:func:`run_table`), in their order; users the run
    does not hold are noise."""
    by_user = pd.Series(table["segment"].to_numpy(), index=table["user_id"].astype(str))
    return by_user.reindex(np.asarray(user_ids).astype(str)).fillna(NOISE).astype(int).to_numpy()


def names(run_key: str, workspace: Workspace | None = None) -> dict[int, SegmentName]:
    """The saved names of a run's segments, read fresh (another session may have renamed one)."""
    return (workspace if workspace is not None else Workspace()).names(run_key)


def named_result(run: Run, workspace: Workspace | None = None) -> SegmentResult:
    """The run's result with the saved names in place of the suggested ones."""
    return run.result.with_names({key: saved.name for key, saved in names(run.run_key, workspace).items()})


def _segment_names(workspace: Workspace, key: str) -> dict[int, str]:
    """Saved names where there are, else the names the run suggested."""
    table = workspace.table(key)
    names: dict[int, str] = {}
    if table is not None and "segment_name" in table.columns:
        names = dict(zip(table["segment"].astype(int), table["segment_name"].astype(str), strict=True))
    names.update({segment: saved.name for segment, saved in workspace.names(key).items()})
    return names


# Saved runs --------------------------------------------------------------------------------------

RUN_COLUMNS = (
    "run", "saved", "data", "users", "encoder", "algorithm", "k", "coverage", "silhouette", "stability", "named",
    "damaged",
)


def runs_table(workspace: Workspace | None = None) -> pd.DataFrame:
    """Every saved run, most recently saved first, one row each with ``RUN_COLUMNS``.

    ``k`` is the number of segments the run found (noise aside), ``coverage`` the share of users in a segment
    (the users ``silhouette`` speaks for: a density method leaves the rest as noise), ``stability`` how alike
    they come back when the users are resampled, ``named`` how many of them carry a saved name. Runs saved before the
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
            "coverage": _coverage(metrics, record.get("n_users")),
            "silhouette": metrics.get("silhouette"),
            "stability": metrics.get("stability"),
            "named": info.n_named,
            "damaged": info.damaged,
        })
    return pd.DataFrame(rows, columns=list(RUN_COLUMNS))


def _coverage(metrics: dict, n_users: int | None) -> float | None:
    """The share of users in a segment; a run saved before it was recorded gives it from its noise count."""
    if "coverage" in metrics:
        return metrics["coverage"]
    if n_users and "n_noise" in metrics:
        return 1.0 - metrics["n_noise"] / n_users
    return None


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
    """Read one saved run: its details, its assignments table (hand edits applied) and its saved names.

    Raises
    ------
    ConfigError
        When the run is unknown or damaged (its table lost or unreadable among them).
    """
    workspace = workspace if workspace is not None else Workspace()
    info = saved_run(key, workspace)
    table = _stored_table(info, workspace)
    return StoredRun(info, table, workspace.names(key), tuple(EditLog(workspace.path).edits(key)))


def _stored_table(info: RunInfo, workspace: Workspace) -> pd.DataFrame | None:
    """The run's table with its hand edits applied; None for a run saved before runs kept tables. A run that
    keeps a record was saved with its table (both came in one change): without one it is damaged, not empty."""
    table = workspace.table(info.run_key)
    if table is None:
        if info.record:
            raise ConfigError(damaged_message(info.run_key, "its assignments table is missing from the workspace"))
        return None
    edited = edited_assignments(info.run_key, workspace)
    segment = table["user_id"].astype(str).map(edited).fillna(table["segment"]).astype("int64")
    if not segment.equals(table["segment"]):
        # The membership columns measure the fit before the hand edits; without the clustering space they
        # cannot be measured again here, and a second segment merged away would mislead.
        table = table.drop(columns=[c for c in MEMBERSHIP_COLUMNS if c in table.columns])
    return table.assign(segment=segment)


def run_table(info: RunInfo, workspace: Workspace | None = None) -> pd.DataFrame:
    """A saved run's assignments table with its hand edits applied, checked: a run that lost its table is
    damaged, not empty.

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
    table = _stored_table(info, workspace)
    if table is not None:
        return table
    saved = edited_assignments(info.run_key, workspace)
    return pd.DataFrame({"user_id": list(saved), "segment": list(saved.values()), "n_comments": 1})


__all__ = [
    "Compute",
    "RUN_COLUMNS",
    "Run",
    "StoredRun",
    "compute_fresh",
    "edited_assignments",
    "key_of",
    "load_run",
    "named_result",
    "names",
    "restore",
    "run_and_save",
    "run_table",
    "runs_table",
    "saved_run",
    "with_edits",
]
