"""A hierarchy of segments (issue 23, item 3): a coarse layer over a run's segments, the tree between them, names
per layer kept in the workspace, ``parent`` in segments.json, and the ``hierarchy`` command.

Expected groupings are planted (blobs inside blobs) or come from the real labels; nothing is copied from the
implementation's output.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import normalized_mutual_info_score

from segmentation.cli import main
from segmentation.cluster.base import CLUSTERERS, fit_on
from segmentation.cluster.hierarchy import build_hierarchy, coarse_k_range, from_parents, weighted_ward
from segmentation.core.errors import ConfigError
from segmentation.describe.export import segments_json
from segmentation.describe.layers import describe_coarse
from segmentation.ingest.io import load_comments
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import cluster_prepared, prepare
from segmentation.runs.layers import Layers, build_layers
from segmentation.runs.workspace import Workspace
from tests.conftest import SHARED_DATA

NEWSGROUPS = SHARED_DATA / "newsgroups_users" / "comments.csv.gz"


def _blobs_in_blobs(seed: int = 0, per: int = 40):
    """Two far-apart regions, each holding three tight groups: the users, their group and their region."""
    rng = np.random.default_rng(seed)
    centres, regions = [], []
    for region, origin in enumerate((np.zeros(5), np.full(5, 40.0))):
        for _ in range(3):
            centres.append(origin + rng.normal(0, 6, 5))
            regions.append(region)
    points = np.vstack([c + rng.normal(0, 0.5, (per, 5)) for c in centres])
    group = np.repeat(np.arange(6), per)
    return points, group, np.array(regions)[group]


def test_each_planted_group_gets_the_region_that_holds_it_as_parent_and_the_layers_nest():
    points, _, region = _blobs_in_blobs()
    fine = fit_on(points, CLUSTERERS["kmeans"], {"k": 6, "seed": 0}).labels_
    hierarchy = build_hierarchy(points, fine, 2, settings={"seed": 0})

    assert hierarchy.coarse_k == 2 and sorted(set(hierarchy.parent)) == list(range(6))
    # Every fine segment sits whole in one broad group, and the broad groups are the two regions.
    for segment in range(6):
        assert len(set(hierarchy.coarse_labels[fine == segment])) == 1
    assert normalized_mutual_info_score(region, hierarchy.coarse_labels) == pytest.approx(1.0)
    assert sorted(len(hierarchy.children(c)) for c in range(2)) == [3, 3]
    np.testing.assert_array_equal(hierarchy.fine_labels, fine)  # the run's segments are left as they are
    np.testing.assert_array_equal(from_parents(fine, hierarchy.parent), hierarchy.coarse_labels)


def test_automatic_coarse_k_finds_the_two_regions_and_says_why():
    points, _, region = _blobs_in_blobs(seed=1)
    fine = fit_on(points, CLUSTERERS["kmeans"], {"k": 6, "seed": 0}).labels_
    hierarchy = build_hierarchy(points, fine, "auto", settings={"seed": 3})
    assert list(coarse_k_range(6)) == [2, 3]
    assert hierarchy.coarse_k == 2 and hierarchy.choice.reason.startswith("k=2: the users split clearly in two")
    assert normalized_mutual_info_score(region, hierarchy.coarse_labels) == pytest.approx(1.0)


def test_a_small_outlying_segment_joins_its_nearest_large_one_instead_of_standing_alone():
    # Two large segments 10 apart and a 3-user segment 30 beyond the first: plain Ward on the centres would leave the
    # outlier as a broad group of its own; weighted by users, merging it costs less than merging the two large ones.
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [-30.0, 0.0]])
    groups = weighted_ward(centres, np.array([100, 100, 3]), 2)
    assert groups[2] == groups[0] != groups[1]
    assert list(weighted_ward(centres, np.array([100, 100, 3]), 3)) == [0, 1, 2]


def test_noise_stays_noise_in_both_layers_and_is_left_out_of_the_broad_groups():
    points, _, region = _blobs_in_blobs(seed=2)
    fine = fit_on(points, CLUSTERERS["kmeans"], {"k": 6, "seed": 0}).labels_.copy()
    fine[::7] = -1
    hierarchy = build_hierarchy(points, fine, 2, settings={"seed": 0})
    assert (hierarchy.coarse_labels[fine == -1] == -1).all() and -1 not in hierarchy.parent
    kept = fine >= 0
    assert normalized_mutual_info_score(region[kept], hierarchy.coarse_labels[kept]) == pytest.approx(1.0)


@pytest.mark.parametrize(("k", "labels", "words"), [
    (6, np.repeat(np.arange(6), 5), "choose a coarse k from 2 to 5"),
    (1, np.repeat(np.arange(6), 5), "choose a coarse k from 2 to 5"),
    (2.5, np.repeat(np.arange(6), 5), "whole number or 'auto'"),
    (2, np.zeros(30, dtype=int), "the run has 1 segment"),
    ("auto", np.repeat(np.arange(2), 15), "the run has 2 segments"),
])
def test_a_coarse_k_that_cannot_sit_above_the_run_gets_a_clear_message(k, labels, words):
    points = np.random.default_rng(0).normal(size=(len(labels), 3))
    with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace("'", "'")):
        build_hierarchy(points, labels, k)


@pytest.mark.skipif(not NEWSGROUPS.exists(), reason="needs ../shared/data/newsgroups_users")
def test_on_the_newsgroups_the_coarse_layer_follows_the_six_coarse_groups_better_than_any_random_tree():
    comments = load_comments(NEWSGROUPS)
    truth = comments.frame.groupby("user_id")["label_coarse"].first()
    config = SegmentConfig(encoder="tfidf", k=20, seed=0)
    prepared = prepare(comments, config, with_map=False)
    result = cluster_prepared(prepared, config)
    space = prepared.space(*config.space)
    coarse_truth = truth.loc[result.user_ids].to_numpy()
    hierarchy = build_hierarchy(space, result.labels, 6, settings=config.to_dict())
    found = normalized_mutual_info_score(coarse_truth, hierarchy.coarse_labels)
    # The same 20 segments put under 6 parents at random, 20 times: what a tree that ignores the text scores.
    rng = np.random.default_rng(0)
    chance = max(normalized_mutual_info_score(coarse_truth, rng.integers(0, 6, 20)[result.labels])
                 for _ in range(20))
    assert found > chance + 0.1
    for segment in np.unique(result.labels):  # nested: each segment lies whole in its parent
        assert set(hierarchy.coarse_labels[result.labels == segment]) == {hierarchy.parent[int(segment)]}
    # No broad group is a handful of outlying users: the smallest holds more than one segment's worth on average.
    assert np.bincount(hierarchy.coarse_labels).min() > len(result.labels) / 20 / 2


# Names per layer, in the workspace ----------------------------------------------------------------------------


def _saved_run(tmp_path, k: int = 6):
    """A real run of the demo saved through the CLI; its data file, key, assignments and prepared data."""
    from segmentation.demo import generate_demo

    data = tmp_path / "demo.csv"
    generate_demo(4, n_users=240).to_csv(data, index=False)
    assert main(["segment", str(data), "--out", str(tmp_path / "run"), "--encoder", "tfidf", "--k", str(k)]) == 0
    key = Workspace().all_runs()[0].run_key
    table = pd.read_csv(tmp_path / "run" / "assignments.csv", dtype={"user_id": str})
    config = SegmentConfig.from_dict(Workspace().run(key).config)
    return data, key, table, prepare(load_comments(data), config, with_map=False)


def test_broad_group_names_are_kept_apart_from_segment_names_and_follow_a_rebuilt_tree(tmp_path):
    _, key, table, prepared = _saved_run(tmp_path)
    fine_names = dict(zip(table["segment"], table["segment_name"], strict=False))
    layers = Layers()
    built = build_layers(prepared, key, table["user_id"], table["segment"], 3, fine_names=fine_names.values(),
                         layers=layers)
    assert layers.tree(key)["parent"] == built.hierarchy.parent
    # Suggested names of the two layers never coincide.
    assert not {s.name.casefold() for s in built.coarse} & {n.casefold() for n in fine_names.values()}

    with pytest.raises(ConfigError, match="already names a segment of the fine layer"):
        layers.save_name(key, 0, fine_names[0].upper(), taken=fine_names.values())
    layers.save_name(key, 0, "  Board   group A ", "for the board", taken=fine_names.values())
    assert layers.names(key)[0].name == "Board group A"
    with pytest.raises(ConfigError, match="no broad group 7"):
        layers.save_name(key, 7, "Nowhere")

    # Built again (another seed of the same k would do too): the named group's users keep its name.
    members = set(table["user_id"][built.hierarchy.coarse_labels[
        pd.Index(prepared.profiles.user_ids).get_indexer(table["user_id"])] == 0])
    again = build_layers(prepared, key, table["user_id"], table["segment"], 2, layers=layers)
    order = pd.Index(prepared.profiles.user_ids)
    renamed = [c for c, name in layers.names(key).items() if name.name == "Board group A"]
    if renamed:  # carried only where the new group shares at least half its users with the old one
        users = set(order[again.hierarchy.coarse_labels == renamed[0]])
        assert len(users & members) / len(users | members) >= 0.5
    else:
        assert any("were not carried" in note for note in again.notes)


def test_segments_json_carries_each_segments_parent_where_a_hierarchy_was_built(tmp_path):
    _, key, table, prepared = _saved_run(tmp_path)
    built = build_layers(prepared, key, table["user_id"], table["segment"], 2)
    fine = built.fine_segments()
    records = json.loads(segments_json(fine, parents=built.hierarchy.parent))
    assert {r["id"]: r["parent"] for r in records} == built.hierarchy.parent
    assert "parent" not in json.loads(segments_json(fine))[0]
    coarse = describe_coarse(prepared.comments, prepared.profiles, built.hierarchy.coarse_labels,
                             prepared.embeddings, fine_names=[s.name for s in fine])
    # A broad group holds exactly the users of its children.
    sizes = {s.id: s.size for s in fine}
    for group in coarse:
        assert group.size == sum(sizes[c] for c in built.hierarchy.children(group.id))


def test_cli_hierarchy_prints_both_layers_writes_parents_and_refuses_a_coarse_k_too_large(tmp_path, capsys):
    data, key, table, _ = _saved_run(tmp_path)
    capsys.readouterr()
    assert main(["hierarchy", str(data), "--coarse-k", "2", "--out", str(tmp_path / "layers")]) == 0
    captured = capsys.readouterr()
    printed = json.loads(captured.out)
    assert printed["run"] == key and printed["coarse_k"] == 2 and "2 broad groups over 6 segments" in captured.err
    parent = {s["id"]: s["parent"] for s in printed["segments"]}
    counted = table.assign(parent=table["segment"].map(parent)).groupby("parent").size()
    assert {g["id"]: g["size"] for g in printed["coarse"]} == counted.to_dict()
    assert sorted(c for g in printed["coarse"] for c in g["children"]) == sorted(table["segment"].unique())
    written = json.loads((tmp_path / "layers" / "segments.json").read_text(encoding="utf-8"))
    assert {r["id"]: r["parent"] for r in written} == parent
    coarse = json.loads((tmp_path / "layers" / "coarse_segments.json").read_text(encoding="utf-8"))
    assert [r["id"] for r in coarse] == [0, 1]

    assert main(["hierarchy", str(data), "--coarse-k", "6"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: coarse k=6 does not fit a run of 6 segments") and err.count("\n") == 1
    with pytest.raises(SystemExit) as stopped:
        main(["hierarchy", str(data), "--coarse-k", "many"])
    assert stopped.value.code == 2 and "whole number or auto" in capsys.readouterr().err


def test_a_new_run_of_the_same_data_takes_the_broad_group_names_of_the_last_named_tree(tmp_path):
    data, first, table, prepared = _saved_run(tmp_path, k=6)
    layers = Layers()
    built = build_layers(prepared, first, table["user_id"], table["segment"], 2, layers=layers)
    layers.save_name(first, 0, "Board group A")
    assert main(["segment", str(data), "--out", str(tmp_path / "run5"), "--encoder", "tfidf", "--k", "5"]) == 0
    second = Workspace().all_runs()[0].run_key
    assert second != first
    table5 = pd.read_csv(tmp_path / "run5" / "assignments.csv", dtype={"user_id": str})
    again = build_layers(prepared, second, table5["user_id"], table5["segment"], 2, layers=layers)
    order = pd.Index(prepared.profiles.user_ids)
    named = set(order[built.hierarchy.coarse_labels == 0])
    # The broad group of the new run that shares the most users with the named one, by Jaccard index.
    overlaps = {g: len(named & set(order[again.hierarchy.coarse_labels == g]))
                / len(named | set(order[again.hierarchy.coarse_labels == g])) for g in (0, 1)}
    best = max(overlaps, key=overlaps.get)
    names = layers.names(second)
    if overlaps[best] >= 0.5:
        assert names[best].name == "Board group A" and names[best].source == "carried"
        assert any("1 broad-group name carried over" in note for note in again.notes)
    else:
        assert not names
