"""Encoding speed measured on this machine, kept in the workspace, so time estimates come from it.

Each finished encoding records how many texts an encoder encoded and how long it took; the estimate for
the next run divides by the measured rate (texts per second, an average weighted towards recent runs).
A run's first batch is timed too, so the progress line can say how long is left from the start.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from segmentation.core.paths import workspace_dir
from segmentation.embed.cache import ENCODE_CHUNK

THROUGHPUT_FILE = "throughput.json"
# Weight of the newest measurement in the running average: a busy machine shows within a run or two.
NEWEST_WEIGHT = 0.5
# Fewer texts than this time mostly the model's start-up, not its speed.
MIN_TEXTS = 64


class ThroughputLog:
    """Measured encoding rates per encoder, in ``<workspace>/throughput.json``.

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
        return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float) and v > 0} \
            if isinstance(data, dict) else {}

    def rate(self, encoder: str) -> float | None:
        """Texts per second measured for ``encoder`` (its spec), or None before any measurement."""
        return self._read().get(encoder)

    def record(self, encoder: str, n_texts: int, seconds: float) -> None:
        """Add one measurement; ignored when too small to say anything about speed."""
        if n_texts < MIN_TEXTS or seconds <= 0:
            return
        rates = self._read()
        measured = n_texts / seconds
        old = rates.get(encoder)
        rates[encoder] = measured if old is None else NEWEST_WEIGHT * measured + (1 - NEWEST_WEIGHT) * old
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(json.dumps(rates), encoding="utf-8")
        os.replace(partial, self.path)

    def estimate(self, encoder: str, n_texts: int) -> float | None:
        """Seconds to encode ``n_texts`` at the measured rate (None before any measurement)."""
        rate = self.rate(encoder)
        return None if rate is None else n_texts / rate


def remaining_seconds(done: int, total: int, elapsed: float) -> float | None:
    """Time left at the rate seen so far in this run; None until the first chunk of texts is done.

    A sentence-transformers model encodes each chunk's texts sorted by length, so the reports within the
    first chunk time a biased part of it. On 10,000 real recipe reviews with MiniLM the estimate after the
    first report (64 texts) was 76 % short; after the first chunk (256 texts, 6 s in) 15 % short, after
    1,000 texts 2 % (``benchmarks/estimate.py``).
    """
    if done < min(ENCODE_CHUNK, total) or done <= 0 or elapsed <= 0:
        return None
    return max(total - done, 0) * elapsed / done
