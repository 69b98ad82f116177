"""What each segment is about: c-TF-IDF keywords, representative comments, items, ratings and a name.

Keywords follow BERTopic's class-based TF-IDF: all comments of a segment form one document, term
frequencies are normalised per segment, and a term is weighted by ``log(1 + A / f_t)`` where ``A`` is the
average number of words per segment and ``f_t`` the term's frequency over all segments. A word that is
common everywhere ("coffee" in a coffee shop's reviews) therefore sinks, and what sets a segment apart rises.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

if TYPE_CHECKING:
    from segmentation.comments import Comments
    from segmentation.profiles import Profiles

NOISE = -1
NOISE_NAME = "Noise / unassigned"
NAME_SEPARATOR = " · "
MAX_NAME_LENGTH = 80
MAX_COMMENT_LENGTH = 300

# Review filler: frequent in every segment of real reviews, so never what tells one segment from another.
_REVIEW_FILLER = """
really just also would could should one get got gets getting go going goes went im ive id dont didnt doesnt
isnt wasnt cant wont thats its don didn doesn isn wasn aren won ll ve re lot lots bit even much still ever
way thing things stuff quite pretty will can may might must us oh yes yeah ok okay etc
"""
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS | set(_REVIEW_FILLER.split()))
# Particles, pronouns and copulas: a bigram that contains one is almost never a topic word.
CHINESE_STOP_CHARS = frozenset(
    "的了是我也很都就在和有不这那个吗呢吧啊呀哦嗯你他她它们着与把被给还又得地么之其"
)

_CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_LETTER_RUN = re.compile(r"[^\W\d_]+")  # letters only: digits and underscores split words and vanish
_CJK_OR_OTHER = re.compile(f"[{_CJK_RANGES}]+|[^{_CJK_RANGES}]+")
_CJK_CHAR = re.compile(f"[{_CJK_RANGES}]")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class SegmentDescription:
    """What one segment is about.

    Attributes
    ----------
    id : int
        Segment label; ``-1`` is the noise / unassigned group.
    name : str
        Suggested name (unique among the described segments).
    size : int
        Number of users in the segment.
    share : float
        ``size`` over all users, noise included.
    keywords : list of str
        Most distinctive terms by c-TF-IDF, best first.
    representative_comments : list of str
        Comments closest to the segment's centroid, deduplicated, at most 300 characters each.
    top_items : list of str or None
        Most commented item ids, most frequent first; None when the data has no item column.
    mean_rating : float or None
        Mean rating of the segment's comments; None when there are no ratings.
    """

    id: int
    name: str
    size: int
    share: float
    keywords: list[str]
    representative_comments: list[str]
    top_items: list[str] | None = None
    mean_rating: float | None = None

    def to_dict(self) -> dict:
        """Return a JSON-ready dict (plain Python types only)."""
        return asdict(self)


def tokenize(text: str) -> list[str]:
    """Split a comment into keyword candidates.

    Parameters
    ----------
    text : str
        Any comment; English, Chinese/Japanese and mixed text are supported.

    Returns
    -------
    list of str
        Lowercase words of at least two letters that are not stop words (numbers dropped), and for
        each run of CJK characters its character bigrams that contain no Chinese stop character
        (a one-character run is kept as itself unless it is a stop character).
    """
    tokens: list[str] = []
    for run in _LETTER_RUN.findall(text.lower()):
        if run.isascii():
            if len(run) > 1 and run not in STOP_WORDS:
                tokens.append(run)
            continue
        for piece in _CJK_OR_OTHER.findall(run):
            if _CJK_CHAR.match(piece):
                tokens.extend(_cjk_tokens(piece))
            elif len(piece) > 1 and piece not in STOP_WORDS:
                tokens.append(piece)
    return tokens


def _cjk_tokens(run: str) -> list[str]:
    if len(run) == 1:
        return [] if run in CHINESE_STOP_CHARS else [run]
    stop = CHINESE_STOP_CHARS
    return [run[i : i + 2] for i in range(len(run) - 1) if run[i] not in stop and run[i + 1] not in stop]


def suggest_name(keywords: Sequence[str]) -> str:
    """Build a short readable name from the top keywords, e.g. ``"Espresso · grinder · crema"``.

    Parameters
    ----------
    keywords : sequence of str
        Keywords, best first (as in ``SegmentDescription.keywords``).

    Returns
    -------
    str
        Up to three keywords joined by ``" · "``, first letter capitalised, at most 80 characters.
        A keyword that repeats one already chosen (a prefix of it, or for CJK a bigram sharing a
        character, like 咖啡 and 啡豆) is skipped. Empty when there are no keywords.
    """
    chosen: list[str] = []
    for keyword in keywords:
        word = keyword.strip()
        if word and not any(_repeats(word, earlier) for earlier in chosen):
            chosen.append(word)
        if len(chosen) == 3:
            break
    if not chosen:
        return ""
    name = NAME_SEPARATOR.join(chosen)
    return (name[:1].upper() + name[1:])[:MAX_NAME_LENGTH].rstrip(" ·")


def _repeats(word: str, earlier: str) -> bool:
    a, b = word.casefold(), earlier.casefold()
    if a.startswith(b) or b.startswith(a):
        return True
    return bool(_CJK_CHAR.match(a) and _CJK_CHAR.match(b) and set(a) & set(b))


def describe_segments(
    comments: Comments,
    profiles: Profiles,
    labels: Sequence[int] | np.ndarray,
    embeddings: np.ndarray,
    *,
    n_keywords: int = 8,
    n_representative: int = 3,
    n_items: int = 5,
    terms: TermCounts | None = None,
) -> list[SegmentDescription]:
    """Describe every segment of a clustering of users.

    Parameters
    ----------
    comments : Comments
        The loaded comments; row ``i`` of ``comments.frame`` aligns with ``embeddings[i]``.
    profiles : Profiles
        The user profiles the labels were computed on (gives each comment's user).
    labels : array-like of shape (n_users,)
        Segment per user, aligned with ``profiles.user_ids``; ``-1`` is noise.
    embeddings : ndarray of shape (n_comments, d)
        Comment embeddings (rows L2-normalised), used to pick representative comments.
    n_keywords, n_representative, n_items : int
        How many keywords, representative comments and top items to report per segment.
    terms : TermCounts, optional
        ``term_counts`` of the comment texts, computed once per data set and re-used across runs.

    Returns
    -------
    list of SegmentDescription
        One per segment present in ``labels``, by ascending id, the noise group (if any) last.
    """
    frame = comments.frame
    return describe_labelled_comments(
        frame["text"].to_numpy(),
        np.asarray(profiles.comment_user),
        np.asarray(labels),
        embeddings,
        items=frame["item_id"].to_numpy() if "item_id" in frame.columns else None,
        ratings=frame["rating"].to_numpy(dtype=float) if "rating" in frame.columns else None,
        n_keywords=n_keywords,
        n_representative=n_representative,
        n_items=n_items,
        terms=terms,
    )


@dataclass(frozen=True, eq=False)
class TermCounts:
    """Keyword candidates counted once per comment, so re-describing after a new k never re-tokenises.

    Attributes
    ----------
    counts : sparse matrix of shape (n_comments, n_terms)
        How often each term occurs in each comment.
    vocabulary : ndarray of shape (n_terms,)
        The terms, as :func:`tokenize` produced them.
    """

    counts: sparse.csr_matrix
    vocabulary: np.ndarray


def term_counts(texts: Sequence[str] | np.ndarray) -> TermCounts:
    """Tokenise every comment once (:func:`tokenize`) into a comment × term count matrix."""
    vectorizer = CountVectorizer(tokenizer=tokenize, lowercase=False, token_pattern=None)
    try:
        counts = vectorizer.fit_transform([str(t) for t in texts])
    except ValueError:  # not a single keyword candidate in the whole corpus
        return TermCounts(sparse.csr_matrix((len(texts), 0)), np.array([], dtype=object))
    return TermCounts(sparse.csr_matrix(counts), vectorizer.get_feature_names_out())


def describe_labelled_comments(
    texts: Sequence[str] | np.ndarray,
    comment_user: np.ndarray,
    user_labels: np.ndarray,
    embeddings: np.ndarray,
    *,
    items: Sequence[str] | np.ndarray | None = None,
    ratings: Sequence[float] | np.ndarray | None = None,
    n_keywords: int = 8,
    n_representative: int = 3,
    n_items: int = 5,
    terms: TermCounts | None = None,
) -> list[SegmentDescription]:
    """Describe segments from plain arrays (what ``describe_segments`` does after unpacking its inputs).

    Parameters
    ----------
    texts : sequence of str, length n_comments
        Comment texts.
    comment_user : ndarray of shape (n_comments,)
        Index of each comment's user into ``user_labels``.
    user_labels : ndarray of shape (n_users,)
        Segment per user; ``-1`` is noise.
    embeddings : ndarray of shape (n_comments, d)
        Comment embeddings.
    items : sequence of str, optional
        Item id per comment.
    ratings : sequence of float, optional
        Rating per comment (NaN ignored).
    n_keywords, n_representative, n_items : int
        How many keywords, representative comments and top items to report per segment.
    terms : TermCounts, optional
        ``term_counts(texts)`` computed earlier; tokenised here when not given.

    Returns
    -------
    list of SegmentDescription
        One per segment present in ``user_labels``, by ascending id, the noise group (if any) last.
    """
    texts = np.asarray(texts, dtype=object)
    user_labels = np.asarray(user_labels).astype(np.int64)
    comment_user = np.asarray(comment_user).astype(np.int64)
    embeddings = np.asarray(embeddings, dtype=np.float32)
    if len(texts) != len(comment_user) or len(texts) != len(embeddings):
        raise ValueError(
            f"{len(texts)} comments, {len(comment_user)} comment users and {len(embeddings)} embeddings"
            " must align"
        )
    items = None if items is None else np.asarray(items, dtype=object)
    ratings = None if ratings is None else np.asarray(ratings, dtype=float)
    comment_labels = user_labels[comment_user]
    segment_ids, user_counts = np.unique(user_labels, return_counts=True)
    n_users = len(user_labels)
    order = sorted(segment_ids.tolist(), key=lambda s: (s == NOISE, s))
    keywords = _ctfidf_keywords(term_counts(texts) if terms is None else terms, comment_labels, order, n_keywords)
    sizes = dict(zip(segment_ids.tolist(), user_counts.tolist(), strict=True))

    descriptions = []
    used_names: set[str] = set()
    for segment in order:
        rows = np.flatnonzero(comment_labels == segment)
        if segment == NOISE:
            name = NOISE_NAME
        else:
            name = _unique(suggest_name(keywords[segment]) or f"Segment {segment}", used_names)
        descriptions.append(
            SegmentDescription(
                id=int(segment),
                name=name,
                size=int(sizes[segment]),
                share=sizes[segment] / n_users,
                keywords=keywords[segment],
                representative_comments=_representative(texts, embeddings, rows, n_representative),
                top_items=None if items is None else _top_items(items[rows], n_items),
                mean_rating=None if ratings is None else _mean(ratings[rows]),
            )
        )
    return descriptions


def _ctfidf_keywords(
    terms: TermCounts, comment_labels: np.ndarray, segments: list[int], n_keywords: int
) -> dict[int, list[str]]:
    """Class-based TF-IDF: one document per segment (its comments' counts summed), BERTopic's weighting."""
    if not len(terms.vocabulary):
        return {segment: [] for segment in segments}
    # Every comment's label is one of ``segments``: its row is that segment's position in the list.
    ids = np.asarray(segments)
    sorter = np.argsort(ids)
    rows = sorter[np.searchsorted(ids, comment_labels, sorter=sorter)]
    membership = sparse.csr_matrix(
        (np.ones(len(rows)), (rows, np.arange(len(rows)))), shape=(len(segments), len(comment_labels))
    )
    counts = sparse.csr_matrix(membership @ terms.counts.astype(np.float64))
    words_per_class = np.asarray(counts.sum(axis=1)).ravel()
    term_frequency = np.asarray(counts.sum(axis=0)).ravel()
    idf = np.log(1.0 + words_per_class.mean() / term_frequency)
    tf = sparse.diags(1.0 / np.maximum(words_per_class, 1.0)) @ counts
    scores = sparse.csr_matrix(tf @ sparse.diags(idf))
    vocabulary = terms.vocabulary

    keywords: dict[int, list[str]] = {}
    for row, segment in enumerate(segments):
        start, end = scores.indptr[row], scores.indptr[row + 1]
        columns, values = scores.indices[start:end], scores.data[start:end]
        # Ties (common in small segments) break alphabetically so the result never depends on hashing.
        best = sorted(zip(-values, vocabulary[columns], strict=True))[:n_keywords]
        keywords[segment] = [str(word) for _, word in best]
    return keywords


def _representative(texts: np.ndarray, embeddings: np.ndarray, rows: np.ndarray, n: int) -> list[str]:
    if n <= 0 or len(rows) == 0:
        return []
    vectors = embeddings[rows]
    centroid = vectors.mean(axis=0)
    norms = np.linalg.norm(vectors, axis=1) * max(float(np.linalg.norm(centroid)), 1e-12)
    similarity = vectors @ centroid / np.maximum(norms, 1e-12)
    # Ties break by row so the same data always shows the same comments.
    ranked = rows[np.lexsort((rows, -similarity))]
    chosen: list[str] = []
    seen: set[str] = set()
    for row in ranked:
        text = _WHITESPACE.sub(" ", str(texts[row])).strip()
        key = text.casefold()
        if text and key not in seen:
            seen.add(key)
            chosen.append(_shorten(text))
            if len(chosen) == n:
                break
    return chosen


def _shorten(text: str) -> str:
    if len(text) <= MAX_COMMENT_LENGTH:
        return text
    cut = text[: MAX_COMMENT_LENGTH - 1]
    # Cut at a word boundary when one is near, so the excerpt does not end mid-word.
    space = cut.rfind(" ")
    if space >= MAX_COMMENT_LENGTH * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _top_items(items: np.ndarray, n: int) -> list[str]:
    present = pd.Series(items, dtype=object).dropna().astype(str)
    counts = present.value_counts()
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    return [item for item, _ in ranked[:n]]


def _mean(values: np.ndarray) -> float | None:
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else None


def _unique(name: str, used: set[str]) -> str:
    candidate, number = name, 2
    while candidate.casefold() in used:
        suffix = f" ({number})"
        candidate = name[: MAX_NAME_LENGTH - len(suffix)] + suffix
        number += 1
    used.add(candidate.casefold())
    return candidate


__all__ = [
    "NOISE",
    "NOISE_NAME",
    "STOP_WORDS",
    "SegmentDescription",
    "describe_labelled_comments",
    "describe_segments",
    "suggest_name",
    "tokenize",
]
