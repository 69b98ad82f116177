"""Soft membership: each user's three nearest segments with weights, the margin, and the "between" flag."""

from __future__ import annotations

import numpy as np
import pytest

from segmentation.cluster.membership import BETWEEN_BELOW, MEMBERSHIP_COLUMNS, membership_columns
from segmentation.ingest.io import from_frame, load_comments
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import cluster_prepared, prepare
from segmentation.runs.edits import apply_edits, edited_result, merge_edit
from tests.conftest import SHARED_DATA
from tests.fixtures import labelled_comments

FORUMS = SHARED_DATA / "se_closed_sites" / "comments.csv.gz"


def test_a_user_halfway_between_two_segments_is_between_and_split_evenly() -> None:
    space = np.array([[-1.0, 0.0], [-1.0, -0.1], [1.0, 0.0], [1.0, 0.1], [1.0, -0.1], [0.1, 0.0], [-1.0, 0.1]])
    labels = np.array([0, 0, 1, 1, 1, 0, 0])
    columns = membership_columns(space, labels)
    centres = np.array([space[labels == s].mean(axis=0) for s in (0, 1)])
    halfway = np.linalg.norm(space[5] - centres[0]) / np.linalg.norm(space[5] - centres[1])
    assert 0 < columns["confidence"][5] == pytest.approx(1 - halfway, abs=1e-4)
    assert columns["between"][5] and not columns["between"][6]
    assert columns["weight"][6] > 0.95 and columns["segment_2"][6] == 1
    assert columns["segment_3"].tolist() == [-1] * 7  # two segments: no third
    np.testing.assert_allclose(columns["weight"] + columns["weight_2"] + columns["weight_3"], 1.0, atol=1e-3)


@pytest.fixture(scope="module")
def fitted():
    comments = from_frame(labelled_comments(), source="labelled.csv")
    config = SegmentConfig(encoder="tfidf", algorithm="kmeans", k=4)
    prepared = prepare(comments, config, with_map=False)
    return prepared, cluster_prepared(prepared, config)


def test_every_user_of_a_run_has_their_own_segment_first_and_two_others(fitted) -> None:
    _, result = fitted
    table = result.assignments
    assert set(MEMBERSHIP_COLUMNS) <= set(table.columns)
    assert (table["segment_2"] != table["segment"]).all() and (table["segment_3"] != table["segment_2"]).all()
    # k-means puts each user in the nearest segment, so their own weighs most.
    assert (table["weight"] >= table["weight_2"]).all() and (table["weight_2"] >= table["weight_3"]).all()
    np.testing.assert_allclose(table[["weight", "weight_2", "weight_3"]].sum(axis=1), 1.0, atol=1e-3)
    assert table["between"].equals(table["confidence"] < BETWEEN_BELOW)


def test_after_a_merge_no_user_is_said_to_lean_towards_the_segment_merged_away(fitted) -> None:
    prepared, result = fitted
    gone, kept = 1, 0
    labels = apply_edits(result.labels, result.user_ids, [merge_edit(result.labels, kept, gone)])
    table = edited_result(prepared, result, labels).assignments
    assert gone not in set(table["segment_2"]) | set(table["segment_3"])
    assert (table["segment_2"] != table["segment"]).all()


@pytest.mark.skipif(not FORUMS.exists(), reason=f"the real forum set is not here ({FORUMS})")
def test_on_real_forums_users_between_segments_match_their_segment_less_often() -> None:
    comments = load_comments(FORUMS)
    config = SegmentConfig(encoder="tfidf", algorithm="kmeans", k=5)
    result = cluster_prepared(prepare(comments, config, with_map=False), config)
    truth = comments.frame.groupby("user_id")["label"].first()
    table = result.assignments.assign(label=truth.reindex(result.assignments["user_id"]).to_numpy())
    majority = table.groupby("segment")["label"].agg(lambda s: s.value_counts().index[0])
    table["agrees"] = table["label"] == table["segment"].map(majority)
    between = table[table["between"]]
    assert 0 < len(between) < 0.2 * len(table)
    assert between["agrees"].mean() < table.loc[~table["between"], "agrees"].mean() - 0.1


@pytest.mark.slow  # a saved run (tfidf, the map fitted)
def test_a_saved_run_read_after_a_hand_edit_drops_the_membership_it_no_longer_matches(workspace) -> None:
    from segmentation.runs import service
    from segmentation.runs.edits import EditLog
    from segmentation.runs.workspace import Workspace

    comments = from_frame(labelled_comments().drop(columns="true_group"), source="labelled.csv")
    run = service.run_and_save(comments, SegmentConfig(encoder="tfidf", algorithm="kmeans", k=4))
    before = service.load_run(run.run_key).assignments
    assert set(MEMBERSHIP_COLUMNS) <= set(before.columns)
    EditLog(Workspace().path).add(run.run_key, merge_edit(run.result.labels, 0, 1))
    after = service.load_run(run.run_key).assignments
    assert 1 not in set(after["segment"]) and not set(MEMBERSHIP_COLUMNS) & set(after.columns)
