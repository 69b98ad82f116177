"""The fast encoder fitted to MiniLM on a sample of the very texts it encodes.

MiniLM encodes a random sample of the distinct texts; a ridge regression learns to map the fast static
encoder's vectors onto MiniLM's on that sample, and every text gets its fast vector mapped. On real labelled
users this closes most of the gap between the two encoders at the cost of MiniLM on the sample only
(``benchmarks/distil.py``, table in ``benchmarks/README.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from segmentation.core.errors import EncoderError
from segmentation.embed.base import EncoderBase, Progress, _batches, _report, corpus_hash, l2_normalise, register
from segmentation.embed.fast import FastEncoder
from segmentation.embed.minilm import MiniLMEncoder

DEFAULT_SAMPLE = 1_000
MIN_SAMPLE = 50


@register("fast-fitted")
class FittedFastEncoder(EncoderBase):
    """The fast static encoder mapped onto MiniLM's space by a ridge fitted on a sample of the texts.

    Parameters
    ----------
    arg : str
        How many distinct texts MiniLM encodes to fit the map on (default 1,000). Where the texts hold no more
        distinct ones than that, they are all MiniLM's and nothing is mapped.
    model_dir : Path, optional
        Where the fast model is kept (default: the workspace's, as :class:`FastEncoder`).

    Notes
    -----
    The vectors depend on the whole corpus (the sample and the fit), so the cache keys them by corpus
    (``name_for``). The sample is drawn from the sorted distinct texts with a fixed seed: the same texts give
    the same vectors whatever their order.
    """

    label = "Fast static MiniLM fitted to MiniLM on a sample of your comments"
    requires = (*FastEncoder.requires, "sentence_transformers")
    argument = "number of comments MiniLM encodes to fit on"
    corpus_dependent = True
    # Past the sample, every text costs what it costs the fast encoder; the sample is in ``start_seconds``.
    per_text_chars = FastEncoder.per_text_chars
    max_chars = FastEncoder.max_chars
    first_rate = FastEncoder.first_rate
    start_s = FastEncoder.start_s
    setup_s = FastEncoder.setup_s
    refined_by = FastEncoder.refined_by
    seed = 0
    # Ridge strength on unit-length 256-d inputs. On the real forum users (1,000 and 2,000 sampled texts,
    # seeds 0-2) 0.1 scored the same NMI and 10 lost up to 0.025.
    alpha = 1.0
    # A MiniLM text's work in ``estimate.text_work`` units: the fixed part plus a ~350-character comment.
    minilm_text_work = MiniLMEncoder.per_text_chars + 350.0
    batch_size = 65_536

    def __init__(self, arg: str = "", *, model_dir: Path | None = None) -> None:
        try:
            self.sample_size = int(arg) if arg else DEFAULT_SAMPLE
        except ValueError:
            raise EncoderError(
                f"fast-fitted takes a number of comments, e.g. 'fast-fitted:2000', not {arg!r}"
            ) from None
        if self.sample_size < MIN_SAMPLE:
            raise EncoderError(
                f"fast-fitted needs a sample of at least {MIN_SAMPLE} comments (got {self.sample_size})"
            )
        self.name = "fast-fitted" if self.sample_size == DEFAULT_SAMPLE else f"fast-fitted:{self.sample_size}"
        self.fast = FastEncoder(model_dir=model_dir)
        self.teacher = MiniLMEncoder()

    def needs_setup(self) -> bool:
        """Whether the fast model must be distilled first (see :meth:`FastEncoder.needs_setup`)."""
        return self.fast.needs_setup()

    def setup(self) -> None:
        """Distil the fast model where the workspace has none yet."""
        self.fast.setup()

    def start_seconds(self) -> float:
        """Loading both models and MiniLM's encoding of the sample on an idle machine."""
        sample_s = self.sample_size * self.minilm_text_work / MiniLMEncoder.first_rate
        return self.fast.start_seconds() + self.teacher.start_seconds() + sample_s

    def name_for(self, texts: Sequence[str]) -> str:
        """Cache identity of this encoder fitted on ``texts``: the spec plus a corpus hash."""
        return f"{self.name}@corpus-{corpus_hash(texts)[:16]}"

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Encode the sample with MiniLM, fit the map, map every fast vector; see :class:`Encoder`.

        ``progress`` follows MiniLM's sample, nearly all of the time; it reaches ``len(texts)`` at the end.
        """
        n = len(texts)
        corpus = sorted(set(texts))
        index = {text: i for i, text in enumerate(corpus)}
        row = np.fromiter((index[t] for t in texts), dtype=np.int64, count=n)
        _report(progress, 0, n)
        if len(corpus) <= self.sample_size:
            out = self.teacher.encode(corpus, progress=_scaled(progress, n))[row]
            _report(progress, n, n)
            return out
        sample = np.sort(np.random.default_rng(self.seed).choice(len(corpus), self.sample_size, replace=False))
        teacher = self.teacher.encode([corpus[i] for i in sample], progress=_scaled(progress, n))
        student = self.fast.encode(corpus)
        mapped = map_onto(student, student[sample], teacher, alpha=self.alpha, batch_size=self.batch_size)
        _report(progress, n, n)
        return mapped[row]


def _scaled(progress: Progress | None, n: int) -> Progress | None:
    """``progress`` over ``n`` texts for a step over fewer: the step's share, short of the end."""
    if progress is None:
        return None
    return lambda done, total: progress(min(n - 1, done * n // max(total, 1)), n)


def map_onto(
    vectors: np.ndarray, source: np.ndarray, target: np.ndarray, *, alpha: float = 1.0, batch_size: int = 65_536
) -> np.ndarray:
    """Map ``vectors`` by the ridge regression of ``target`` on ``source``, rows back to unit length.

    Parameters
    ----------
    vectors : ndarray of shape (n, d_in)
    source : ndarray of shape (m, d_in)
        The sample's vectors in the input space.
    target : ndarray of shape (m, d_out)
        The same sample's vectors in the space to map onto.
    alpha : float
        Ridge penalty.
    batch_size : int
        Rows mapped at once, which bounds the memory of a large corpus.

    Returns
    -------
    ndarray of shape (n, d_out), float32, L2-normalised rows
    """
    from sklearn.linear_model import Ridge

    ridge = Ridge(alpha=alpha).fit(source, target)
    out = np.empty((len(vectors), target.shape[1]), dtype=np.float32)
    for start, stop in _batches(len(vectors), batch_size):
        out[start:stop] = ridge.predict(vectors[start:stop])
    return l2_normalise(out)
