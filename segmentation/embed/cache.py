"""Embeddings on disk, keyed by encoder and text, so a rerun only encodes what is new.

One SQLite file (``workspace_dir()/embeddings.sqlite``) holds a row per (encoder name, sha256 of the
text). :func:`encode_texts` commits every chunk as soon as it is encoded: a run that dies half-way keeps
its finished chunks and the next run resumes from there.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from segmentation.core.errors import ConfigError, EncoderError
from segmentation.core.paths import WORKSPACE_ENV, is_corrupt, set_aside, workspace_dir
from segmentation.embed.base import Encoder, Progress

CACHE_FILE = "embeddings.sqlite"
_TABLE = "vectors"
_OLD_TABLE = "embeddings"  # the WITHOUT ROWID table of earlier versions
# SQLite's default cap on bound parameters is 32,766 on current builds but 999 on old ones.
_LOOKUP_CHUNK = 900
# Distinct texts encoded (and committed to the cache) per step: a killed run loses at most this many.
ENCODE_CHUNK = 256


T = TypeVar("T")
_log = logging.getLogger(__name__)
def text_key(text: str) -> str:
    """The cache key of a text: hex sha256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Float32 vectors stored per (encoder name, text hash) in SQLite.

    Parameters
    ----------
    path : Path, optional
        The database file; defaults to ``workspace_dir()/embeddings.sqlite``.

    Notes
    -----
    Each call opens its own connection, so one cache object is safe to share between threads (Streamlit
    sessions) and processes; WAL mode lets readers proceed while a writer commits.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else workspace_dir() / CACHE_FILE
        self.notes: list[str] = []
        """What the cache did on its own, e.g. set aside a corrupt file (for the run's notes)."""
        self._guarded(self._create)

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            # A rowid table: a vector is a 1 KB blob or more, and a WITHOUT ROWID table keeps whole rows in its
            # key's B-tree, a few to a page, so every insert rewrote pages all over the file (3.3x its size,
            # 4x the time to store 20,000 vectors).
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {_TABLE} ("
                " encoder TEXT NOT NULL, text_sha TEXT NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL,"
                " PRIMARY KEY (encoder, text_sha))"
            )
            old = f"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{_OLD_TABLE}'"
            if db.execute(old).fetchone():
                # Caches written before the rowid table keep their vectors: moved once, under the write lock,
                # asking again in case another process moved them first.
                db.execute("BEGIN IMMEDIATE")
                if db.execute(old).fetchone():
                    db.execute(f"INSERT OR IGNORE INTO {_TABLE} SELECT encoder, text_sha, dim, vector"
                               f" FROM {_OLD_TABLE}")
                    db.execute(f"DROP TABLE {_OLD_TABLE}")

    def _guarded(self, work: Callable[[], T]) -> T:
        """Run ``work``; a corrupt cache file is set aside and rebuilt (it holds nothing that cannot be
        encoded again), and a cache that cannot be written becomes one clear ConfigError."""
        try:
            try:
                return work()
            except sqlite3.DatabaseError as error:
                if not is_corrupt(error):
                    raise
                backup = set_aside(self.path)
                note = (
                    f"the embedding cache {self.path} was damaged ({error}); it was moved to {backup.name} "
                    "and rebuilt, so these texts are encoded again"
                )
                self.notes.append(note)
                _log.warning(note)
                self._create()
                return work()
        except (sqlite3.DatabaseError, OSError) as error:
            raise ConfigError(
                f"cannot use the embedding cache {self.path}: {error}; make its folder writable or set "
                f"{WORKSPACE_ENV} to another folder"
            ) from None

    def _open(self) -> sqlite3.Connection:
        """A connection to the cache file that waits for another writer rather than failing at once."""
        db = sqlite3.connect(self.path, timeout=30.0)
        db.execute("PRAGMA busy_timeout=30000")
        return db

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = self._open()
        try:
            with db:  # commits on success, rolls back on error
                yield db
        finally:
            db.close()

    def get_many(self, encoder_name: str, texts: Sequence[str]) -> dict[int, np.ndarray]:
        """Look up cached vectors.

        Parameters
        ----------
        encoder_name : str
            The encoder's cache identity (``encoder.name``, or ``name_for(corpus)`` when corpus-dependent).
        texts : sequence of str

        Returns
        -------
        dict of int to ndarray
            Position in ``texts`` → float32 vector of shape ``(d,)``, for the texts found.
        """
        return self._guarded(lambda: self._get_many(encoder_name, texts))

    def _get_many(self, encoder_name: str, texts: Sequence[str]) -> dict[int, np.ndarray]:
        keys = [text_key(t) for t in texts]
        rows: dict[str, np.ndarray] = {}
        with self._connect() as db:
            unique = list(dict.fromkeys(keys))
            for start in range(0, len(unique), _LOOKUP_CHUNK):
                chunk = unique[start : start + _LOOKUP_CHUNK]
                marks = ",".join("?" * len(chunk))
                cursor = db.execute(
                    f"SELECT text_sha, dim, vector FROM {_TABLE}"
                    f" WHERE encoder = ? AND text_sha IN ({marks})",
                    [encoder_name, *chunk],
                )
                for sha, dim, blob in cursor:
                    rows[sha] = np.frombuffer(blob, dtype=np.float32, count=dim)
        return {i: rows[k] for i, k in enumerate(keys) if k in rows}

    def uncached(self, encoder_name: str, texts: Sequence[str]) -> list[str]:
        """The distinct ``texts`` that have no vector under ``encoder_name`` (reads keys, not vectors)."""
        return self._guarded(lambda: self._uncached(encoder_name, texts))

    def _uncached(self, encoder_name: str, texts: Sequence[str]) -> list[str]:
        distinct = {text_key(t): t for t in texts}
        keys = list(distinct)
        found: set[str] = set()
        with self._connect() as db:
            for start in range(0, len(keys), _LOOKUP_CHUNK):
                chunk = keys[start : start + _LOOKUP_CHUNK]
                marks = ",".join("?" * len(chunk))
                found.update(sha for (sha,) in db.execute(
                    f"SELECT text_sha FROM {_TABLE} WHERE encoder = ? AND text_sha IN ({marks})",
                    [encoder_name, *chunk]))
        return [distinct[k] for k in keys if k not in found]

    def put_many(self, encoder_name: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store ``vectors[i]`` for ``texts[i]`` under ``encoder_name`` in one transaction (replacing any)."""
        with self.writer() as writer:
            writer.put_many(encoder_name, texts, vectors)

    @contextmanager
    def writer(self) -> Iterator[CacheWriter]:
        """A writer that keeps one connection for many :meth:`CacheWriter.put_many` calls, each committed on
        its own; for one thread. Closing the last connection to a WAL file copies the log into the database,
        so a connection per chunk of an encode did that 276 times at 100k comments."""
        writer = CacheWriter(self)
        try:
            yield writer
        finally:
            writer.close()

    def count(self, encoder_name: str | None = None) -> int:
        """Number of stored vectors, for one encoder or all."""
        return self._guarded(lambda: self._count(encoder_name))

    def _count(self, encoder_name: str | None) -> int:
        with self._connect() as db:
            if encoder_name is None:
                return db.execute(f"SELECT COUNT(*) FROM {_TABLE}").fetchone()[0]
            query = f"SELECT COUNT(*) FROM {_TABLE} WHERE encoder = ?"
            return db.execute(query, (encoder_name,)).fetchone()[0]

    def clear(self, encoder_name: str | None = None) -> None:
        """Delete the stored vectors of one encoder, or all of them."""

        def delete() -> None:
            with self._connect() as db:
                if encoder_name is None:
                    db.execute(f"DELETE FROM {_TABLE}")
                else:
                    db.execute(f"DELETE FROM {_TABLE} WHERE encoder = ?", (encoder_name,))

        self._guarded(delete)


class CacheWriter:
    """One connection that stores chunks of vectors into an :class:`EmbeddingCache`, made by
    :meth:`EmbeddingCache.writer`. A damaged file met on the way is handled as the cache handles it, on a
    connection of its own."""

    def __init__(self, cache: EmbeddingCache) -> None:
        self._cache = cache
        self._db: sqlite3.Connection | None = None

    def put_many(self, encoder_name: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store ``vectors[i]`` for ``texts[i]`` under ``encoder_name`` and commit (replacing any)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(vectors) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(vectors)} vectors")
        dim = vectors.shape[1] if vectors.ndim == 2 else 0
        rows = [(encoder_name, text_key(t), dim, v.tobytes()) for t, v in zip(texts, vectors, strict=True)]
        insert = f"INSERT OR REPLACE INTO {_TABLE} (encoder, text_sha, dim, vector) VALUES (?, ?, ?, ?)"
        try:
            if self._db is None:
                self._db = self._cache._open()
            with self._db:  # commits on success, rolls back on error
                self._db.executemany(insert, rows)
        except sqlite3.DatabaseError:
            self.close()

            def put() -> None:
                with self._cache._connect() as db:
                    db.executemany(insert, rows)

            self._cache._guarded(put)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


@dataclass(frozen=True)
class EncodeResult:
    """Embeddings for every input row, and how many distinct texts were encoded or came from the cache."""

    embeddings: np.ndarray
    n_encoded: int
    n_cached: int


def cache_name(encoder: Encoder, distinct_texts: Sequence[str]) -> str:
    """The identity under which ``encoder``'s vectors for this corpus are cached."""
    return encoder.name_for(distinct_texts)


def encode_texts(
    texts: Sequence[str],
    encoder: Encoder,
    cache: EmbeddingCache | None = None,
    progress: Progress | None = None,
    chunk_size: int = ENCODE_CHUNK,
) -> EncodeResult:
    """Encode ``texts``, taking what the cache has and storing what is new chunk by chunk.

    Parameters
    ----------
    texts : sequence of str
        One per row; duplicates are encoded once.
    encoder : Encoder
    cache : EmbeddingCache, optional
        Without one every distinct text is encoded.
    progress : callable, optional
        ``progress(done, total)`` over the distinct texts; cached ones count as done at once.
    chunk_size : int
        Distinct texts encoded (and committed to the cache) per step. A corpus-dependent encoder
        (``corpus_dependent = True``, e.g. tfidf) is fitted on the whole corpus in one step.

    Returns
    -------
    EncodeResult
        ``embeddings`` of shape ``(len(texts), d)``, float32, row ``i`` for ``texts[i]``; ``n_encoded`` and
        ``n_cached`` count distinct texts.

    Raises
    ------
    EncoderError
        From the encoder, or when it returns the wrong number of rows or a changing dimension.
    """
    distinct = list(dict.fromkeys(texts))
    total = len(distinct)
    name = cache_name(encoder, distinct)
    found = cache.get_many(name, distinct) if cache is not None else {}
    missing = [i for i in range(total) if i not in found]
    done = total - len(missing)
    if progress is not None:
        progress(done, total)

    vectors: list[np.ndarray | None] = [found.get(i) for i in range(total)]
    step = max(1, len(missing) if encoder.corpus_dependent else chunk_size)
    with cache.writer() if cache is not None else nullcontext() as writer:
        for start in range(0, len(missing), step):
            chunk = missing[start : start + step]
            chunk_texts = [distinct[i] for i in chunk]
            encoded = encoder.encode(chunk_texts, progress=_offset(progress, done, total))
            if encoded.ndim != 2 or len(encoded) != len(chunk):
                raise EncoderError(f"encoder {encoder.name!r} returned {encoded.shape} for {len(chunk)} texts")
            if writer is not None:
                writer.put_many(name, chunk_texts, encoded)
            for i, vector in zip(chunk, encoded, strict=True):
                vectors[i] = vector
            done += len(chunk)
            if progress is not None:
                progress(done, total)

    if total == 0:
        return EncodeResult(np.zeros((0, 0), dtype=np.float32), 0, 0)
    dims = {len(v) for v in vectors if v is not None}
    if len(dims) != 1:
        raise EncoderError(
            f"cached and new vectors of {encoder.name!r} differ in dimension ({sorted(dims)}); "
            "clear the embedding cache for this encoder"
        )
    unique = np.vstack(vectors).astype(np.float32, copy=False)
    index = {text: i for i, text in enumerate(distinct)}
    embeddings = unique[[index[t] for t in texts]]
    return EncodeResult(embeddings, n_encoded=len(missing), n_cached=total - len(missing))


def _offset(progress: Progress | None, done: int, total: int) -> Progress | None:
    """Turn an encoder's progress within one chunk into progress over the whole run."""
    if progress is None:
        return None
    return lambda d, _t: progress(done + d, total)
