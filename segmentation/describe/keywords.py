"""Keywords per segment: distinctive c-TF-IDF candidates, optional re-rankers, and two quality metrics.

The representation is built in parts, as BERTopic builds its topic representations:

1. **Candidates** by a distinctive class-based TF-IDF (:func:`distinctive_ctfidf`). BERTopic's c-TF-IDF
   treats all comments of a segment as one document and weights a term by ``log(1 + A / f_t)``; on real
   reviews that barely moves the words every segment uses ("great", "good", "like", "use" were in the
   top 8 of 7–8 segments out of 8). So each score is also multiplied by the term's *concentration*: the
   share of its length-normalised frequency that falls in this segment (1 for a term of one segment
   alone, ``1/k`` for a term used alike by all ``k``). Generic sentiment sinks unless one segment really
   uses it more than the others, with no hand list of such words.
2. **Re-rankers** (:class:`KeywordReranker`), applied in order to the candidates:
   :class:`LexicalDiversity` (no model: drops repeats such as "grinder" after "burr grinder"),
   :class:`OneSegmentPerKeyword` (no model: a candidate stays only with the segment where it ranks best),
   :class:`KeyBERTInspired` (re-ranks candidates by cosine similarity to the segment's centroid in the
   encoder's space, after BERTopic's ``KeyBERTInspired``) and :class:`MaximalMarginalRelevance` (picks
   relevant keywords that are unlike those already picked, after BERTopic's ``MaximalMarginalRelevance``).
   The last two need the encoder that embedded the comments; without one they are skipped.

Two metrics judge the result, in :mod:`segmentation.describe.fidelity`: keyword distinctness and label
fidelity (they read described segments, so they live above :mod:`segmentation.describe.segments`, which
imports this module).
"""

from __future__ import annotations

import operator
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

from segmentation.core.text import HAN, words_and_pairs

if TYPE_CHECKING:
    from segmentation.embed.base import Encoder

NOISE = -1


# --------------------------------------------------------------------------- term counts


@dataclass(frozen=True, eq=False)
class TermCounts:
    """Keyword candidates counted once per comment, so re-describing after a new k never re-tokenises.

    Attributes
    ----------
    counts : sparse matrix of shape (n_comments, n_terms)
        How often each term occurs in each comment.
    vocabulary : ndarray of shape (n_terms,)
        The terms: the words, then the pairs of adjacent words (:func:`term_counts`), each sorted.
    """

    counts: sparse.csr_matrix
    vocabulary: np.ndarray


def term_counts(texts: Sequence[str] | np.ndarray) -> TermCounts:
    """Tokenise every comment once into a comment × term count matrix of words and adjacent word pairs.

    Words and pairs come from :func:`segmentation.core.text.words_and_pairs`; a pair of adjacent words is kept
    only when it occurs in at least two comments: a pair seen once cannot describe a segment, and on long texts such
    pairs would make up most of the vocabulary.
    """
    split = [words_and_pairs(str(t)) for t in texts]
    parts = []
    for position, min_df in ((0, 1), (1, 2)):
        vectorizer = CountVectorizer(analyzer=operator.itemgetter(position), min_df=min_df)
        try:
            matrix = vectorizer.fit_transform(split)
        except ValueError:  # no candidate at all (or no pair left after pruning)
            continue
        parts.append((sparse.csr_matrix(matrix), vectorizer.get_feature_names_out()))
    if not parts:
        return TermCounts(sparse.csr_matrix((len(split), 0)), np.array([], dtype=object))
    # Words have no space and pairs one: the two vocabularies never overlap.
    return TermCounts(
        sparse.hstack([m for m, _ in parts], format="csr"), np.concatenate([v for _, v in parts]).astype(object)
    )


# --------------------------------------------------------------------------- distinctive c-TF-IDF


