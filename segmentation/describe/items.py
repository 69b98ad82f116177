"""What each item is, in words, wherever items show: a segment's top items and a recommendation's reasons.

An item shows by its name where the data names it. Where it has none, the bare id says nothing to a marketer, so
the item shows its id and the few words that set its comments apart: ``item 4521 (chocolate, moist, frosting)``.
The words come from the machinery the segment keywords use (:mod:`segmentation.describe.keywords`): each item's
comments form one class of the distinctive c-TF-IDF, the terms every item's comments use alike (the data's own
filler) are left out, and so are the words a segment name leaves out and a word that repeats a better one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from segmentation.describe.keywords import (
    TermCounts,
    distinctive_ctfidf,
    evenly_spread,
    is_filler,
    name_repeats,
    top_terms,
)

ITEM_WORDS = 3
"""Words that describe an item without a name: enough to tell a chocolate cake from a lemon one, short enough for a
reason that cites three items."""
MIN_WORD_SUPPORT = 2
"""Comments of an item a term must appear in to describe it (fewer where the item has fewer comments). On the recipe
reviews (``benchmarks/item_words.py``) at 1, 28 of 300 words came from a single review (asides such as a reviewer's
name), at 2 none; 3 left one recipe with no word and gained one or two recipes whose words hold their name."""
_CANDIDATES = 10 * ITEM_WORDS
"""Best-scored terms an item's words are picked from, after filler and repeats are dropped."""


@dataclass(frozen=True)
class ItemLabels:
    """How each item shows to people, built once per data set (:func:`describe_items`).

    Attributes
    ----------
    names : mapping of str to str
        Item id → its name in the data (each item's most frequent one); empty where the data names no item.
    words : mapping of str to tuple of str
        Item id → the terms that set its comments apart, best first, for the items without a name.
    """

    names: Mapping[str, str] = field(default_factory=dict)
    words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def named(self) -> bool:
        """Whether the data names its items (else they show by id and words)."""
        return bool(self.names)

    def label(self, item_id: object) -> str:
        """The item as people read it: its name, else ``item <id> (<words>)``, else ``item <id>``."""
        item = str(item_id)
        if item in self.names:
            return self.names[item]
        words = self.words.get(item)
        return f"item {item} ({', '.join(words)})" if words else f"item {item}"


def describe_items(
    items: Sequence[object] | np.ndarray,
    terms: TermCounts,
    names: Sequence[object] | np.ndarray | None = None,
    n_words: int = ITEM_WORDS,
    min_support: int = MIN_WORD_SUPPORT,
) -> ItemLabels:
    """Label every item: by name where the data names it, else by the words that set its comments apart.

    Parameters
    ----------
    items : sequence, length n_comments
        Item id per comment (None or NaN where a comment names no item).
    terms : TermCounts
        :func:`~segmentation.describe.keywords.term_counts` of the same comments, in the same order.
    names : sequence, length n_comments, optional
        Item name per comment; an item shows under its most frequent non-empty name.
    n_words : int
        Terms per item without a name.
    min_support : int
        Comments of the item a term must appear in (all of them, where the item has fewer).

    Returns
    -------
    ItemLabels
        ``words`` holds every item without a name, with at most ``n_words`` terms (none when its comments hold
        nothing distinctive, e.g. praise alone).
    """
    items = np.asarray(items, dtype=object)
    if len(items) != terms.counts.shape[0]:
        raise ValueError(f"{len(items)} item ids for {terms.counts.shape[0]} comments: they must align")
    named = {} if names is None else item_names(items, np.asarray(names, dtype=object))
    rows = np.flatnonzero(pd.notna(items))
    ids, codes = np.unique(items[rows].astype(str), return_inverse=True)
    unnamed = [row for row, item in enumerate(ids) if item not in named]
    if not unnamed or not len(terms.vocabulary):
        return ItemLabels(named, {str(ids[row]): () for row in unnamed})
    # Which comments use a term, not how often: one long comment repeating a name ("Ruth's version…") must not
    # outweigh a word many of the item's comments share.
    used = terms.counts[rows].astype(bool).astype(np.float64)
    per_item = TermCounts(sparse.csr_matrix(used), terms.vocabulary)
    classes = np.arange(len(ids))
    scores = distinctive_ctfidf(per_item, codes, classes)
    membership = sparse.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(len(ids), len(codes)))
    support = sparse.csr_matrix(membership @ used)
    # A term of one comment only describes that comment, unless it is all the item has.
    least = np.minimum(np.bincount(codes, minlength=len(ids)), min_support)
    support.data = (support.data >= least[np.repeat(np.arange(len(ids)), np.diff(support.indptr))]).astype(float)
    scores = sparse.csr_matrix(scores.multiply(support))
    spread = set(terms.vocabulary[evenly_spread(per_item, codes, classes)])
    words = {}
    for row in unnamed:
        chosen: list[str] = []
        for term in top_terms(scores, terms.vocabulary, row, _CANDIDATES):
            if is_filler(term) or spread.intersection(term.split()) or any(name_repeats(term, w) for w in chosen):
                continue
            chosen.append(term)
            if len(chosen) == n_words:
                break
        words[str(ids[row])] = tuple(chosen)
    return ItemLabels(named, words)


def item_names(items: np.ndarray, names: np.ndarray) -> dict[str, str]:
    """Each item id's most frequent non-empty name (ties: the first alphabetically)."""
    frame = pd.DataFrame({"item": items, "name": names}).dropna()
    frame = frame.astype(str)
    frame["name"] = frame["name"].str.strip()
    frame = frame[frame["name"] != ""]
    counts = frame.value_counts(["item", "name"]).reset_index(name="n")
    best = counts.sort_values(["item", "n", "name"], ascending=[True, False, True]).drop_duplicates("item")
    return dict(zip(best["item"], best["name"], strict=True))


__all__ = ["ITEM_WORDS", "ItemLabels", "describe_items", "item_names"]
