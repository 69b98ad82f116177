"""The whole pipeline on real encoders and real clustering."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures import labelled_comments, labelled_comments_zh
from sklearn.metrics import adjusted_rand_score

from segmentation.core.errors import ConfigError
from segmentation.embed.base import DEFAULT_ENCODER
from segmentation.embed.cache import EmbeddingCache
from segmentation.ingest.io import from_frame
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import cluster_prepared, prepare, segment, suggest_encoder


@pytest.fixture(scope="module")
def labelled():
    frame = labelled_comments()
    truth = frame.groupby("user_id")["true_group"].first()
    return from_frame(frame[["user_id", "text"]], source="labelled.csv"), truth


def _ari(result, truth) -> float:
    assigned = result.assignments.set_index("user_id")["segment"]
    return adjusted_rand_score(truth.loc[assigned.index], assigned)


@pytest.mark.slow
def test_minilm_kmeans_recovers_the_written_groups(labelled):
    comments, truth = labelled
    result = segment(comments, SegmentConfig(encoder="minilm", algorithm="kmeans", k=4))
    assert _ari(result, truth) >= 0.8
    assert result.metrics["n_segments"] == 4


@pytest.mark.slow
def test_minilm_hdbscan_recovers_the_written_groups(labelled):
    comments, truth = labelled
    config = SegmentConfig(encoder="minilm", algorithm="hdbscan", min_cluster_size=8, noise="nearest")
    result = segment(comments, config)
    assert _ari(result, truth) >= 0.8
    assert (result.labels >= 0).all()


@pytest.mark.slow
def test_auto_k_finds_the_number_of_groups(labelled):
    comments, truth = labelled
    result = segment(comments, SegmentConfig(encoder="minilm", algorithm="kmeans", k="auto"))
    assert result.metrics["n_segments"] == 4
    assert list(result.sweep["k"]) == list(range(2, 13))  # k=2 is scored for a clear two-group split
    assert result.choice.k == 4 and result.sweep.set_index("k").loc[4, "stability"] >= 0.8


@pytest.mark.slow
def test_same_data_and_seed_give_the_same_assignments(labelled):
    comments, _ = labelled
    config = SegmentConfig(encoder="tfidf", algorithm="kmeans", k=4, seed=3)
    first = segment(comments, config).assignments
    second = segment(comments, config).assignments
    assert first.equals(second)


@pytest.mark.slow
def test_second_run_encodes_nothing(labelled, workspace):
    comments, _ = labelled
    cache = EmbeddingCache()
    config = SegmentConfig(encoder="minilm", algorithm="kmeans", k=4)
    first = prepare(comments, config, cache=cache)
    second = prepare(comments, config, cache=cache)
    assert first.n_encoded == len(set(comments.frame["text"]))
    assert second.n_encoded == 0
    np.testing.assert_allclose(first.embeddings, second.embeddings, atol=1e-6)
    assert (workspace / "embeddings.sqlite").exists()


@pytest.mark.slow
def test_changing_k_reuses_the_prepared_space(labelled):
    comments, _ = labelled
    config = SegmentConfig(encoder="tfidf", algorithm="kmeans", k=3)
    prepared = prepare(comments, config)
    three = cluster_prepared(prepared, config)
    five = cluster_prepared(prepared, SegmentConfig(encoder="tfidf", algorithm="kmeans", k=5))
    agglomerative = cluster_prepared(prepared, SegmentConfig(encoder="tfidf", algorithm="agglomerative", k=4))
    assert three.metrics["n_segments"] == 3 and five.metrics["n_segments"] == 5
    assert agglomerative.metrics["n_segments"] == 4 and agglomerative.tree is not None
    np.testing.assert_array_equal(three.assignments[["x", "y"]], five.assignments[["x", "y"]])


def test_a_new_k_for_agglomerative_cuts_the_kept_tree_into_the_same_segments_as_a_fresh_fit(labelled):
    from segmentation.cluster.agglomerative import AgglomerativeClusterer

    comments, _ = labelled
    config = SegmentConfig(encoder="tfidf", algorithm="agglomerative", k=3, linkage="average")
    prepared = prepare(comments, config, with_map=False)
    cluster_prepared(prepared, config)
    trees = prepared.trees("pca", 50)
    (kept,) = trees.values()
    four = cluster_prepared(prepared, SegmentConfig(encoder="tfidf", algorithm="agglomerative", k=4, linkage="average"))

    assert list(trees.values()) == [kept]
    fresh = AgglomerativeClusterer(k=4, linkage="average").fit(prepared.space("pca", 50))
    np.testing.assert_array_equal(four.labels, fresh.labels_)
    np.testing.assert_array_equal(four.tree, fresh.tree_)
    ward = cluster_prepared(prepared, SegmentConfig(encoder="tfidf", algorithm="agglomerative", k=4))
    assert len(trees) == 2 and ward.metrics["n_segments"] == 4


@pytest.mark.slow  # fits a UMAP space
def test_the_neighbour_graph_is_built_only_when_a_map_or_a_umap_space_needs_it(labelled):
    comments, _ = labelled
    config = SegmentConfig(encoder="tfidf", algorithm="kmeans", k=3)
    prepared = prepare(comments, config, with_map=False)
    cluster_prepared(prepared, config)  # k-means clusters in a PCA space: no neighbours needed
    assert "knn" not in prepared.timings
    prepared.space("umap", 5)  # a UMAP space starts from the graph, built now and kept
    assert prepared.timings["knn"] >= 0 and prepared.knn is prepared.knn


@pytest.mark.slow
def test_a_umap_space_built_after_a_kmeans_run_equals_the_one_an_hdbscan_run_prepares(labelled):
    comments, _ = labelled
    after_kmeans = prepare(comments, SegmentConfig(encoder="tfidf", algorithm="kmeans", k=3))
    for_hdbscan = prepare(comments, SegmentConfig(encoder="tfidf", algorithm="hdbscan"))

    np.testing.assert_array_equal(after_kmeans.coords, for_hdbscan.coords)
    np.testing.assert_array_equal(after_kmeans.space("umap", 5), for_hdbscan.space("umap", 5))


@pytest.mark.slow
def test_result_describes_every_segment_with_keywords(labelled):
    comments, _ = labelled
    result = segment(comments, SegmentConfig(encoder="tfidf", algorithm="kmeans", k=4))
    assert sorted(s.id for s in result.segments) == [0, 1, 2, 3]
    assert sum(s.size for s in result.segments) == comments.n_users
    for description in result.segments:
        assert description.keywords and description.representative_comments and description.name
    assert set(result.assignments.columns) == {"user_id", "segment", "segment_name", "x", "y", "n_comments",
                                               "confidence", "between", "weight", "segment_2", "weight_2",
                                               "segment_3", "weight_3"}
    assert set(result.timings) >= {"encode", "profile", "map", "cluster", "describe"}


@pytest.mark.slow
def test_saved_names_replace_suggested_ones_everywhere(labelled):
    comments, _ = labelled
    result = segment(comments, SegmentConfig(encoder="tfidf", algorithm="kmeans", k=4))
    named = result.with_names({0: "Coffee lovers"})
    assert named.segments[0].name == "Coffee lovers"
    assert set(named.assignments.loc[named.assignments["segment"] == 0, "segment_name"]) == {"Coffee lovers"}
    assert result.segments[0].name != "Coffee lovers"


@pytest.mark.slow
def test_k_larger_than_the_users_is_refused_with_the_counts(labelled):
    comments, _ = labelled
    with pytest.raises(ConfigError, match=r"k=61 is larger than the 60 users"):
        segment(comments, SegmentConfig(encoder="tfidf", algorithm="kmeans", k=61))


def test_unknown_algorithm_names_the_choices():
    with pytest.raises(ConfigError, match="kmeans"):
        SegmentConfig(algorithm="spectral")


@pytest.mark.slow
@pytest.mark.parametrize("encoder", ["multilingual", "tfidf"])
def test_chinese_comments_segment_as_well_as_english(encoder):
    frame = labelled_comments_zh()
    truth = frame.groupby("user_id")["true_group"].first()
    comments = from_frame(frame[["user_id", "text"]], source="中文评论.csv")
    result = segment(comments, SegmentConfig(encoder=encoder, algorithm="kmeans", k=4))
    assert _ari(result, truth) >= 0.8  # the bar the English fixture meets with MiniLM
    keywords = {word for s in result.segments for word in s.keywords}
    assert keywords & {"咖啡", "跑鞋", "面霜", "游戏", "手柄", "防晒"}


def test_chinese_data_gets_the_multilingual_encoder_by_default():
    zh = from_frame(labelled_comments_zh()[["user_id", "text"]])
    en = from_frame(labelled_comments()[["user_id", "text"]])
    assert suggest_encoder(zh) == "multilingual"
    assert suggest_encoder(en) == DEFAULT_ENCODER


@pytest.mark.slow  # one real distillation (half a minute to minutes)
def test_the_fast_encoders_preparation_is_a_stage_of_its_own_and_waits_for_the_start_up_one(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
):
    from segmentation.embed.base import encoder_status
    from segmentation.embed.fast import PREPARE_FAST_ENV, FastEncoder
    from segmentation.runs.warmup import preparing, warm_up

    if not next(s for s in encoder_status() if s.name == "fast").available:
        pytest.skip("the fast encoder's packages are not installed")
    monkeypatch.delenv(PREPARE_FAST_ENV, raising=False)
    models = workspace / "models"
    seen: set[str] = set()  # every entry ever seen in the models folder: one scratch folder per distillation
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if models.exists():
                seen.update(p.name for p in models.iterdir())
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    start_up = threading.Thread(target=warm_up)  # what the app starts in the background
    start_up.start()
    frame = labelled_comments(users_per_group=3, comments_per_user=2, seed=3)
    stages: list[tuple[str, int, int]] = []
    try:
        while not models.exists() and start_up.is_alive():
            time.sleep(0.05)
        assert preparing(FastEncoder()), "the page would not say the start-up thread is preparing it"
        # A Run pressed while the start-up distils: a stage of its own, waiting rather than distilling again.
        prepared = prepare(from_frame(frame), SegmentConfig(encoder="fast"), with_map=False,
                           progress=lambda stage, done, total: stages.append((stage, done, total)))
        start_up.join(600)
    finally:
        done.set()
        watcher.join()
    names = [s for s, _, _ in stages]
    assert names.index("setup") < names.index("encode")
    assert ("setup", 1, 1) in stages and prepared.timings["setup"] > 0
    # While it waited the stage kept reporting (every half second), so the page's clock moved.
    assert stages.count(("setup", 0, 1)) >= 1 + int(prepared.timings["setup"]), stages[:5]
    assert not preparing(FastEncoder())
    assert (workspace / FastEncoder.MODEL_SUBDIR / "config.json").is_file()
    assert len([name for name in seen if name.startswith(".distill-")]) == 1
    again: list[str] = []
    prepare(from_frame(frame), SegmentConfig(encoder="fast"), with_map=False,
            progress=lambda stage, done, total: again.append(stage))
    assert "setup" not in again  # once per workspace


@pytest.mark.parametrize("algorithm", ["kmeans", "agglomerative", "bisecting", "hdbscan"])
@pytest.mark.parametrize("k", ["auto", 5])
def test_identical_comments_give_one_segment_and_say_why(algorithm: str, k: object) -> None:
    frame = pd.DataFrame({"user_id": [f"u{i}" for i in range(20)], "text": ["great coffee, fast delivery"] * 20})
    comments = from_frame(frame, source="same.csv")
    result = segment(comments, SegmentConfig(encoder="tfidf", algorithm=algorithm, k=k, min_cluster_size=5))
    assert result.metrics["n_segments"] == 1 and (result.labels == 0).all()
    assert any("same profile" in note or "1 distinct user profile" in note for note in result.notes), result.notes


def test_two_distinct_profiles_with_k_4_deliver_two_segments_and_the_notes_say_so() -> None:
    texts = ["espresso grinder crema"] * 10 + ["running shoes marathon"] * 10
    comments = from_frame(pd.DataFrame({"user_id": [f"u{i}" for i in range(20)], "text": texts}), source="two.csv")
    result = segment(comments, SegmentConfig(encoder="tfidf", algorithm="kmeans", k=4))
    assert result.metrics["n_segments"] == 2
    assert any("2 distinct user profiles" in note or "only 2 segments" in note for note in result.notes)
