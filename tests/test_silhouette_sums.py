"""An edit's silhouette from the kept distance sums (``SilhouetteSums``) is the silhouette of the edited
labels: against scikit-learn's on every user, and against ``silhouette_values`` on the same sample."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import silhouette_score

from segmentation.cluster.metrics import silhouette_sums, silhouette_values
from segmentation.ingest.io import from_frame
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import cluster_prepared, prepare
from segmentation.runs.edits import apply_edits, merge_edit, preview, split_edit
from tests.fixtures import labelled_comments


@pytest.fixture(scope="module")
def run():
    frame = labelled_comments(users_per_group=10, comments_per_user=3, seed=11)
    config = SegmentConfig(encoder="tfidf", k=4, reduction="none")
    prepared = prepare(from_frame(frame), config, with_map=False)
    result = cluster_prepared(prepared, config)
    return frame, prepared.space(*config.space), result


def edits(frame, result):
    """A merge, a selection saved as a new segment, and a selection that takes users from several segments."""
    cooks = frame.loc[frame["true_group"] == frame["true_group"].iloc[0], "user_id"].unique()
    return {
        "merge": [merge_edit(result.labels, 0, 1)],
        "split": [split_edit(result.user_ids, cooks)],
        "mixed": [split_edit(result.user_ids, result.user_ids[::3])],
        "merge then split": [merge_edit(result.labels, 2, 3), split_edit(result.user_ids, result.user_ids[1::4])],
    }


@pytest.mark.parametrize("edit", ["merge", "split", "mixed", "merge then split"])
def test_an_edits_silhouette_from_the_sums_is_scikit_learns_on_the_edited_labels(run, edit):
    frame, space, result = run
    after = apply_edits(result.labels, result.user_ids, edits(frame, result)[edit])
    sums = silhouette_sums(space, result.labels, max_points=10_000, seed=0)  # every user: no sample
    assert sums.mean() == pytest.approx(silhouette_score(space, result.labels))
    assert sums.edited(space, after).mean() == pytest.approx(silhouette_score(space, after))


@pytest.mark.parametrize("edit", ["merge", "split", "mixed"])
def test_on_a_sample_the_edit_keeps_the_sample_that_silhouette_values_draws(run, edit):
    frame, space, result = run
    after = apply_edits(result.labels, result.user_ids, edits(frame, result)[edit])
    sums = silhouette_sums(space, result.labels, max_points=15, seed=3)
    assert len(sums.targets) == 15
    expected = np.nanmean(silhouette_values(space, after, max_points=15, seed=3))
    assert sums.edited(space, after).mean() == pytest.approx(expected)
    assert sums.mean() == pytest.approx(np.nanmean(silhouette_values(space, result.labels, max_points=15, seed=3)))


def test_an_edit_that_moves_users_out_of_noise_needs_the_sums_afresh(run):
    _, space, result = run
    with_noise = result.labels.copy()
    with_noise[:3] = -1
    sums = silhouette_sums(space, with_noise, max_points=10_000, seed=0)
    assert sums.edited(space, result.labels) is None  # another sample: the caller computes it afresh
    kept = with_noise >= 0
    assert sums.mean() == pytest.approx(silhouette_score(space[kept], with_noise[kept]))


def test_preview_with_the_kept_sums_says_what_it_says_without_them(run):
    frame, space, result = run
    for steps in edits(frame, result).values():
        after = apply_edits(result.labels, result.user_ids, steps)
        sums = silhouette_sums(space, result.labels, max_points=5000, seed=0)
        fast = preview(space, result.labels, after, sums=sums)
        slow = preview(space, result.labels, after)
        assert fast.silhouette_before == pytest.approx(slow.silhouette_before)
        assert fast.silhouette_after == pytest.approx(slow.silhouette_after)
        assert fast.sizes.equals(slow.sizes)
    other = silhouette_sums(space, after, max_points=5000, seed=0)  # sums of other labels are not used
    assert preview(space, result.labels, after, sums=other).silhouette_before == pytest.approx(
        preview(space, result.labels, after).silhouette_before)
