"""What each segment is about: keywords, representative comments, items, ratings and a suggested name.

Keywords come from :mod:`segmentation.describe.keywords`: distinctive c-TF-IDF candidates (words and adjacent word
pairs, Chinese cut into whole words), then re-rankers; with the run's encoder the candidates are ordered
by similarity to the segment's centroid and picked for diversity (MMR), as BERTopic's KeyBERTInspired and
MaximalMarginalRelevance do. The suggested name is built from the segment's most distinctive keywords, without
filler: a stop-word list per language and the data's own evenly spread words. Top items are the items that set
a segment apart (lift over their overall popularity), not its most reviewed ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import sparse

from segmentation.core.labels import MAX_NAME_LENGTH, NOISE, NOISE_NAME
from segmentation.describe.items import ItemLabels, describe_items
from segmentation.describe.keywords import (
    CachedEncoder,
    KeywordContext,
    KeywordReranker,
    TermCounts,
    default_rerankers,
    distinctive_ctfidf,
    evenly_spread,
    is_filler,
    name_repeats,
    term_counts,
    top_terms,
)

if TYPE_CHECKING:
    from segmentation.embed.base import Encoder
    from segmentation.embed.profiles import Profiles
    from segmentation.ingest.comments import Comments

NAME_SEPARATOR = " · "
MAX_COMMENT_LENGTH = 300
CANDIDATES_PER_KEYWORD = 3
"""c-TF-IDF candidates per keyword shown, for the re-rankers to choose from."""

MIN_ITEM_SUPPORT = 5
"""An item sets a segment apart only when at least this many of the segment's comments are about it, so that
one or two keen users in a small segment do not make a rarely reviewed item look special. On the recipe
reviews (100 recipes, 8 segments of 570+ users, seeds 0–2) it never binds: every item shown had 8 or more."""

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
        Distinctive words and word pairs, best first (see :mod:`segmentation.describe.keywords`).
    representative_comments : list of str
        Comments closest to the segment's centroid, deduplicated, at most 300 characters each.
    top_items : list of str or None
        The items that set the segment apart (:func:`distinctive_items`: lift over their overall popularity,
        at least :data:`MIN_ITEM_SUPPORT` of its comments), as people read them
        (:meth:`~segmentation.describe.items.ItemLabels.label`: the name where the data names the item, else its
        id and the words that set its comments apart); None when the data has no item column.
    mean_rating : float or None
        Mean rating of the segment's comments; None when there are no ratings.
    top_item_ids : list of str or None
        The ids of ``top_items``, in the same order (for exports and joins).
    """

    id: int
    name: str
    size: int
    share: float
    keywords: list[str]
    representative_comments: list[str]
    top_items: list[str] | None = None
    mean_rating: float | None = None
    top_item_ids: list[str] | None = None

    def to_dict(self) -> dict:
        """Return a JSON-ready dict (plain Python types only)."""
        return asdict(self)


