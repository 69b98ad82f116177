"""Hand edits: a selection saved as a new segment, a merge, both previewed, kept in the workspace, undone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segmentation.core.errors import ConfigError
from segmentation.describe.export import assignments_csv
from segmentation.ingest.io import from_frame
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import cluster_prepared, prepare
from segmentation.runs.edits import (
    EditLog,
    apply_edits,
    edited_result,
    merge_edit,
    preview,
    selection_description,
    split_edit,
)
from tests.fixtures import labelled_comments

USERS = np.array([f"u{i}" for i in range(8)])
LABELS = np.array([0, 0, 0, 1, 1, 1, 2, -1])


def test_a_split_moves_only_the_selected_users_into_a_new_segment():
    edit = split_edit(USERS, ["u1", "u4", "u1"])
    assert edit.users == ("u1", "u4")
    after = apply_edits(LABELS, USERS, [edit])
    assert after.tolist() == [0, 3, 0, 1, 3, 1, 2, -1]
    assert LABELS.tolist() == [0, 0, 0, 1, 1, 1, 2, -1]  # the run's own labels are untouched


def test_a_merge_gives_the_absorbed_segment_to_the_kept_one_and_edits_apply_in_order():
    merged = apply_edits(LABELS, USERS, [merge_edit(LABELS, 1, 2)])
    assert merged.tolist() == [0, 0, 0, 1, 1, 1, 1, -1]
    both = apply_edits(LABELS, USERS, [split_edit(USERS, ["u0"]), merge_edit(LABELS, 0, 1)])
    assert both.tolist() == [3, 0, 0, 0, 0, 0, 2, -1]


@pytest.mark.parametrize("make", [
    lambda: split_edit(USERS, []),
    lambda: split_edit(USERS, ["nobody"]),
    lambda: split_edit(USERS, USERS.tolist()),
    lambda: merge_edit(LABELS, 1, 1),
    lambda: merge_edit(LABELS, 1, 9),
    lambda: merge_edit(LABELS, 1, -1),
])
def test_edits_that_make_no_sense_are_refused_with_a_message(make):
    with pytest.raises(ConfigError):
        make()


def test_the_edit_log_keeps_edits_per_run_in_order_across_objects_and_undo_sets_the_last_aside(tmp_path):
    path = tmp_path / "workspace.sqlite"
    log = EditLog(path)
    log.add("run-a", split_edit(USERS, ["u1"]), labels=LABELS)
    merged = log.add("run-a", merge_edit(LABELS, 0, 1))
    log.add("run-b", merge_edit(LABELS, 1, 2))
    again = EditLog(path)  # as after a restart
    assert [e.kind for e in again.edits("run-a")] == ["split", "merge"]
    assert again.edits("run-a")[0].users == ("u1",)
    undone = again.undo("run-a", merged.id)
    assert (undone.kind, undone.kept, undone.absorbed) == ("merge", 0, 1)
    assert [e.kind for e in again.edits("run-a")] == ["split"]
    assert [e.state for e in again.history("run-a")] == ["active", "undone"]  # kept, to be redone
    assert len(again.edits("run-b")) == 1
    assert again.next_undo("run-c") is None


@pytest.fixture(scope="module")
def run():
    frame = labelled_comments(users_per_group=8, comments_per_user=3, seed=6)
    comments = from_frame(frame)
    config = SegmentConfig(encoder="tfidf", k=3, reduction="none")
    prepared = prepare(comments, config, with_map=False)
    return frame, prepared, cluster_prepared(prepared, config)


def test_a_selection_is_described_by_its_own_keywords_against_the_rest(run):
    frame, prepared, _ = run
    runners = frame.loc[frame["true_group"] == "running", "user_id"].unique()
    about = selection_description(prepared, runners)
    assert about.size == len(runners) and about.share == pytest.approx(len(runners) / prepared.n_users)
    running_words = " ".join(frame.loc[frame["true_group"] == "running", "text"]).lower()
    assert about.keywords and all(word in running_words for word in about.keywords[:3])
    assert about.representative_comments


def test_preview_reports_sizes_and_silhouette_before_and_after(run):
    frame, prepared, result = run
    space = prepared.space(*result.config.space)
    gardeners = frame.loc[frame["true_group"] == "gardening", "user_id"].unique()
    after = apply_edits(result.labels, result.user_ids, [split_edit(result.user_ids, gardeners)])
    seen = preview(space, result.labels, after)
    assert seen.sizes["before"].sum() == seen.sizes["after"].sum() == len(result.labels)
    new = seen.sizes[seen.sizes["segment"] == result.labels.max() + 1]
    assert new[["before", "after"]].values.tolist() == [[0, len(gardeners)]]
    assert -1 <= seen.silhouette_after <= 1 and -1 <= seen.silhouette_before <= 1


def test_the_edited_result_describes_the_new_segment_and_its_export_carries_it(run):
    frame, prepared, result = run
    gamers = frame.loc[frame["true_group"] == "gaming", "user_id"].unique()
    labels = apply_edits(result.labels, result.user_ids, [split_edit(result.user_ids, gamers)])
    edited = edited_result(prepared, result, labels)
    new_id = int(result.labels.max()) + 1
    assert new_id in {s.id for s in edited.segments}
    assert next(s for s in edited.segments if s.id == new_id).size == len(gamers)
    assert edited.metrics["n_segments"] == len(set(labels.tolist()))
    assert set(result.metrics) <= set(edited.metrics)  # every figure the pages show is still there
    assert set(edited.segment_stability) <= set(result.segment_stability)
    exported = pd.read_csv(pd.io.common.BytesIO(assignments_csv(edited.assignments)))
    assert set(exported.loc[exported["segment"] == new_id, "user_id"]) == set(gamers)
