"""Encoding speed measured on this machine, kept in the workspace, so time estimates come from it.

Each finished encoding records the work it did (:func:`segmentation.embed.estimate.text_work`: characters
up to the encoder's cut plus a fixed part per text), how long that took and the load beside it; the rate is
kept normalised to an idle machine, an average weighted towards recent runs. :class:`EncodeClock` says how
long is left while a run encodes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from segmentation.core.errors import EncoderError
from segmentation.core.paths import workspace_dir
from segmentation.embed.base import get_encoder
from segmentation.embed.cache import ENCODE_CHUNK, EmbeddingCache, cache_name
from segmentation.embed.estimate import EncodeEstimate, cpu_share, current_load, estimate_encoding

THROUGHPUT_FILE = "throughput.json"
# Weight of the newest measurement in the running average: a changed machine shows within a run or two.
NEWEST_WEIGHT = 0.5
# Less work than this (~64 short comments) times mostly the model's start-up, not its speed.
MIN_WORK = 20_000.0
# The file's format: rates were comments per second before, which do not carry between files of short and
# long texts; those are dropped rather than mixed in.
_VERSION = 2


class ThroughputLog:
    """Measured encoding rates per encoder spec (work per second on an idle machine), in
    ``<workspace>/throughput.json``.

    Parameters
    ----------
    path : str or Path, optional
        The JSON file; defaults to the workspace's.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else workspace_dir() / THROUGHPUT_FILE

    def _read(self) -> dict[str, float]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != _VERSION or not isinstance(data.get("rates"), dict):
            return {}
        return {str(k): float(v) for k, v in data["rates"].items() if isinstance(v, int | float) and v > 0}

    def rate(self, encoder: str) -> float | None:
        """Work per second measured for ``encoder`` (its spec) on an idle machine, None before any."""
        return self._read().get(encoder)

    def record(self, encoder: str, work: float, seconds: float, load: float | None = None) -> None:
        """Add one measurement: ``work`` done in ``seconds`` beside ``load`` (the load average of other
        work when it started); ignored when too small to say anything about speed."""
        if work < MIN_WORK or seconds <= 0:
            return
        rates = self._read()
        measured = work / seconds / cpu_share(load)
        old = rates.get(encoder)
        rates[encoder] = measured if old is None else NEWEST_WEIGHT * measured + (1 - NEWEST_WEIGHT) * old
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(json.dumps({"version": _VERSION, "rates": rates}), encoding="utf-8")
        os.replace(partial, self.path)


def estimate(spec: str, texts: Sequence[str], cache: EmbeddingCache | None = None,
             log: ThroughputLog | None = None) -> EncodeEstimate | None:
    """How long encoding ``texts`` with ``spec`` will take here: only the texts ``cache`` lacks, at the rate
    measured on this machine (``log``, the workspace's by default) or a first guess, at the current load.

    Returns
    -------
    EncodeEstimate or None
        None for an encoder whose speed is unknown here or a spec that cannot be built.
    """
    todo = texts_to_encode(spec, texts, cache)
    return None if todo is None else estimate_pending(spec, todo, log)


def texts_to_encode(spec: str, texts: Sequence[str], cache: EmbeddingCache | None = None) -> list[str] | None:
    """The distinct ``texts`` that ``cache`` lacks for ``spec`` (all of them without a cache); None for a spec
    that cannot be built. The slow half of :func:`estimate` (a key per text looked up), which a page keeps while
    the cache and the texts stay the same and scales by the load of the moment with :func:`estimate_pending`."""
    try:
        encoder = get_encoder(spec)
    except EncoderError:
        return None
    distinct = list(dict.fromkeys(texts))
    return cache.uncached(cache_name(encoder, distinct), distinct) if cache is not None else distinct


def estimate_pending(spec: str, todo: Sequence[str], log: ThroughputLog | None = None) -> EncodeEstimate | None:
    """How long encoding ``todo`` (:func:`texts_to_encode`) with ``spec`` takes here, at the rate measured on this
    machine (``log``) and the current load."""
    rate = (log if log is not None else ThroughputLog()).rate(spec)
    return estimate_encoding(spec, todo, rate, current_load())


class EncodeClock:
    """Time left while encoding, from ``update(done, total, elapsed)`` reports over the distinct texts.

    Texts found in the cache are reported done at once; they cost nothing, so the speed is taken over the
    texts encoded in this run only (a resumed run otherwise said "0:00 left" for a minute). Within the
    first chunk the model sorts texts by length, so until a chunk is encoded the clock counts down the
    estimate made before the run (``expected_s``), when there is one.

    Parameters
    ----------
    expected_s : float, optional
        The estimate before the run for the texts still to encode.
    """

    def __init__(self, expected_s: float | None = None) -> None:
        self.expected_s = expected_s
        self.start = 0  # texts done at the first report over the distinct texts: those the cache had
        self._total: int | None = None

    def left(self, done: int, total: int, elapsed: float) -> float | None:
        """Seconds left, or None when there is nothing to go on yet."""
        if total != self._total:  # the first report counts comments, the encoder's count distinct texts
            self._total, self.start = total, done
        encoded, to_encode = done - self.start, total - self.start
        if done >= total:
            return 0.0
        if encoded >= min(ENCODE_CHUNK, to_encode) and encoded > 0 and elapsed > 0:
            return (total - done) * elapsed / encoded
        if self.expected_s is not None and self.expected_s > elapsed:
            return self.expected_s - elapsed
        return None  # slower than expected and too early to measure: the page says it is working it out