def distinctive_ctfidf(
    terms: TermCounts, comment_labels: np.ndarray, segments: Sequence[int]
) -> sparse.csr_matrix:
    """Score every term in every segment by c-TF-IDF times the term's concentration in the segment.

    Parameters
    ----------
    terms : TermCounts
        Term counts per comment.
    comment_labels : ndarray of shape (n_comments,)
        Segment of each comment's user; every value is one of ``segments``.
    segments : sequence of int
        The segments, in the order of the returned rows.

    Returns
    -------
    sparse matrix of shape (len(segments), n_terms)
        ``tf * log(1 + A / f_t) * tf / sum_over_segments(tf)`` where ``tf`` is the term's frequency in the
        segment over the segment's number of terms, ``A`` the mean number of terms per segment and
        ``f_t`` the term's count over all segments.
    """
    ids = np.asarray(segments)
    sorter = np.argsort(ids)
    rows = sorter[np.searchsorted(ids, comment_labels, sorter=sorter)]
    membership = sparse.csr_matrix(
        (np.ones(len(rows)), (rows, np.arange(len(rows)))), shape=(len(ids), len(comment_labels))
    )
    counts = sparse.csr_matrix(membership @ terms.counts.astype(np.float64))
    words_per_class = np.asarray(counts.sum(axis=1)).ravel()
    term_frequency = np.maximum(np.asarray(counts.sum(axis=0)).ravel(), 1.0)
    idf = np.log(1.0 + words_per_class.mean() / term_frequency)
    tf = sparse.csr_matrix(sparse.diags(1.0 / np.maximum(words_per_class, 1.0)) @ counts)
    spread = np.maximum(np.asarray(tf.sum(axis=0)).ravel(), 1e-300)
    concentration = sparse.csr_matrix(tf @ sparse.diags(1.0 / spread))
    return sparse.csr_matrix(tf.multiply(concentration) @ sparse.diags(idf))


NEAR_UNIFORM = 0.15
"""A term is spread evenly when its densest segment holds at most this far of the way from an even share
(``1/k``) to all of it (1): 0.15 is about twice the even share at k=8. Chosen on the recipe reviews (8
segments, seeds 0–2): it catches "make", "time", "used", "little", "like", "did", "try", "think" (densest
segment 1.5–1.9 times the even share) and keeps "thank", "oven", "zucchini", "family" (2.1 and above)."""


def evenly_spread(terms: TermCounts, comment_labels: np.ndarray, segments: Sequence[int],
                  threshold: float = NEAR_UNIFORM) -> np.ndarray:
    """Which terms every segment uses about alike: the data's own filler, never what sets a segment apart.

    Parameters
    ----------
    terms : TermCounts
    comment_labels : ndarray of shape (n_comments,)
        Segment of each comment's user; every value is one of ``segments``. Noise comments are left out.
    segments : sequence of int
    threshold : float
        See :data:`NEAR_UNIFORM`.

    Returns
    -------
    ndarray of bool, shape (n_terms,)
        True where the term's densest segment (frequencies normalised by the segment's length) holds at
        most ``threshold`` of the way from the even share ``1/k`` to all of it. All False with fewer than two
        segments.
    """
    ids = [s for s in segments if s != NOISE]
    kept = np.isin(comment_labels, ids)
    if len(ids) < 2 or not kept.any():
        return np.zeros(len(terms.vocabulary), dtype=bool)
    labels = np.asarray(comment_labels)[kept]
    rows = np.searchsorted(np.sort(ids), labels)
    membership = sparse.csr_matrix((np.ones(len(rows)), (rows, np.arange(len(rows)))), shape=(len(ids), len(rows)))
    counts = sparse.csr_matrix(membership @ terms.counts[np.flatnonzero(kept)].astype(np.float64))
    tf = sparse.csr_matrix(sparse.diags(1.0 / np.maximum(np.asarray(counts.sum(axis=1)).ravel(), 1.0)) @ counts)
    total = np.asarray(tf.sum(axis=0)).ravel()
    densest = np.asarray(tf.max(axis=0).todense()).ravel() / np.maximum(total, 1e-300)
    even = 1.0 / len(ids)
    return (total > 0) & ((densest - even) / (1.0 - even) <= threshold)


def top_terms(scores: sparse.csr_matrix, vocabulary: np.ndarray, row: int, n: int) -> list[str]:
    """The ``n`` best-scored terms of one row, best first.

    On equal scores the longer term comes first (a pair that always occurs together says more than
    either word), then the alphabet decides, so the order never depends on hashing.
    """
    start, end = scores.indptr[row], scores.indptr[row + 1]
    columns, values = scores.indices[start:end], np.round(scores.data[start:end], 12)
    if n < len(values):  # only the n best and their ties need sorting (long texts: 100k+ terms a row)
        threshold = np.partition(values, len(values) - n)[len(values) - n]
        columns, values = columns[values >= threshold], values[values >= threshold]
    positive = values > 0
    terms = [str(t) for t in vocabulary[columns[positive]]]
    best = sorted(zip(-values[positive], [-len(t) for t in terms], terms, strict=True))[:n]
    return [term for *_, term in best]


# --------------------------------------------------------------------------- filler