def suggest_name(keywords: Sequence[str]) -> str:
    """Build a short readable name from keywords, e.g. ``"Espresso · burr grinder · crema"``.

    Parameters
    ----------
    keywords : sequence of str
        Keywords, most distinctive first (the data's evenly spread words already left out).

    Returns
    -------
    str
        Up to three keywords joined by ``" · "``, first letter capitalised, at most 80 characters.
        Skipped: a keyword holding a name stop word of its language (``keywords.NAME_STOP_WORDS``) or a Latin
        word shorter than ``keywords.MIN_NAME_WORD`` letters, and a keyword that repeats one already chosen (a
        prefix of it, a shared word, or for Chinese one inside the other, like 马拉松 and 半程马拉松). Empty
        when no keyword is left.
    """
    chosen: list[str] = []
    for keyword in keywords:
        word = keyword.strip()
        if word and not is_filler(word) and not any(name_repeats(word, earlier) for earlier in chosen):
            chosen.append(word)
        if len(chosen) == 3:
            break
    if not chosen:
        return ""
    name = NAME_SEPARATOR.join(chosen)
    return (name[:1].upper() + name[1:])[:MAX_NAME_LENGTH].rstrip(" ·")


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
    encoder: Encoder | CachedEncoder | None = None,
    rerankers: Sequence[KeywordReranker] | None = None,
    item_labels: ItemLabels | None = None,
) -> list[SegmentDescription]:
    """Describe every segment of a clustering of users.

    Parameters
    ----------
    comments : Comments
        The loaded comments; row ``i`` of ``comments.frame`` aligns with ``embeddings[i]``. An
        ``item_name`` column, where present, names the items.
    profiles : Profiles
        The user profiles the labels were computed on (gives each comment's user).
    labels : array-like of shape (n_users,)
        Segment per user, aligned with ``profiles.user_ids``; ``-1`` is noise.
    embeddings : ndarray of shape (n_comments, d)
        Comment embeddings (rows L2-normalised), used to pick representative comments and, with
        ``encoder``, to re-rank keywords by similarity to each segment's centroid.
    n_keywords, n_representative, n_items : int
        How many keywords, representative comments and top items to report per segment.
    terms : TermCounts, optional
        ``term_counts`` of the comment texts, computed once per data set and re-used across runs.
    encoder : Encoder or CachedEncoder, optional
        The encoder that produced ``embeddings``; it embeds candidate keywords for the re-rankers. Pass
        a :class:`~segmentation.describe.keywords.CachedEncoder` kept across runs so that re-describing after a
        new k embeds only new words. Without one (or with a corpus-fitted encoder such as ``tfidf``)
        keywords are the distinctive c-TF-IDF terms, minus repeats.
    rerankers : sequence of KeywordReranker, optional
        The steps applied to the candidates; default :func:`~segmentation.describe.keywords.default_rerankers`.
    item_labels : ItemLabels, optional
        How the items show (:func:`~segmentation.describe.items.describe_items` of these comments), computed once
        per data set and re-used across runs; built from ``terms`` when not given.

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
        item_names=frame["item_name"].to_numpy() if "item_name" in frame.columns else None,
        ratings=frame["rating"].to_numpy(dtype=float) if "rating" in frame.columns else None,
        n_keywords=n_keywords,
        n_representative=n_representative,
        n_items=n_items,
        terms=terms,
        encoder=encoder,
        rerankers=rerankers,
        item_labels=item_labels,
    )


def describe_labelled_comments(
    texts: Sequence[str] | np.ndarray,
    comment_user: np.ndarray,
    user_labels: np.ndarray,
    embeddings: np.ndarray,
    *,
    items: Sequence[str] | np.ndarray | None = None,
    item_names: Sequence[str] | np.ndarray | None = None,
    ratings: Sequence[float] | np.ndarray | None = None,
    n_keywords: int = 8,
    n_representative: int = 3,
    n_items: int = 5,
    terms: TermCounts | None = None,
    encoder: Encoder | CachedEncoder | None = None,
    rerankers: Sequence[KeywordReranker] | None = None,
    item_labels: ItemLabels | None = None,
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
    item_names : sequence of str, optional
        Item name per comment (needs ``items``); an item shows under its most frequent name (read only when
        ``item_labels`` is not given).
    ratings : sequence of float, optional
        Rating per comment (NaN ignored).
    n_keywords, n_representative, n_items : int
        How many keywords, representative comments and top items to report per segment.
    terms : TermCounts, optional
        ``term_counts(texts)`` computed earlier; tokenised here when not given.
    encoder, rerankers, item_labels
        As for :func:`describe_segments`.

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
    if item_names is not None and items is None:
        raise ValueError("item names need item ids (items) beside them")
    items = None if items is None else np.asarray(items, dtype=object)
    terms = term_counts(texts) if terms is None else terms
    if items is not None and item_labels is None:
        item_labels = describe_items(items, terms, item_names)
    ratings = None if ratings is None else np.asarray(ratings, dtype=float)
    comment_labels = user_labels[comment_user]
    segment_ids, user_counts = np.unique(user_labels, return_counts=True)
    n_users = len(user_labels)
    order = sorted(segment_ids.tolist(), key=lambda s: (s == NOISE, s))
    rows_of = {segment: np.flatnonzero(comment_labels == segment) for segment in order}
    keywords, for_name = _keywords(
        terms,
        comment_labels,
        order,
        KeywordContext({s: embeddings[r].mean(axis=0) for s, r in rows_of.items() if len(r)}, n_keywords),
        default_rerankers(encoder) if rerankers is None else rerankers,
    )
    sizes = dict(zip(segment_ids.tolist(), user_counts.tolist(), strict=True))

    descriptions = []
    used_names: set[str] = set()
    for segment in order:
        rows = rows_of[segment]
        if segment == NOISE:
            name = NOISE_NAME
        else:
            name = unique_name(suggest_name(for_name[segment]) or f"Segment {segment}", used_names)
        item_ids = None if items is None else distinctive_items(items, rows, n_items)
        descriptions.append(
            SegmentDescription(
                id=int(segment),
                name=name,
                size=int(sizes[segment]),
                share=sizes[segment] / n_users,
                keywords=keywords[segment],
                representative_comments=_representative(texts, embeddings, rows, n_representative),
                top_items=None if item_ids is None else [item_labels.label(i) for i in item_ids],
                mean_rating=None if ratings is None else _mean(ratings[rows]),
                top_item_ids=item_ids,
            )
        )
    return descriptions


def keywords_from_counts(
    counts: sparse.spmatrix, vocabulary: np.ndarray, segments: Sequence[int], n_keywords: int = 8
) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Keywords per segment from term counts already summed per segment (one row each, in ``segments``'
    order), as a distributed engine aggregates them; the re-rankers that need no encoder run.

    Returns the keywords as shown and the words a name is made from (most distinctive first, evenly spread
    words left out).
    """
    segments = list(segments)
    context = KeywordContext({}, n_keywords)
    return _keywords(TermCounts(sparse.csr_matrix(counts), np.asarray(vocabulary)), np.asarray(segments), segments,
                     context, default_rerankers(None))


