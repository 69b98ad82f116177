"""Issue 21 guard on real labelled users: the automatic k gives the same k and the same segments under every seed.

Forum users labelled by the Stack Exchange site they post on (``../shared/data/se_closed_sites``, read in
place, never copied), every setting at its default but the encoder (the fast one, as the seed table in
benchmarks/README.md). Before the fix, seeds 0-4 chose k = 4, 4, 5, 4, 5 on this file.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import pytest
from sklearn.metrics import adjusted_rand_score

from segmentation.ingest.io import load_comments
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import cluster_prepared, prepare
from tests.conftest import SHARED_DATA

FORUMS = SHARED_DATA / "se_closed_sites" / "comments.csv.gz"


@pytest.mark.slow
def test_automatic_k_on_real_forum_users_gives_the_same_segments_under_seeds_0_to_4(
    fast_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not FORUMS.is_file():
        pytest.skip(f"real labelled forum users not found at {FORUMS} (the shared data folder is absent)")
    monkeypatch.setenv("SEGMENT_STUDIO_HOME", str(fast_home))
    comments = load_comments(FORUMS)
    results = []
    for seed in range(5):
        config = SegmentConfig(encoder="fast", seed=seed)
        results.append(cluster_prepared(prepare(comments, config, with_map=False), config))

    ks = [result.metrics["n_segments"] for result in results]
    assert len(set(ks)) == 1, f"the automatic k moved with the seed: {ks}"
    assert all(result.choice is not None and result.choice.k == ks[0] for result in results)
    agreement = [adjusted_rand_score(a.labels, b.labels) for a, b in combinations(results, 2)]
    assert min(agreement) >= 0.95, f"the seeds' segments differ (adjusted Rand index down to {min(agreement):.3f})"