# Words that read as filler in a name though they pass as keywords: praise, hedges and the verbs of every
# review. Per language, as a word is checked against the list of its own script (Chinese has no spaces, so
# its words come whole from jieba). The data's own filler is found apart (:func:`evenly_spread`).
_ENGLISH_NAME_FILLER = """
like liked likes good great nice fine little use used uses using work works worked working make made makes
making did does done try tried tries trying think thought sure said say says definitely absolutely totally
actually probably maybe want wanted need needed know knew better well new old way thing things time times day days
"""
_CHINESE_NAME_FILLER = """
一种 一款 一个 不错 很好 挺好 还好 还行 好用 喜欢 推荐 满意 觉得 感觉 东西 真的 非常 特别 比较 使用 用了 购买 收到 买了
下次 继续 时间 问题
"""
NAME_STOP_WORDS = {"en": frozenset(_ENGLISH_NAME_FILLER.split()), "zh": frozenset(_CHINESE_NAME_FILLER.split())}
"""Per language, the words a suggested name leaves out (see :func:`is_filler`)."""
# A Latin word shorter than this says nothing in a name without its context ("sm", "xl", "ok").
MIN_NAME_WORD = 3
_HAN_WORD = re.compile(f"[{HAN}]")


def is_filler(keyword: str) -> bool:
    """Whether a keyword (a word or a pair) holds a word that makes a poor name: one of its language's
    :data:`NAME_STOP_WORDS`, or a Latin word shorter than :data:`MIN_NAME_WORD` letters."""
    for word in keyword.casefold().split():
        if _HAN_WORD.search(word):
            if word in NAME_STOP_WORDS["zh"]:
                return True
        elif word in NAME_STOP_WORDS["en"] or (word.isascii() and len(word) < MIN_NAME_WORD):
            return True
    return False


def name_repeats(word: str, earlier: str) -> bool:
    """Whether ``word`` says again what ``earlier`` said (:func:`repeats`), or for Chinese, stands inside it or
    holds it (马拉松 and 半程马拉松)."""
    a, b = word.casefold(), earlier.casefold()
    return repeats(a, b) or (not a.isascii() and not b.isascii() and (a in b or b in a))


# --------------------------------------------------------------------------- re-rankers


@dataclass(frozen=True)
class KeywordContext:
    """What a re-ranker may use besides the candidates.

    Attributes
    ----------
    centroids : dict of int to ndarray of shape (d,)
        Each segment's mean comment embedding in the encoder's space.
    n_keywords : int
        How many keywords the segment finally shows.
    """

    centroids: Mapping[int, np.ndarray]
    n_keywords: int


class KeywordReranker(Protocol):
    """One step of the representation: takes candidates per segment (best first), returns them re-ranked.

    A step may drop candidates; the describer keeps the first ``n_keywords`` after the last step.
    """

    def rerank(self, candidates: Mapping[int, list[str]], context: KeywordContext) -> dict[int, list[str]]: ...


class LexicalDiversity:
    """Drop a candidate that repeats a better one: a plural or other prefix form ("grinder", "grinders"),
    or a word already inside a chosen pair ("grinder" after "burr grinder") and the reverse."""

    def rerank(self, candidates: Mapping[int, list[str]], context: KeywordContext) -> dict[int, list[str]]:
        """Keep each segment's candidates in order, minus repeats; see :class:`KeywordReranker`."""
        return {segment: _without_repeats(words) for segment, words in candidates.items()}


def _without_repeats(words: Sequence[str]) -> list[str]:
    kept: list[str] = []
    for word in words:
        if not any(repeats(word, earlier) for earlier in kept):
            kept.append(word)
    return kept


def repeats(word: str, earlier: str) -> bool:
    """Whether ``word`` says again what ``earlier`` said: one is a prefix of the other ("grinder",
    "grinders"), both are one word's inflections ("loved", "loves"), or they share a word."""
    a, b = word.casefold(), earlier.casefold()
    if a.startswith(b) or b.startswith(a):
        return True
    return bool({_stem(w) for w in a.split()} & {_stem(w) for w in b.split()})


