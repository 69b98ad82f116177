"""Embedding cache: reruns encode nothing, changed files encode only what is new, crashes resume."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from openai_stub_server import StubServer

from segmentation.core.errors import EncoderError
from segmentation.embed.base import EncoderBase, Progress, get_encoder
from segmentation.embed.cache import EmbeddingCache, encode_texts
from segmentation.embed.openai import OpenAIEncoder

TEXTS = [
    f"review {i}: the {w} was {a}"
    for i, (w, a) in enumerate(
        [
            (w, a)
            for w in ("soup", "cake", "bread", "salad", "curry")
            for a in ("great", "salty", "dry", "sweet")
        ]
    )
]


@pytest.fixture
def stub() -> StubServer:
    with StubServer() as server:
        yield server


def stub_encoder(server: StubServer, batch_size: int = 4) -> OpenAIEncoder:
    return OpenAIEncoder(
        "stub-embed", base_url=server.base_url, batch_size=batch_size, max_retries=1, backoff=0.01, timeout=5
    )


def test_put_then_get_returns_the_same_vectors_for_the_texts_found(workspace: Path) -> None:
    cache = EmbeddingCache()
    vectors = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
    cache.put_many("enc", ["a", "b", "c"], vectors)

    found = EmbeddingCache().get_many("enc", ["c", "missing", "a"])

    assert cache.path == workspace / "embeddings.sqlite"
    assert set(found) == {0, 2}
    np.testing.assert_array_equal(found[0], vectors[2])
    np.testing.assert_array_equal(found[2], vectors[0])
    assert found[0].dtype == np.float32
    assert EmbeddingCache().get_many("other-encoder", ["a"]) == {}


def test_cache_file_uses_write_ahead_logging(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "sub" / "e.sqlite")

    with sqlite3.connect(cache.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_second_run_encodes_nothing(stub: StubServer) -> None:
    cache, encoder = EmbeddingCache(), stub_encoder(stub)
    first = encode_texts(TEXTS, encoder, cache)
    requests = stub.embedding_requests

    second = encode_texts(TEXTS, encoder, cache)

    assert (first.n_encoded, first.n_cached) == (len(TEXTS), 0)
    assert (second.n_encoded, second.n_cached) == (0, len(TEXTS))
    assert stub.embedding_requests == requests
    np.testing.assert_array_equal(second.embeddings, first.embeddings)


def test_changed_file_encodes_only_the_new_texts(stub: StubServer) -> None:
    cache, encoder = EmbeddingCache(), stub_encoder(stub)
    encode_texts(TEXTS[:15], encoder, cache)
    changed = TEXTS[5:] + ["a brand new comment"]

    result = encode_texts(changed, encoder, cache)

    assert (result.n_encoded, result.n_cached) == (6, 10)
    np.testing.assert_allclose(result.embeddings, encode_texts(changed, encoder).embeddings, atol=1e-6)


def test_duplicate_texts_are_encoded_once_and_share_a_row(stub: StubServer) -> None:
    texts = ["same words", "other words", "same words"]

    result = encode_texts(texts, stub_encoder(stub), EmbeddingCache())

    assert result.embeddings.shape == (3, stub.dim)
    assert (result.n_encoded, result.n_cached) == (2, 0)
    np.testing.assert_array_equal(result.embeddings[0], result.embeddings[2])


def test_progress_counts_cached_texts_as_done_at_once(stub: StubServer) -> None:
    cache, encoder = EmbeddingCache(), stub_encoder(stub)
    encode_texts(TEXTS[:12], encoder, cache)
    calls: list[tuple[int, int]] = []

    encode_texts(
        TEXTS, encoder, cache, progress=lambda done, total: calls.append((done, total)), chunk_size=4
    )

    assert calls[0] == (12, 20)
    assert calls[-1] == (20, 20)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert {t for _, t in calls} == {20}


@pytest.mark.parametrize("failure", ["dies", "overloaded"])
def test_endpoint_failing_mid_run_keeps_finished_chunks_and_a_rerun_encodes_the_rest(
    failure: str, stub: StubServer
) -> None:
    cache, encoder = EmbeddingCache(), stub_encoder(stub, batch_size=4)
    # Chunks of 8 texts are two requests each: the first chunk lands, the second fails on its first request.
    if failure == "dies":
        stub.die_after = 2
    else:
        stub.fail_after = 2

    with pytest.raises(EncoderError, match="cannot reach embedding endpoint|kept failing"):
        encode_texts(TEXTS, encoder, cache, chunk_size=8)

    assert cache.count(encoder.name) == 8
    stub.die_after = stub.fail_after = None
    if failure == "dies":
        stub.start()  # same port, so the same encoder name and cache entries
    result = encode_texts(TEXTS, encoder, cache, chunk_size=8)

    assert (result.n_encoded, result.n_cached) == (12, 8)
    np.testing.assert_allclose(result.embeddings, encode_texts(TEXTS, encoder).embeddings, atol=1e-6)


def test_tfidf_is_cached_per_corpus_and_refits_when_the_corpus_changes() -> None:
    cache, encoder = EmbeddingCache(), get_encoder("tfidf")
    first = encode_texts(TEXTS, encoder, cache, chunk_size=4)

    again = encode_texts(TEXTS[::-1], encoder, cache)
    changed = encode_texts(TEXTS[:-1], encoder, cache)

    assert (first.n_encoded, again.n_encoded, again.n_cached) == (20, 0, 20)
    np.testing.assert_allclose(again.embeddings, first.embeddings[::-1], atol=1e-6)
    assert (changed.n_encoded, changed.n_cached) == (19, 0)
    assert cache.count(encoder.name_for(TEXTS)) == 20


def test_empty_input_gives_an_empty_matrix(stub: StubServer) -> None:
    result = encode_texts([], stub_encoder(stub), EmbeddingCache())

    assert result.embeddings.shape[0] == 0 and (result.n_encoded, result.n_cached) == (0, 0)


class WrongRowCount(EncoderBase):
    """A faulty third-party encoder: one row too few."""

    name = "wrong-rows"
    label = "wrong rows"
    requires = ()
    argument = ""

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        return np.ones((len(texts) - 1, 4), dtype=np.float32)


def test_encoder_returning_the_wrong_number_of_rows_is_an_encoder_error() -> None:
    with pytest.raises(EncoderError, match="returned \\(2, 4\\) for 3 texts"):
        encode_texts(["a", "b", "c"], WrongRowCount(), EmbeddingCache())


def test_concurrent_writers_share_one_cache_file() -> None:
    path = EmbeddingCache().path
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            cache = EmbeddingCache(path)
            for step in range(20):
                cache.put_many(f"enc{worker}", [f"t{step}"], np.full((1, 8), step, dtype=np.float32))
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert EmbeddingCache(path).count() == 80


def test_clear_removes_one_encoder_or_all() -> None:
    cache = EmbeddingCache()
    cache.put_many("a", ["x", "y"], np.ones((2, 3), dtype=np.float32))
    cache.put_many("b", ["x"], np.ones((1, 3), dtype=np.float32))

    cache.clear("a")
    assert (cache.count("a"), cache.count("b")) == (0, 1)
    cache.clear()
    assert cache.count() == 0


def _filled_cache(path: Path, n: int = 3000) -> list[str]:
    texts = [f"text number {i}" for i in range(n)]
    EmbeddingCache(path).put_many("tfidf-test", texts, np.random.default_rng(0).random((n, 32)))
    with sqlite3.connect(path) as db:  # move everything from the WAL into the main file
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return texts


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: b"this is not a database" * 200, id="garbage"),
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: data[:4096] + b"\xff" * (len(data) - 4096), id="pages-overwritten"),
    ],
)
def test_a_damaged_cache_is_moved_aside_and_rebuilt_with_a_note(tmp_path: Path, damage, caplog) -> None:
    path = tmp_path / "embeddings.sqlite"
    texts = _filled_cache(path)
    damaged = damage(path.read_bytes())
    path.write_bytes(damaged)

    cache = EmbeddingCache(path)
    encoded = encode_texts(texts[:50], get_encoder("tfidf"), cache)
    assert encoded.embeddings.shape[0] == 50 and encoded.n_encoded == 50  # encoded again, nothing crashed
    backups = [p for p in tmp_path.glob("embeddings.sqlite.corrupt-*") if not p.name.endswith(("-wal", "-shm"))]
    assert len(backups) == 1 and backups[0].read_bytes() == damaged  # kept as it was, for a post-mortem
    assert any("was damaged" in note and backups[0].name in note for note in cache.notes)
    assert any("embedding cache" in r.getMessage() and "rebuilt" in r.getMessage() for r in caplog.records)
    # The rebuilt cache serves the next run.
    again = encode_texts(texts[:50], get_encoder("tfidf"), EmbeddingCache(path))
    assert again.n_cached == 50 and again.n_encoded == 0


def test_a_cache_that_cannot_be_written_is_one_config_error_naming_it(tmp_path: Path) -> None:
    from segmentation.core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"cannot use the embedding cache /proc/.*; make its folder writable"):
        EmbeddingCache(Path("/proc/self/embeddings.sqlite"))


def test_a_cache_from_an_earlier_version_keeps_its_vectors(tmp_path: Path):
    # Earlier versions kept vectors in a WITHOUT ROWID table named "embeddings"; opening such a file moves them.
    from segmentation.embed.cache import text_key

    path = tmp_path / "embeddings.sqlite"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE embeddings (encoder TEXT NOT NULL, text_sha TEXT NOT NULL, dim INTEGER NOT NULL,"
        " vector BLOB NOT NULL, PRIMARY KEY (encoder, text_sha)) WITHOUT ROWID"
    )
    kept = np.arange(4, dtype=np.float32)
    db.execute("INSERT INTO embeddings VALUES (?, ?, ?, ?)", ("enc", text_key("kept soup"), 4, kept.tobytes()))
    db.commit()
    db.close()

    cache = EmbeddingCache(path)
    found = cache.get_many("enc", ["new bread", "kept soup"])
    assert list(found) == [1] and np.array_equal(found[1], kept)
    assert cache.count("enc") == 1
    tables = {name for (name,) in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "embeddings" not in tables
    # Opened again (the move already done), nothing is lost or moved twice.
    assert EmbeddingCache(path).count() == 1

