"""The map's working parts: segment names placed at their centres without overlap, a sample for large
maps, and the two searches (by words and by meaning) that highlight users.

Pure functions over arrays; ``ui.charts`` draws what they return.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from segmentation.core.errors import ConfigError

if TYPE_CHECKING:
    from segmentation.ingest.io import Comments
    from segmentation.pipeline.segment import Prepared

NOISE = -1
# Above this many users the map draws a sample (WebGL keeps even the full set responsive, but hover
# text for tens of thousands of points makes the page heavy to send).
MAP_SAMPLE_LIMIT = 20_000
# Each segment keeps at least this many points in a sample, so a small segment stays visible.
MIN_SAMPLE_PER_SEGMENT = 50
# Character width and line height of a label, as fractions of the font size (a sans-serif average).
_CHAR_WIDTH = 0.62
_LINE_HEIGHT = 1.5
# A word search is a few words a person types. Each distinct word costs one pass over every comment, so
# capping the words bounds a search at 20 passes, and 200 characters is several sentences: a megabyte
# pasted into the box would otherwise be a hundred thousand passes (a worker blocked for minutes).
MAX_SEARCH_CHARS = 200
MAX_SEARCH_WORDS = 20
# A meaning search is encoded by the run's encoder: a pasted book would be one huge encoding (and with a
# corpus-fitted encoder a refit) for a question a sentence asks as well.
MAX_MEANING_CHARS = 500


@dataclass(frozen=True)
class LabelBox:
    """Where one segment's name sits: its centre (data units) and the label's text."""

    segment: int
    text: str
    x: float
    y: float
    anchor_x: float
    anchor_y: float


def label_positions(
    x: np.ndarray,
    y: np.ndarray,
    segments: np.ndarray,
    labels: Mapping[int, str],
    *,
    width_px: float = 900.0,
    height_px: float = 400.0,
    font_px: float = 12.0,
) -> list[LabelBox]:
    """Segment names on the map, none overlapping: the largest segments' first, smaller ones give way.

    The centre is the median of the segment's points (robust to stray users). Labels are boxes sized from
    their text in pixels and placed largest segment first: at the centre when that spot is free, else at the
    nearest free spot one or two label sizes away (a thin line then leads back to the centre). A label with
    no free spot near its segment is left off: pushed further it would name the wrong place, and 19 names
    pushed around a crowded map overlapped each other (issue 20). A segment without a label keeps its name
    in the legend and in every point's hover text.

    Parameters
    ----------
    x, y : ndarray of shape (n_users,)
        Map positions.
    segments : ndarray of shape (n_users,)
        Segment of each user.
    labels : mapping
        Text to show per segment id.
    width_px, height_px : float
        The plot area's size in pixels, to turn text sizes into data units. The defaults are on the small
        side of the page's map (its legend below takes height from the plot), so labels that fit there fit
        a larger map too.
    font_px : float
        The label font size in pixels.

    Returns
    -------
    list of LabelBox
        The labels placed, in segment order (noise never gets one); ``anchor_x``/``anchor_y`` is the centre,
        ``x``/``y`` where the label sits.
    """
    x, y, segments = np.asarray(x, float), np.asarray(y, float), np.asarray(segments)
    if not (len(x) == len(y) == len(segments)):
        raise ConfigError("x, y and segments must have the same length")
    ids, sizes = np.unique(segments[segments != NOISE], return_counts=True)
    if not len(ids):
        return []
    span_x = float(np.ptp(x)) or 1.0
    span_y = float(np.ptp(y)) or 1.0
    # Work in pixels so that a box's width and height compare with distances on screen.
    sx, sy = width_px / span_x, height_px / span_y
    low = np.array([x.min() * sx, y.min() * sy])
    high = np.array([x.max() * sx, y.max() * sy])
    placed: list[tuple[int, str, np.ndarray, np.ndarray, np.ndarray]] = []
    for order in np.lexsort((ids, -sizes)):  # largest first; equal sizes by id
        segment = int(ids[order])
        text = labels.get(segment, f"Segment {segment}")
        members = segments == segment
        anchor = np.array([np.median(x[members]) * sx, np.median(y[members]) * sy])
        half = np.array([_CHAR_WIDTH * font_px * len(text) / 2 + 3, _LINE_HEIGHT * font_px / 2])
        for spot in _spots(anchor, half):
            inside = np.all(spot >= low) and np.all(spot <= high)  # centred over the map, not off it
            if inside and all(np.any(np.abs(spot - at) >= half + other) for _, _, at, other, _ in placed):
                placed.append((segment, text, spot, half, anchor))
                break
    return [LabelBox(s, t, float(p[0] / sx), float(p[1] / sy), float(a[0] / sx), float(a[1] / sy))
            for s, t, p, _, a in sorted(placed, key=lambda item: item[0])]


def _spots(anchor: np.ndarray, half: np.ndarray) -> list[np.ndarray]:
    """Where a label may sit: its centre, then one and two label sizes away in eight directions, nearest first."""
    spots = [anchor]
    for reach in (1.0, 2.0):
        for dx, dy in ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1)):
            spots.append(anchor + reach * 2 * half * np.array([dx, dy]))
    return spots


def sample_rows(segments: np.ndarray, limit: int = MAP_SAMPLE_LIMIT, *, keep: Sequence[int] = (),
                seed: int = 0) -> np.ndarray:
    """Rows to draw on a map of ``len(segments)`` users: all of them up to ``limit``, else a sample.

    The sample is stratified: each segment keeps its share of ``limit`` and at least
    ``MIN_SAMPLE_PER_SEGMENT`` points (or all of its users), and the rows in ``keep`` (highlighted
    users) are always drawn. Rows come back sorted.
    """
    segments = np.asarray(segments)
    n = len(segments)
    if limit < 1:
        raise ConfigError(f"the map sample needs a positive size, not {limit}")
    if n <= limit:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    chosen = [np.asarray(keep, dtype=int)]
    for segment in np.unique(segments):
        rows = np.flatnonzero(segments == segment)
        take = min(len(rows), max(MIN_SAMPLE_PER_SEGMENT, round(limit * len(rows) / n)))
        chosen.append(rng.choice(rows, size=take, replace=False))
    return np.unique(np.concatenate(chosen))


def users_with_words(comments: Comments, user_ids: Sequence[str], query: str) -> np.ndarray:
    """Which users (aligned with ``user_ids``) wrote a comment containing every word of ``query``.

    Case-insensitive substring match per word, so it also finds words inside Chinese or Japanese text,
    which has no spaces. An empty query matches nobody. The cost is linear in the comments' length: one
    pass per distinct word, at most ``MAX_SEARCH_WORDS``, each over the comments still in the running.

    Raises
    ------
    ConfigError
        The query is longer than ``MAX_SEARCH_CHARS`` characters or has more than ``MAX_SEARCH_WORDS`` words.
    """
    if len(query) > MAX_SEARCH_CHARS:
        raise ConfigError(f"the word search is {len(query):,} characters long; type at most {MAX_SEARCH_CHARS}")
    words = list(dict.fromkeys(w.casefold() for w in query.split()))
    if len(words) > MAX_SEARCH_WORDS:
        raise ConfigError(f"the word search has {len(words)} words; type at most {MAX_SEARCH_WORDS}")
    if not words:
        return np.zeros(len(user_ids), dtype=bool)
    text = comments.frame["text"].str.casefold()
    hit = np.ones(len(text), dtype=bool)
    for word in words:
        # Only the comments that held every earlier word are searched again.
        hit[hit] = text[hit].str.contains(word, regex=False).to_numpy()
    matched = set(comments.frame.loc[hit, "user_id"])
    return np.array([u in matched for u in user_ids], dtype=bool)


def search_matches(comments: Comments, user_ids: Sequence[str], words: str = "",
                   nearest: pd.DataFrame | None = None) -> np.ndarray | None:
    """Users to ring on the map: those whose comments hold ``words`` and those who wrote a comment in
    ``nearest`` (:func:`nearest_comments`); None when there is no search.

    Raises
    ------
    ConfigError
        ``words`` is longer than :func:`users_with_words` takes.
    """
    if not words.strip() and nearest is None:
        return None
    found = users_with_words(comments, user_ids, words)
    if nearest is not None:
        found |= np.isin(np.asarray(user_ids, dtype=object), nearest["user_id"].to_numpy())
    return found


def nearest_comments(prepared: Prepared, query: str, n: int = 20) -> pd.DataFrame:
    """The ``n`` comments closest in meaning to ``query``, encoded with the run's encoder.

    An encoder fitted on the corpus (TF-IDF) is refitted on the comments plus the query, so that the
    query and the comments share one space; the others encode the query alone and compare it with the
    run's embeddings.

    Returns
    -------
    DataFrame
        Columns ``user_id``, ``text``, ``similarity`` (cosine), most similar first.
    """
    from segmentation.embed.base import get_encoder, l2_normalise

    query = query.strip()
    if not query:
        raise ConfigError("type a few words to search for")
    if len(query) > MAX_MEANING_CHARS:
        raise ConfigError(f"the meaning search is {len(query):,} characters long; type at most {MAX_MEANING_CHARS}")
    encoder = get_encoder(prepared.config.encoder)
    texts = prepared.comments.frame["text"].tolist()
    if getattr(encoder, "corpus_dependent", False):
        vectors = encoder.encode([*texts, query])
        embeddings, vector = vectors[:-1], vectors[-1]
    else:
        embeddings, vector = prepared.embeddings, encoder.encode([query])[0]
    similarity = l2_normalise(np.asarray(embeddings, float)) @ l2_normalise(np.asarray(vector, float)[None])[0]
    top = np.argsort(-similarity, kind="stable")[:n]
    frame = prepared.comments.frame
    return pd.DataFrame({"user_id": frame["user_id"].to_numpy()[top], "text": frame["text"].to_numpy()[top],
                         "similarity": similarity[top].round(3)})
