"""New users into the segments of a saved run: placing them, and warning when a segment drifts.

:func:`assign` encodes only what the embedding cache lacks, builds each user's profile as the run built its
users' profiles, places it at the nearest segment centre (after the run's hand edits) and reports, per
segment, how many new users lie beyond its far line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from segmentation.cluster.placement import FAR_QUANTILE, Placement
from segmentation.core.errors import ConfigError, DataError
from segmentation.core.labels import NOISE, shown_name
from segmentation.embed.base import get_encoder
from segmentation.embed.cache import EmbeddingCache, encode_texts
from segmentation.embed.profiles import build_profiles
from segmentation.ingest.io import Comments
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import StageProgress
from segmentation.runs.edits import EditLog, apply_edits
from segmentation.runs.records import damaged_message
from segmentation.runs.service import _segment_names, run_table, saved_run
from segmentation.runs.workspace import Workspace

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
    # Every view of a run shows its edited state: earlier users count in the segment the app shows them in.
    table = run_table(info, workspace)
    arrays = workspace.arrays(key)
    if arrays is None:
        raise ConfigError(f"run {key} was saved before runs kept their segment centres; "
                          "run `segment` again on its data to place new users in it")
    try:
        placement, edit_notes = _edited_placement(workspace, key, Placement.from_arrays(arrays))
    except ConfigError as error:
        raise ConfigError(damaged_message(key, str(error))) from None
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
            notes.append(f"Segment {segment} ({shown_name(names, segment)}) was saved from a "
                         "map selection without its members' profiles: no new user is placed in it.")
        labels = after
    ids = np.array(sorted((set(labels.tolist()) - {NOISE}) & set(centre)), dtype=int)
    if len(ids) == 0:
        raise ConfigError(f"run {key} has no segment left to place users in after its hand edits")
    return Placement(ids, np.stack([centre[i] for i in ids]).astype(np.float32),
                     np.array([far[i] for i in ids], dtype=np.float32),
                     None if by_count is None else np.stack([by_count[i] for i in ids]).astype(np.float32)), notes


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


__all__ = ["ASSIGN_CHUNK_USERS", "DRIFT_SIGNIFICANCE", "DRIFT_WARNING_SHARE", "Assignment", "assign"]