def _keywords(
    terms: TermCounts,
    comment_labels: np.ndarray,
    segments: list[int],
    context: KeywordContext,
    rerankers: Sequence[KeywordReranker],
) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Keywords per segment as shown, and the words a name is made from: the keywords most distinctive first
    (one segment's words that no other segment shows before shared ones, each group by score), then the
    segment's other candidates, leaving out the terms every segment uses alike (:func:`evenly_spread`)."""
    if not len(terms.vocabulary):
        return {s: [] for s in segments}, {s: [] for s in segments}
    scores = distinctive_ctfidf(terms, comment_labels, segments)
    spread = set(terms.vocabulary[evenly_spread(terms, comment_labels, segments)])
    n_candidates = CANDIDATES_PER_KEYWORD * context.n_keywords
    candidates = {s: top_terms(scores, terms.vocabulary, row, n_candidates) for row, s in enumerate(segments)}
    rank = {s: {word: i for i, word in enumerate(words)} for s, words in candidates.items()}
    for step in rerankers:
        candidates = step.rerank(candidates, context)
    keywords = {s: list(words[: context.n_keywords]) for s, words in candidates.items()}
    for_name = {}
    for s, words in keywords.items():
        elsewhere = {w for other, ws in keywords.items() if other not in (s, NOISE) for w in ws}
        ordered = sorted(words, key=lambda w, s=s: (w in elsewhere, rank[s].get(w, len(rank[s]))))
        ordered += [w for w in candidates[s][context.n_keywords:] if w not in elsewhere]
        # A pair holding an evenly spread word ("tasty espresso") names the segment no better than the word.
        for_name[s] = [w for w in ordered if not spread.intersection(w.split())]
    return keywords, for_name


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
            chosen.append(shorten(text))
            if len(chosen) == n:
                break
    return chosen


def shorten(text: str) -> str:
    """A comment cut to 300 characters at a word boundary, with an ellipsis."""
    if len(text) <= MAX_COMMENT_LENGTH:
        return text
    cut = text[: MAX_COMMENT_LENGTH - 1]
    # Cut at a word boundary when one is near, so the excerpt does not end mid-word.
    space = cut.rfind(" ")
    if space >= MAX_COMMENT_LENGTH * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


def distinctive_items(items: np.ndarray, rows: np.ndarray, n: int, min_support: int = MIN_ITEM_SUPPORT) -> list[str]:
    """The items that set a group of comments apart: most over-represented first, not most reviewed.

    Parameters
    ----------
    items : ndarray of shape (n_comments,)
        Item id per comment (missing ones ignored).
    rows : ndarray of int
        The group's comments.
    n : int
    min_support : int
        Comments of the group an item needs.

    Returns
    -------
    list of str
        Up to ``n`` item ids by lift, the item's share of the group's comments over its share of all
        comments, highest first (then by support, then by id); only items with lift above 1 and at least
        ``min_support`` of the group's comments. The most reviewed items of a data set top every segment's
        plain count, so they would tell none apart.
    """
    every = pd.Series(items, dtype=object).dropna().astype(str)
    mine = pd.Series(items[rows], dtype=object).dropna().astype(str)
    if mine.empty:
        return []
    support = mine.value_counts()
    overall = every.value_counts().reindex(support.index)
    lift = (support / len(mine)) / (overall / len(every))
    table = pd.DataFrame({"item": support.index, "support": support.to_numpy(), "lift": lift.to_numpy()})
    table = table[(table["support"] >= min_support) & (table["lift"] > 1.0 + 1e-9)]
    table = table.sort_values(["lift", "support", "item"], ascending=[False, False, True], kind="stable")
    return table["item"].head(n).tolist()


def _mean(values: np.ndarray) -> float | None:
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else None


def unique_name(name: str, used: set[str]) -> str:
    """``name``, or ``name (2)``, ``(3)``… when a name already used (any case) has it."""
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
    "SegmentDescription",
    "TermCounts",
    "describe_labelled_comments",
    "describe_segments",
    "distinctive_items",
    "is_filler",
    "suggest_name",
    "term_counts",
]