def _stem(word: str) -> str:
    # Enough to catch the inflections that crowd a keyword list; a real stemmer would merge too much
    # for display ("organic", "organ").
    for suffix in ("ing", "ed", "es", "s", "d"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


class CachedEncoder:
    """An encoder that remembers the vectors of the short texts (keywords) it has embedded.

    Re-describing after a new k asks again for mostly the same candidate words; keep one instance per
    encoder (e.g. beside the prepared data) and pass it as ``encoder`` to keep re-describing cheap.

    Parameters
    ----------
    encoder : Encoder
        A registered encoder whose vectors do not depend on the corpus (not ``tfidf``).
    max_entries : int, default 100_000
        Texts remembered; the least recently used are forgotten first.
    """

    def __init__(self, encoder: Encoder, max_entries: int = 100_000) -> None:
        self.encoder = encoder
        self.max_entries = max_entries
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def name(self) -> str:
        return self.encoder.name

    @property
    def corpus_dependent(self) -> bool:
        return bool(getattr(self.encoder, "corpus_dependent", False))

    def encode(self, texts: Sequence[str], progress=None) -> np.ndarray:
        """Vectors of ``texts`` (rows L2-normalised), encoding only those not seen before."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            vectors = np.asarray(self.encoder.encode(missing), dtype=np.float32)
            for text, vector in zip(missing, vectors, strict=True):
                self._vectors[text] = vector
        for text in texts:
            self._vectors.move_to_end(text)
        out = np.stack([self._vectors[t] for t in texts]) if len(texts) else np.zeros((0, 0), np.float32)
        while len(self._vectors) > self.max_entries:
            self._vectors.popitem(last=False)
        return out


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class OneSegmentPerKeyword:
    """Give each candidate to the one segment where it ranks best; the others keep it last, as a reserve.

    A keyword that two segments show tells neither apart. Ties in rank go to the lower segment id; the
    noise group neither claims nor gives up words. A segment shows another's word only when it has too
    few of its own (two segments with the same comments still get keywords).
    """

    def rerank(self, candidates: Mapping[int, list[str]], context: KeywordContext) -> dict[int, list[str]]:
        """See :class:`KeywordReranker`."""
        owner: dict[str, tuple[int, int]] = {}
        for segment, words in candidates.items():
            if segment == NOISE:
                continue
            for rank, word in enumerate(words):
                owner[word] = min(owner.get(word, (rank, segment)), (rank, segment))
        out = {}
        for segment, words in candidates.items():
            own = [w for w in words if segment == NOISE or owner[w][1] == segment]
            out[segment] = own + [w for w in words if w not in set(own)]
        return out


class _EmbeddingReranker:
    def __init__(self, encoder: Encoder | CachedEncoder, contrast: bool = False) -> None:
        self.encoder = encoder if isinstance(encoder, CachedEncoder) else CachedEncoder(encoder)
        self.contrast = contrast

    def _targets(self, context: KeywordContext) -> dict[int, np.ndarray]:
        if not self.contrast:
            return dict(context.centroids)
        mean = np.mean([c for s, c in context.centroids.items() if s != NOISE], axis=0)
        return {s: c - mean for s, c in context.centroids.items()}

    def _similarities(
        self, candidates: Mapping[int, list[str]], context: KeywordContext
    ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Per segment: its candidates' unit vectors and their cosine similarity to its centroid."""
        vocabulary = sorted({w for words in candidates.values() for w in words})
        vectors = dict(zip(vocabulary, _unit(self.encoder.encode(vocabulary)), strict=True)) if vocabulary else {}
        targets = self._targets(context)
        out = {}
        for segment, words in candidates.items():
            if not words or segment not in targets:
                continue
            word_vectors = np.stack([vectors[w] for w in words])
            out[segment] = (word_vectors, word_vectors @ _unit(targets[segment]))
        return out


class KeyBERTInspired(_EmbeddingReranker):
    """Re-rank the candidates by cosine similarity to the segment's centroid in the encoder's space.

    As BERTopic's ``KeyBERTInspired``, the distinctive c-TF-IDF terms are the candidates and the encoder
    judges which of them lie nearest the segment's comments. Two differences, each chosen on the real sets
    (``benchmarks/keywords.py``; held-out label fidelity at k=8, recipe / forum / newsgroup users):

    - ``contrast``: the target is the segment's centroid minus the mean of all segments' centroids, what
      sets the segment apart in the encoder's space, not what all segments share (plain similarity
      favoured words such as "say", "think", "question" in every forum segment);
    - ``fuse``: the order is the sum of the similarity rank and the c-TF-IDF rank, so that neither signal
      alone decides (similarity alone: fidelity 0.55 / 0.44 / 0.52; fused 0.51 / 0.59 / 0.52; BERTopic's
      plain similarity to the centroid 0.53 / 0.42 / 0.45).

    The centroid is the mean of all the segment's comment embeddings (already computed), not of a few
    representative documents embedded again.

    Parameters
    ----------
    encoder : Encoder or CachedEncoder
        The encoder that embedded the comments.
    contrast : bool, default True
        Compare with the segment's centroid minus the mean centroid (else with the centroid itself).
    fuse : bool, default True
        Order by similarity rank plus incoming rank (else by similarity alone).
    """

    def __init__(self, encoder: Encoder | CachedEncoder, contrast: bool = True, fuse: bool = True) -> None:
        super().__init__(encoder, contrast)
        self.fuse = fuse

    def rerank(self, candidates: Mapping[int, list[str]], context: KeywordContext) -> dict[int, list[str]]:
        """See :class:`KeywordReranker`."""
        out = dict(candidates)
        for segment, (_, similarity) in self._similarities(candidates, context).items():
            words = candidates[segment]
            score = np.argsort(np.argsort(-similarity, kind="stable"), kind="stable").astype(float)
            if self.fuse:
                score += np.arange(len(words))
            # Stable: equal scores keep the incoming (c-TF-IDF) order.
            out[segment] = [words[i] for i in np.argsort(score, kind="stable")]
        return out


class MaximalMarginalRelevance(_EmbeddingReranker):
    """Pick keywords that are relevant to the segment and unlike the keywords already picked.

    As BERTopic's ``MaximalMarginalRelevance``: each next keyword maximises
    ``(1 - diversity) * relevance - diversity * max sim(word, picked)``. The relevance is the incoming
    order (``1 - rank / n``: the steps before it decided what matters), or with ``by_similarity`` the
    similarity to the segment's (contrasted) centroid as in BERTopic.

    Parameters
    ----------
    encoder : Encoder or CachedEncoder
        The encoder that embedded the comments.
    diversity : float, default 0.3
        0 keeps the relevance order; 1 ranks by unlikeness alone.
    contrast : bool, default True
        As for :class:`KeyBERTInspired` (used with ``by_similarity``).
    by_similarity : bool, default False
        Relevance is the similarity to the target instead of the incoming order.
    """

    def __init__(
        self,
        encoder: Encoder | CachedEncoder,
        diversity: float = 0.3,
        contrast: bool = True,
        by_similarity: bool = False,
    ) -> None:
        super().__init__(encoder, contrast)
        self.by_similarity = by_similarity
        if not 0.0 <= diversity <= 1.0:
            raise ValueError(f"diversity must lie in [0, 1], not {diversity}")
        self.diversity = diversity

    def rerank(self, candidates: Mapping[int, list[str]], context: KeywordContext) -> dict[int, list[str]]:
        """See :class:`KeywordReranker`; returns ``context.n_keywords`` words per segment at most."""
        out = dict(candidates)
        for segment, (vectors, similarity) in self._similarities(candidates, context).items():
            words = candidates[segment]
            relevance = similarity if self.by_similarity else 1.0 - np.arange(len(words)) / len(words)
            chosen = [int(np.argmax(relevance))]
            left = [i for i in range(len(words)) if i != chosen[0]]
            while left and len(chosen) < context.n_keywords:
                redundancy = (vectors[left] @ vectors[chosen].T).max(axis=1)
                score = (1 - self.diversity) * relevance[left] - self.diversity * redundancy
                chosen.append(left.pop(int(np.argmax(score))))
            out[segment] = [words[i] for i in chosen]
        return out


def default_rerankers(encoder: Encoder | CachedEncoder | None) -> list[KeywordReranker]:
    """The re-rankers used when none are given.

    Lexical diversity, the encoder's re-ranking, one segment per keyword, then MMR. The encoder's steps
    run only when it embeds single words apart from a corpus (a corpus-fitted encoder such as ``tfidf``
    would be fitted on the words alone). One segment per keyword lifted distinctness on all 13,811 recipe
    reviewers at k=8 from 0.73 to 1.00 with label fidelity unchanged (0.402 → 0.404).
    """
    if encoder is None or getattr(encoder, "corpus_dependent", False):
        return [LexicalDiversity(), OneSegmentPerKeyword()]
    return [LexicalDiversity(), KeyBERTInspired(encoder), OneSegmentPerKeyword(), MaximalMarginalRelevance(encoder)]


__all__ = [
    "CachedEncoder",
    "KeyBERTInspired",
    "KeywordContext",
    "KeywordReranker",
    "LexicalDiversity",
    "MaximalMarginalRelevance",
    "OneSegmentPerKeyword",
    "TermCounts",
    "default_rerankers",
    "distinctive_ctfidf",
    "evenly_spread",
    "is_filler",
    "name_repeats",
    "term_counts",
]
