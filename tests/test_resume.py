"""A run that dies while encoding keeps what it encoded, and the next run resumes from there.

tests/test_cache.py covers :func:`encode_texts` raising mid-run. Here the whole path: the pipeline with an
OpenAI-compatible endpoint (a real local HTTP server) that goes away, and a CLI process killed with SIGKILL
in the middle of encoding, whose cache stays sound and whose next run encodes only the rest.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openai_stub_server import StubServer

from segmentation.core.errors import EncoderError
from segmentation.embed.base import ENCODERS
from segmentation.embed.cache import EmbeddingCache
from segmentation.embed.openai import OpenAIEncoder
from segmentation.ingest.io import from_frame
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import prepare

ROOT = Path(__file__).resolve().parents[1]
MODEL = "stub-embed"
CHUNK = 256  # texts committed per step by encode_texts (its default, which the pipeline uses)
BATCH = 128  # texts per request (OpenAIEncoder's default)
TOPICS = ("coffee", "shoes", "garden", "games", "tea", "bikes")


def comments_frame(n_texts: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "user_id": [f"user-{i % 60:02d}" for i in range(n_texts)],
        "text": [f"review {i}: the {TOPICS[i % 6]} was {rng.choice(['great', 'poor', 'fine'])}"
                 for i in range(n_texts)],
    })


class QuickRetryOpenAIEncoder(OpenAIEncoder):
    """The real OpenAI-compatible client with one quick retry instead of ~31 s of back-off."""

    def __init__(self, model: str) -> None:
        super().__init__(model, max_retries=1, backoff=0.01, timeout=5)


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> StubServer:
    with StubServer() as server:
        monkeypatch.setenv("SEGMENT_STUDIO_OPENAI_BASE_URL", server.base_url)
        # In this process only: the CLI subprocess below keeps the default retries.
        monkeypatch.setitem(ENCODERS, "openai", QuickRetryOpenAIEncoder)
        yield server


def config() -> SegmentConfig:
    return SegmentConfig(encoder=f"openai:{MODEL}", algorithm="kmeans", k=3)


def encoder_name(server: StubServer) -> str:
    return f"openai:{MODEL}@{server.base_url}"


def test_pipeline_run_whose_endpoint_goes_away_keeps_finished_chunks_and_the_rerun_resumes(
    stub: StubServer, workspace: Path
) -> None:
    comments = from_frame(comments_frame(), source="reviews.csv")
    stub.die_after = 2  # the first chunk (two requests) lands, then the endpoint hangs up and stops listening

    with pytest.raises(EncoderError, match=r"embedding endpoint .* \(|cannot reach embedding endpoint") as raised:
        prepare(comments, config(), with_map=False)

    assert "\n" not in str(raised.value)
    assert EmbeddingCache().count(encoder_name(stub)) == CHUNK
    stub.die_after = None
    stub.start()  # back on the same port: same encoder identity, same cache entries
    before = stub.embedding_requests
    resumed = prepare(comments, config(), with_map=False)

    assert (resumed.n_cached, resumed.n_encoded) == (CHUNK, comments.n_comments - CHUNK)
    assert stub.embedding_requests - before == 3  # 344 texts: a chunk of 256 (2 requests) and one of 88
    fresh = prepare(comments, config(), cache=EmbeddingCache(workspace / "fresh.sqlite"), with_map=False)
    np.testing.assert_allclose(resumed.embeddings, fresh.embeddings, atol=1e-6)
    np.testing.assert_allclose(resumed.profiles.vectors, fresh.profiles.vectors, atol=1e-6)


def cli(csv: Path, out: Path, server: StubServer, home: Path) -> subprocess.Popen:
    env = dict(os.environ, SEGMENT_STUDIO_HOME=str(home), SEGMENT_STUDIO_OPENAI_BASE_URL=server.base_url)
    return subprocess.Popen(
        [sys.executable, "-m", "segmentation", "segment", str(csv), "--out", str(out),
         "--encoder", f"openai:{MODEL}", "--k", "3"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


@pytest.mark.slow  # the CLI fits UMAP for the map in a subprocess
def test_cli_killed_mid_encode_leaves_a_sound_cache_and_the_next_run_encodes_only_the_rest(
    stub: StubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csv = tmp_path / "reviews.csv"
    frame = comments_frame()
    frame.to_csv(csv, index=False)
    home = tmp_path / "home"
    # The first chunk lands; then the endpoint answers 503, so the client sits in its retry back-off
    # (1 + 2 + 4 + ... s) with work left to do: that is when the process is killed.
    stub.fail_after = 2

    process = cli(csv, tmp_path / "out", stub, home)
    deadline = time.monotonic() + 90
    while stub.embedding_requests < 4 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, process.communicate()[1]
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)

    assert process.returncode == -signal.SIGKILL
    cache_file = home / "embeddings.sqlite"
    with sqlite3.connect(cache_file) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert EmbeddingCache(cache_file).count(encoder_name(stub)) == CHUNK

    stub.fail_after = None
    monkeypatch.setenv("SEGMENT_STUDIO_HOME", str(home))
    before = stub.embedding_requests
    resumed = prepare(from_frame(frame, source="reviews.csv"), config(), with_map=False)

    assert (resumed.n_cached, resumed.n_encoded) == (CHUNK, len(frame) - CHUNK)
    assert stub.embedding_requests - before == 3
    assert EmbeddingCache(cache_file).count(encoder_name(stub)) == len(frame)
