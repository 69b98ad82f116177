"""The map's working parts: segment names placed at their centres without overlap, a sample for large
maps, the users inside a box or lasso drawn on it, and the two searches (by words and by meaning) that
highlight users.

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
# Above this many users the map draws a sample. Chromium updated the real recipe reviewers' map after a search in
# 0.24 s at 2,000 users drawn, 0.22 s at 3,000, 0.25 s at 5,000, 0.46 s at 8,000 and 0.53 s at all 13,811 (medians,
# load 10-14, ``benchmarks/map_sample.py``); the server's work hardly depends on the size. 5,000 is the most drawn
# at the cost of the smaller maps.
MAP_SAMPLE_LIMIT = 5_000
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
    ``MIN_SAMPLE_PER_SEGMENT`` points (or all of its users), and the rows in ``keep`` (searched or highlighted
    users) are always drawn. The same segments and seed give the same sample whatever ``keep`` holds, so a
    search adds its users to the map without redrawing the others elsewhere. Rows come back sorted.
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


def sample_note(n_drawn: int, n_users: int, *, searched: bool = False, selectable: bool = False) -> str:
    """What a sampled map says under it: how many users it shows and how they were chosen; ``searched``: that
    every search match is drawn; ``selectable``: that a box or lasso still takes every user inside it."""
    return (f"Showing {n_drawn:,} of {n_users:,} users, every segment kept in proportion (a small one at least "
            f"{MIN_SAMPLE_PER_SEGMENT} users, or all of them)" + ("; every search match is drawn" if searched else "")
            + "." + (" A box or lasso selects every user inside it, drawn or not." if selectable else ""))


def rows_in_selection(x: np.ndarray, y: np.ndarray, selection: Mapping) -> np.ndarray:
    """Which users lie inside the boxes and lassos of a map selection, whether drawn on the map or not.

    A map of many users draws a sample (:func:`sample_rows`), and the browser reports only the drawn points a
    lasso caught; the shapes themselves come back too, in data units, and are tested here against every user.

    Parameters
    ----------
    x, y : ndarray of shape (n_users,)
        Every user's position, as drawn (``figures.drawn_positions``): a point on a shape's edge then falls on the
        same side as in the browser.
    selection : mapping
        Streamlit's selection state of a plotly chart: ``box`` and ``lasso`` are lists of
        ``{"x": [...], "y": [...]}`` (a box by two corners, a lasso by its outline). Several shapes (drawn with
        Shift held) select what any of them holds.

    Returns
    -------
    ndarray of bool, shape (n_users,)
        Inside any shape (a lasso by the even-odd rule, as the browser's own test).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    inside = np.zeros(len(x), dtype=bool)
    for box in selection.get("box") or ():
        (x0, x1), (y0, y1) = sorted(box["x"][:2]), sorted(box["y"][:2])
        inside |= (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    for lasso in selection.get("lasso") or ():
        inside |= _inside_polygon(x, y, np.asarray(lasso["x"], float), np.asarray(lasso["y"], float))
    return inside


def _inside_polygon(x: np.ndarray, y: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Even-odd test of points against one closed outline: a ray to the right crosses its edges an odd number
    of times. One vectorised pass per edge, over the points within the outline's bounding box only."""
    inside = np.zeros(len(x), dtype=bool)
    if len(px) < 3:
        return inside
    near = np.flatnonzero((x >= px.min()) & (x <= px.max()) & (y >= py.min()) & (y <= py.max()))
    cx, cy = x[near], y[near]
    hit = np.zeros(len(near), dtype=bool)
    for xi, yi, xj, yj in zip(px, py, np.roll(px, 1), np.roll(py, 1), strict=True):
        spans = (yi > cy) != (yj > cy)  # the edge crosses the point's height (never true for a flat edge)
        # Where the edge is at the point's height; only read where it spans, so a flat edge never divides.
        at = xi + (cy[spans] - yi) * (xj - xi) / (yj - yi)
        hit[np.flatnonzero(spans)[cx[spans] < at]] ^= True
    inside[near] = hit
    return inside


def selected_rows(x: np.ndarray, y: np.ndarray, segments: np.ndarray, selection: Mapping,
                  drawn: np.ndarray) -> np.ndarray:
    """Rows of the users a box or lasso on the map selected: every user inside its shapes, drawn or not,
    except in the segments the map was not showing.

    A segment hidden with a click in the legend has drawn points inside the shape that the browser did not
    select; its users are left out, as the user did not see them. A segment with no drawn point inside the
    shape cannot be told hidden or shown: its users inside are kept.

    Parameters
    ----------
    x, y : ndarray of shape (n_users,)
        Every user's position, as drawn.
    segments : ndarray of shape (n_users,)
        Every user's segment.
    selection : mapping
        Streamlit's selection state (:func:`rows_in_selection`); its ``points`` name their row (the map's
        ``customdata``).
    drawn : ndarray of int
        The rows drawn on the map (:func:`sample_rows`).

    Returns
    -------
    ndarray of int
        Rows, ascending; empty when nothing is selected.
    """
    segments = np.asarray(segments)
    inside = rows_in_selection(x, y, selection)
    picked = [point.get("customdata") for point in selection.get("points") or ()]
    picked = [data[0] if isinstance(data, (list, tuple)) else data for data in picked if data is not None]
    seen = {segments[int(row)] for row in picked if 0 <= int(row) < len(segments)}
    drawn = np.asarray(drawn, dtype=int)
    hidden = set(np.unique(segments[drawn[inside[drawn]]]).tolist()) - seen
    return np.flatnonzero(inside & ~np.isin(segments, list(hidden)))


class WordSearch:
    """A run's comments, ready to be searched for words: casefolded once, and each comment's user found once.

    A page keeps one per run, so a search costs its passes over the comments and no more: casefolding the
    18,177 comments of the real recipe file and finding their users again took most of a word search's own work.

    Parameters
    ----------
    comments : Comments
        The comments searched.
    user_ids : sequence of str
        The users the answers are aligned with (the run's).
    """

    def __init__(self, comments: Comments, user_ids: Sequence[str]) -> None:
        self.user_ids = np.asarray(user_ids, dtype=object)
        self._text = comments.frame["text"].str.casefold()
        # Each comment's user as a position in ``user_ids`` (-1: a user the run does not hold).
        self._owner = pd.Index(self.user_ids).get_indexer(comments.frame["user_id"])

    def users_with(self, query: str) -> np.ndarray:
        """Which users wrote a comment containing every word of ``query``.

        Case-insensitive substring match per word, so it also finds words inside Chinese or Japanese text,
        which has no spaces. An empty query matches nobody. The cost is linear in the comments' length: one
        pass per distinct word, at most ``MAX_SEARCH_WORDS``, each over the comments still in the running.

        Returns
        -------
        ndarray of bool, shape (n_users,)

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
        found = np.zeros(len(self.user_ids), dtype=bool)
        if not words:
            return found
        hit = np.ones(len(self._text), dtype=bool)
        for word in words:
            # Only the comments that held every earlier word are searched again.
            hit[hit] = self._text[hit].str.contains(word, regex=False).to_numpy()
        owners = self._owner[hit]
        found[owners[owners >= 0]] = True
        return found

    def matches(self, words: str = "", nearest: pd.DataFrame | None = None) -> np.ndarray | None:
        """Users to ring on the map: those whose comments hold ``words`` and those who wrote a comment in
        ``nearest`` (:meth:`MeaningSearch.nearest`); None when there is no search.

        Raises
        ------
        ConfigError
            ``words`` is longer than :meth:`users_with` takes.
        """
        if not words.strip() and nearest is None:
            return None
        found = self.users_with(words)
        if nearest is not None:
            found |= np.isin(self.user_ids, nearest["user_id"].to_numpy())
        return found


class MeaningSearch:
    """A run's comments, ready to be searched by meaning with the run's encoder.

    The comments' vectors are put on the unit sphere once, here, so that a query costs its own encoding and one
    product: normalising the 18,177 vectors of the real recipe file again for every query was most of a meaning
    search's work. An encoder fitted on the corpus (TF-IDF) is refitted on the comments plus the query instead,
    so that the query and the comments share one space.

    Parameters
    ----------
    prepared : Prepared
        The run's prepared data: its comments, their embeddings and the config that made them.
    """

    def __init__(self, prepared: Prepared) -> None:
        from segmentation.embed.base import get_encoder, l2_normalise

        self.prepared = prepared
        self.encoder = get_encoder(prepared.config.encoder)
        self.refits = bool(getattr(self.encoder, "corpus_dependent", False))
        self._unit = None if self.refits else l2_normalise(prepared.embeddings)

    def nearest(self, query: str, n: int = 20) -> pd.DataFrame:
        """The ``n`` comments closest in meaning to ``query``.

        Returns
        -------
        DataFrame
            Columns ``user_id``, ``text``, ``similarity`` (cosine), most similar first.

        Raises
        ------
        ConfigError
            An empty query, or one longer than ``MAX_MEANING_CHARS``.
        """
        from segmentation.embed.base import l2_normalise

        query = query.strip()
        if not query:
            raise ConfigError("type a few words to search for")
        if len(query) > MAX_MEANING_CHARS:
            raise ConfigError(f"the meaning search is {len(query):,} characters long; type at most "
                              f"{MAX_MEANING_CHARS}")
        frame = self.prepared.comments.frame
        if self.refits:
            vectors = l2_normalise(self.encoder.encode([*frame["text"].tolist(), query]))
            unit, vector = vectors[:-1], vectors[-1]
        else:
            unit, vector = self._unit, l2_normalise(self.encoder.encode([query]))[0]
        similarity = unit @ vector
        top = np.argsort(-similarity, kind="stable")[:n]
        return pd.DataFrame({"user_id": frame["user_id"].to_numpy()[top], "text": frame["text"].to_numpy()[top],
                             "similarity": similarity[top].round(3)})
