"""Making first runs fast: the bundled demo vectors into the embedding cache, UMAP's code compiled and the
fast encoder distilled, which the app starts in the background when it first starts."""

from __future__ import annotations

import contextlib

import numpy as np

from segmentation.core.errors import SegmentationError
from segmentation.embed.base import Encoder
from segmentation.embed.cache import EmbeddingCache

# The encoder classes whose one-off preparation the start-up thread is running now, so a page can say so.
_PREPARING: set[type] = set()


def seed_demo_embeddings(cache: EmbeddingCache | None = None) -> int:
    """Put the bundled demo vectors into the embedding cache where they are missing.

    Parameters
    ----------
    cache : EmbeddingCache, optional
        The workspace's cache when None.

    Returns
    -------
    int
        How many vectors were added (0 when they were all there, or the file is absent or stale).
    """
    from segmentation.demo import DEMO_EMBEDDINGS_PATH, DEMO_ENCODER, demo_texts

    if not DEMO_EMBEDDINGS_PATH.exists():
        return 0
    cache = cache if cache is not None else EmbeddingCache()
    texts = demo_texts()
    vectors = np.load(DEMO_EMBEDDINGS_PATH, allow_pickle=False).astype(np.float32)
    if len(vectors) != len(texts):  # the demo was regenerated without its vectors: encode as usual
        return 0
    found = cache.get_many(DEMO_ENCODER, texts)
    missing = [i for i in range(len(texts)) if i not in found]
    if missing:
        chosen = vectors[missing]
        chosen /= np.maximum(np.linalg.norm(chosen, axis=1, keepdims=True), 1e-12)
        cache.put_many(DEMO_ENCODER, [texts[i] for i in missing], chosen)
    return len(missing)


def warm_up() -> None:
    """Make first runs fast: the bundled demo vectors into the embedding cache and UMAP's code compiled
    (the first Run on the demo), then the fast encoder distilled once per workspace (the first large file;
    half a minute to a few minutes of both cores, so it comes last)."""
    from segmentation.embed.fast import FastEncoder
    from segmentation.embed.projection import warm_up as compile_umap

    seed_demo_embeddings()
    compile_umap()
    _PREPARING.add(FastEncoder)
    try:
        with contextlib.suppress(SegmentationError):  # a Run with the fast encoder meets the error and shows it
            FastEncoder.prepare()
    finally:
        _PREPARING.discard(FastEncoder)


def preparing(encoder: Encoder) -> bool:
    """Whether the start-up thread is preparing ``encoder``'s kind right now (a Run waits for it)."""
    return type(encoder) in _PREPARING and encoder.needs_setup()


__all__ = ["preparing", "seed_demo_embeddings", "warm_up"]
