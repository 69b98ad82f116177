"""Fast first, refined in the background (issue 22 item 2): the library's refinement and the Segment page's offer."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from pages_helpers import run_segmentation, start

from segmentation.demo import DEMO_PATH
from segmentation.embed.base import encoder_status
from segmentation.embed.cache import EmbeddingCache
from segmentation.ingest.io import load_comments
from segmentation.pipeline.config import SegmentConfig
from segmentation.runs.refine import Refinement, refined_config
from segmentation.runs.service import run_and_save
from segmentation.runs.warmup import seed_demo_embeddings
from segmentation.runs.workspace import Workspace

ZH_DEMO = DEMO_PATH.with_name("demo_reviews_zh.csv")


def _available(name: str) -> bool:
    return next(s for s in encoder_status() if s.name == name).available


@pytest.fixture
def fast_workspace(workspace: Path, fast_home: Path) -> Path:
    """This test's own workspace, with the session's distilled fast model in it (distilling again costs 30 s),
    and the demo's bundled MiniLM vectors in its embedding cache."""
    if not (_available("fast") and _available("minilm")):
        pytest.skip("the fast encoder or MiniLM is not installed")
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "models").symlink_to(fast_home / "models", target_is_directory=True)
    seed_demo_embeddings(EmbeddingCache())
    return workspace


def biggest_segment(assignments: dict[str, int]) -> int:
    counts: dict[int, int] = {}
    for segment in assignments.values():
        counts[segment] = counts.get(segment, 0) + 1
    return max(counts, key=counts.get)


@pytest.mark.slow
def test_a_fast_run_is_refined_as_a_run_of_its_own_that_carries_the_names(fast_workspace: Path):
    comments = load_comments(DEMO_PATH)
    space = Workspace()
    fast = run_and_save(comments, SegmentConfig(encoder="fast", k=6), workspace=space)
    config = refined_config(comments, fast.result.config)
    assert config == replace(fast.result.config, encoder="minilm")
    named = biggest_segment(space.assignments(fast.run_key))
    space.save_name(fast.run_key, named, "Named before")

    job = Refinement(comments, fast.run_key, config, workspace=space).start()
    status = job.wait(timeout=600)
    assert status.state == "done", status.error
    assert job.run.run_key != fast.run_key and job.run.result.config.encoder == "minilm"
    assert space.run(job.run.run_key) is not None  # saved: the Runs page and `runs` list it
    comparison = job.comparison()
    assert comparison.n_common == comments.n_users and -1.0 <= comparison.ari <= 1.0
    # The name went to the refined segment holding most of the named one's users.
    overlap = comparison.overlap.loc[named]
    carried = {segment_id: name.name for segment_id, name in space.names(job.run.run_key).items()}
    assert carried.get(int(overlap.idxmax())) == "Named before"

    # A name typed while the refinement ran (after it was saved) follows when it is shown.
    others = [s for s in comparison.overlap.index if s != named]
    later = max(others, key=lambda s: comparison.overlap.loc[s].max())
    space.save_name(fast.run_key, int(later), "Named meanwhile")
    job.carry_names()
    target = int(comparison.overlap.loc[later].idxmax())
    if target != int(overlap.idxmax()):  # two old segments may share one new one: the first name stays
        assert space.names(job.run.run_key)[target].name == "Named meanwhile"


@pytest.mark.slow
def test_a_cancelled_refinement_saves_nothing(fast_workspace: Path):
    comments = load_comments(DEMO_PATH)
    space = Workspace()
    fast = run_and_save(comments, SegmentConfig(encoder="fast", k=6), workspace=space)
    job = Refinement(comments, fast.run_key, refined_config(comments, fast.result.config), workspace=space)
    job.cancel()  # before its first progress report: it stops there
    status = job.start().wait(timeout=300)
    assert status.state == "cancelled" and job.run is None
    assert [info.run_key for info in space.all_runs()] == [fast.run_key]


def test_only_an_encoder_that_approximates_another_is_refined_and_never_into_another_language():
    if not (_available("fast") and _available("minilm")):
        pytest.skip("the fast encoder or MiniLM is not installed")
    english = load_comments(DEMO_PATH)
    assert refined_config(english, SegmentConfig(encoder="minilm")) is None  # the best at hand already
    assert refined_config(english, SegmentConfig(encoder="tfidf")) is None  # approximates nothing
    assert refined_config(english, SegmentConfig(encoder="fast-fitted:500")).encoder == "minilm"
    if _available("multilingual"):  # Chinese comments get the multilingual encoder, not English MiniLM
        assert refined_config(load_comments(ZH_DEMO), SegmentConfig(encoder="fast")) is None


@pytest.mark.slow
def test_the_segment_page_offers_the_refinement_follows_it_and_shows_it_with_its_names(fast_workspace: Path):
    at = run_segmentation(start(), encoder="fast", k=6)
    fast = at.session_state["run"]
    assert fast.result.config.encoder == "fast"
    offer = next(b for b in at.button if b.key == "refine_start")
    assert offer.label == "Refine with MiniLM in the background"
    offer.click().run()
    assert not at.exception, at.exception
    deadline = time.monotonic() + 600
    while not any(b.key == "refine_show" for b in at.button):  # the page, redrawn as a user would see it
        assert time.monotonic() < deadline, [e.value for e in at.error]
        assert not at.error, [e.value for e in at.error]
        time.sleep(1)
        at.run()
    ready = next(s.value for s in at.success if "segments are ready" in s.value)
    assert "ARI" in ready and "users" in ready
    assert at.session_state["run"].run_key == fast.run_key  # nothing replaced until asked
    next(b for b in at.button if b.key == "refine_show").click().run()
    assert not at.exception, at.exception
    shown = at.session_state["run"]
    assert shown.run_key != fast.run_key and shown.result.config.encoder == "minilm"
    assert at.selectbox(key="seg_encoder").value == "minilm"  # the settings are the shown run's
    assert not any(b.key == "refine_start" for b in at.button)  # MiniLM's run has nothing to refine
