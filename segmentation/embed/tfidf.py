"""The TF-IDF + LSA encoder: no model, fitted on the texts it encodes (Latin words and CJK bigrams)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from segmentation.core.errors import EncoderError
from segmentation.core.text import CJK, latin_words
from segmentation.embed.base import EncoderBase, Progress, _report, corpus_hash, l2_normalise, register

_CJK_RUN = re.compile(f"[{CJK}]+")


def _analyse(text: str) -> list[str]:
    """Latin-script words minus English stop words, plus CJK characters and character bigrams.

    Chinese has no spaces, so words cannot be split off; single characters are too ambiguous alone and
    bigrams approximate most two-character words. Both sets together handle mixed corpora.
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    lowered = text.lower()
    tokens = []
    for word in latin_words(_CJK_RUN.sub(" ", lowered)):
        if len(word) > 1 and word not in ENGLISH_STOP_WORDS:
            tokens.append(word)
    for run in _CJK_RUN.findall(lowered):
        tokens.extend(run)
        tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    # A comment with no word at all ("!!!", "👍") still needs a feature, or its row would be zero.
    return tokens or [lowered.strip()]


@register("tfidf")
class TfidfEncoder(EncoderBase):
    """TF-IDF (words + CJK bigrams) reduced by truncated SVD (LSA); fitted on the texts it encodes.

    The fit depends on the whole corpus, so the cache keys it by :meth:`name_for` (spec + corpus hash).
    The fit uses the sorted set of distinct texts: a text gets the same vector whatever the row order.
    """

    label = "TF-IDF + LSA (no model; fitted on your comments)"
    requires = ("sklearn",)
    argument = ""
    first_rate = 700_000.0  # work per second, from 10k real recipe reviews on an idle machine
    start_s = 0.5
    corpus_dependent = True
    seed = 0

    def __init__(self, arg: str = "") -> None:
        """``arg``: optional number of SVD components (default 256, capped by the data)."""
        try:
            self.n_components = int(arg) if arg else 256
        except ValueError:
            raise EncoderError(f"tfidf takes a number of components, e.g. 'tfidf:128', not {arg!r}") from None
        if self.n_components < 2:
            raise EncoderError(f"tfidf needs at least 2 components (got {self.n_components})")
        self.name = "tfidf" if self.n_components == 256 else f"tfidf:{self.n_components}"

    def name_for(self, texts: Sequence[str]) -> str:
        """Cache identity of this encoder fitted on ``texts``: the spec plus a corpus hash."""
        return f"{self.name}@corpus-{corpus_hash(texts)[:16]}"

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Fit TF-IDF and SVD on ``texts`` and return their vectors; see :class:`Encoder`."""
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        n = len(texts)
        _report(progress, 0, n)
        corpus = sorted(set(texts))
        row = {text: i for i, text in enumerate(corpus)}
        vectorizer = TfidfVectorizer(analyzer=_analyse, sublinear_tf=True, dtype=np.float32)
        matrix = vectorizer.fit_transform(corpus)
        k = min(self.n_components, matrix.shape[0] - 1, matrix.shape[1] - 1)
        if k >= 2:
            reduced = TruncatedSVD(n_components=k, random_state=self.seed).fit_transform(matrix)
        else:
            # Too few texts or terms for a meaningful SVD: the normalised TF-IDF rows are the vectors.
            reduced = matrix.toarray()
        out = l2_normalise(reduced[[row[t] for t in texts]])
        _report(progress, n, n)
        return out
