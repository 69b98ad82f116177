"""Two metrics that judge segment descriptions: keyword distinctness and label fidelity.

:func:`keyword_distinctness` asks whether the segments' keywords tell them apart; :func:`label_fidelity` asks
whether a reader given only a segment's name and keywords would pick the right users, and
:func:`held_out_label_fidelity` is its hold-out protocol (the segments are described without the users it
scores). Kept apart from :mod:`segmentation.describe.keywords` because the metrics read described segments
(:mod:`segmentation.describe.segments`), which are themselves built from the keywords: the keywords stay
below the descriptions, the metrics above both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from segmentation.core.labels import NOISE
from segmentation.describe.keywords import _unit
from segmentation.describe.segments import SegmentDescription, describe_labelled_comments

if TYPE_CHECKING:
    from segmentation.describe.keywords import CachedEncoder
    from segmentation.embed.base import Encoder

TOP_KEYWORDS = 8
"""How many keywords per segment the metrics compare (the top 8, as the cards show)."""


def _keyword_lists(segments: Sequence[SegmentDescription] | Sequence[Sequence[str]]) -> list[list[str]]:
    lists = []
    for segment in segments:
        if hasattr(segment, "keywords"):
            if segment.id == NOISE:
                continue
            lists.append(list(segment.keywords))
        elif isinstance(segment, str):
            raise TypeError("pass one list of keywords per segment, not a flat list of keywords")
        else:
            lists.append(list(segment))
    return lists


def keyword_distinctness(
    segments: Sequence[SegmentDescription] | Sequence[Sequence[str]], top: int = TOP_KEYWORDS
) -> float:
    """The share of each segment's top keywords that are in no other segment's top keywords.

    Parameters
    ----------
    segments : sequence of SegmentDescription, or sequence of lists of str
        Described segments (the noise group is ignored) or one keyword list per segment, best first.
    top : int, default 8
        How many keywords of each segment are compared.

    Returns
    -------
    float
        The mean over segments with at least one keyword of (keywords in no other top list) / (keywords
        in its top list): 1.0 when no two segments share a keyword, 0.0 when all share all.

    Raises
    ------
    ValueError
        With fewer than two segments that have keywords, or ``top < 1``.
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, not {top}")
    lists = [set(words[:top]) for words in _keyword_lists(segments) if words]
    if len(lists) < 2:
        raise ValueError("keyword distinctness needs at least two segments with keywords")
    shares = []
    for i, words in enumerate(lists):
        others = set().union(*(other for j, other in enumerate(lists) if j != i))
        shares.append(len(words - others) / len(words))
    return float(np.mean(shares))


def label_text(segment: SegmentDescription, top: int = TOP_KEYWORDS) -> str:
    """What a reader sees of a segment: ``"name: kw1, kw2, …"`` (the text :func:`label_fidelity` encodes)."""
    return f"{segment.name}: {', '.join(segment.keywords[:top])}"


def label_fidelity(
    segments: Sequence[SegmentDescription],
    encoder: Encoder | CachedEncoder,
    user_vectors: np.ndarray,
    user_labels: Sequence[int] | np.ndarray,
    *,
    top: int = TOP_KEYWORDS,
) -> float:
    """The share of users whose nearest segment, judged only by its name and keywords, is their own.

    Each segment's :func:`label_text` is encoded with ``encoder``; each user goes to the segment whose
    label vector has the highest cosine similarity with the user's profile.

    Parameters
    ----------
    segments : sequence of SegmentDescription
        The described segments (the noise group is ignored).
    encoder : Encoder or CachedEncoder
        The encoder that embedded the users' comments; it must not be corpus-fitted (``tfidf``).
    user_vectors : ndarray of shape (n_users, d)
        Users' text profiles in the encoder's space (mean comment embedding).
    user_labels : array-like of shape (n_users,)
        Each user's segment; noise users (``-1``) are ignored.
    top : int, default 8
        Keywords per label.

    Returns
    -------
    float
        Share in [0, 1]; chance is about ``1 / n_segments``.

    Raises
    ------
    ValueError
        If the encoder is corpus-fitted, the shapes disagree, or no user belongs to a described segment.
    """
    if getattr(encoder, "corpus_dependent", False):
        raise ValueError("label fidelity needs an encoder that embeds texts apart from a corpus (not tfidf)")
    user_vectors = np.asarray(user_vectors, dtype=np.float64)
    user_labels = np.asarray(user_labels).astype(np.int64)
    if user_vectors.ndim != 2 or len(user_vectors) != len(user_labels):
        raise ValueError(f"{len(user_vectors)} user vectors and {len(user_labels)} labels must align")
    described = [s for s in segments if s.id != NOISE]
    ids = np.array([s.id for s in described])
    scored = np.isin(user_labels, ids)
    if not scored.any():
        raise ValueError("no user belongs to a described segment")
    labels = _unit(encoder.encode([label_text(s, top) for s in described]))
    if labels.shape[1] != user_vectors.shape[1]:
        raise ValueError(
            f"label vectors have {labels.shape[1]} dimensions, user vectors {user_vectors.shape[1]}:"
            " use the encoder that embedded the comments"
        )
    nearest = ids[np.argmax(_unit(user_vectors[scored]) @ labels.T, axis=1)]
    return float(np.mean(nearest == user_labels[scored]))


def held_out_label_fidelity(
    texts: Sequence[str] | np.ndarray,
    comment_user: np.ndarray,
    user_labels: np.ndarray,
    embeddings: np.ndarray,
    encoder: Encoder | CachedEncoder,
    *,
    test_size: float = 0.2,
    seed: int = 0,
    describer: Callable[..., Sequence[SegmentDescription]] | None = None,
    **describe_options,
) -> float:
    """Label fidelity on users the descriptions never saw.

    The protocol: users are split at random (``seed``) into a training part and a held-out part of
    ``test_size``, keeping the segmentation's labels for both. Segments are described
    (:func:`segmentation.describe.segments.describe_labelled_comments`) from the training users' comments only;
    each held-out user's profile is the normalised mean of their comment embeddings, and
    :func:`label_fidelity` scores the held-out users against those descriptions.

    Parameters
    ----------
    texts, comment_user, user_labels, embeddings
        As for :func:`segmentation.describe.segments.describe_labelled_comments`.
    encoder : Encoder or CachedEncoder
        The encoder that produced ``embeddings``.
    test_size : float, default 0.2
        Share of users held out.
    seed : int, default 0
        Seed of the split.
    describer : callable, optional
        Called like ``describe_labelled_comments(texts, comment_user, user_labels, embeddings,
        **describe_options)``; default that function (another describer lets a benchmark compare).
    **describe_options
        Passed to the describer (e.g. ``rerankers``, ``n_keywords``); ``encoder`` is passed on unless
        given there. ``terms``, counted on all comments, is cut to the training users' comments.

    Returns
    -------
    float
    """
    describer = describe_labelled_comments if describer is None else describer
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must lie strictly between 0 and 1, not {test_size}")
    texts = np.asarray(texts, dtype=object)
    comment_user = np.asarray(comment_user).astype(np.int64)
    user_labels = np.asarray(user_labels).astype(np.int64)
    embeddings = np.asarray(embeddings, dtype=np.float32)
    n_users = len(user_labels)
    held_out = np.zeros(n_users, dtype=bool)
    held_out[np.random.default_rng(seed).permutation(n_users)[: max(1, round(test_size * n_users))]] = True

    train_rows = np.flatnonzero(~held_out[comment_user])
    train_users = np.flatnonzero(~held_out)
    remap = np.full(n_users, -1, dtype=np.int64)
    remap[train_users] = np.arange(len(train_users))
    terms = describe_options.get("terms")
    if terms is not None:  # counted once on all comments: the training users' rows are theirs
        describe_options["terms"] = type(terms)(sparse.csr_matrix(terms.counts[train_rows]), terms.vocabulary)
    if describer is describe_labelled_comments:
        describe_options.setdefault("encoder", encoder)
    segments = describer(
        texts[train_rows], remap[comment_user[train_rows]], user_labels[train_users], embeddings[train_rows],
        **describe_options,
    )

    test_users = np.flatnonzero(held_out)
    position = np.full(n_users, -1, dtype=np.int64)
    position[test_users] = np.arange(len(test_users))
    test_rows = np.flatnonzero(held_out[comment_user])
    profiles = np.zeros((len(test_users), embeddings.shape[1]))
    np.add.at(profiles, position[comment_user[test_rows]], embeddings[test_rows])
    return label_fidelity(segments, encoder, profiles, user_labels[test_users])


__all__ = [
    "TOP_KEYWORDS",
    "held_out_label_fidelity",
    "keyword_distinctness",
    "label_fidelity",
    "label_text",
]
