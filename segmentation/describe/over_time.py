"""Segments over time: each segment's share of comments and of active users per period, the words that rise in a
segment in the last period, and the segment whose share moved most.

**Periods.** The unit is the finest of week, month and quarter that cuts the span of the central 98 % of comment
times into at most :data:`MAX_PERIODS` periods: a handful of comments years before the rest (a blog's post from
1999 beside thousands from 2004) must not turn months into quarters. Every comment is then put in its period;
periods at either end with fewer than :data:`MIN_PERIOD_COMMENTS` comments are left out with a note (a share
of six comments is noise, and the last period is the one every comparison reads). Empty periods inside the
span stay, with no share.

**Change.** Each segment's share of the last period's comments is compared with its share of the comments of
all periods before (pooled, so that the comparison has the weight of the whole history). Whether chance alone
could give the move is read from :data:`PERMUTATIONS` redraws of the segments over the users (the users and
all their comments stay together; segment sizes are kept): a test on comments as independent draws (Fisher's
exact) called the biggest change of users drawn into six segments at random "beyond chance" in 4 of 5 draws
on the bloggers, whose prolific writers move a share by themselves. Each segment's p-value is the share of
redraws whose largest move over all segments is at least its own (the max-statistic adjustment, so no further
correction over segments is needed); the biggest change is beyond chance where its p-value is under
:data:`ALPHA`.

**Rising words** are the segment's keyword machinery applied to two classes, the segment's comments of the
last period against its comments before (:func:`~segmentation.describe.keywords.distinctive_ctfidf`, then
:class:`~segmentation.describe.keywords.LexicalDiversity`): a term rises when its length-normalised frequency
is higher in the last period than before, and at least :data:`MIN_TERM_USERS` of the segment's users
must write it in the last period (one user's words are that user's, not a trend); the data's own filler (terms every
segment uses alike) never rises. Words come from the project's
tokenizer, so Chinese is cut into words as everywhere else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse

from segmentation.core.errors import ConfigError, DataError
from segmentation.core.outputs import json_number
from segmentation.describe.keywords import (
    KeywordContext,
    LexicalDiversity,
    TermCounts,
    distinctive_ctfidf,
    evenly_spread,
    term_counts,
    top_terms,
)
from segmentation.ingest.comments import Comments

Unit = Literal["week", "month", "quarter"]

MAX_PERIODS = 26
"""The most periods the central span is cut into: weeks up to half a year, months up to about two years."""
MIN_PERIOD_COMMENTS = 30
"""A period at either end with fewer comments is left out: one comment then moves a share by over 3 points."""
MIN_PERIODS = 3
"""Fewer periods than this show no change worth a chart."""
CENTRAL = (0.01, 0.99)
"""The quantiles of comment times whose span chooses the unit."""
ALPHA = 0.05
"""The false discovery rate under which the biggest change is called beyond chance."""
PERMUTATIONS = 999
"""Redraws of the segments over the users behind each p-value (its smallest value is 1 / 1,000)."""
TEST = f"a permutation test ({PERMUTATIONS} redraws of the segments over the users)"
CORRECTION = "the largest move over all segments in each redraw"
N_RISING = 8
"""Rising words listed per segment."""
MIN_TERM_USERS = 3
"""A rising word is written by at least this many of the segment's users in the last period: a word of one
blogger's two posts about a friend is that blogger's, not the segment's."""
# pandas' period codes; a week runs Monday to Sunday.
_FREQUENCY: dict[str, str] = {"week": "W-SUN", "month": "M", "quarter": "Q"}
_DAYS: dict[str, float] = {"week": 7.0, "month": 365.25 / 12, "quarter": 365.25 / 4}


@dataclass(frozen=True)
class Period:
    """One period of the timeline.

    Attributes
    ----------
    label : str
        How the page and the sentence name it: ``"week of 2004-06-07"``, ``"Jun 2021"``, ``"2021 Q3"``.
    start : pandas.Timestamp
        Its first day (UTC).
    comments, users : int
        Comments in the period, and users who wrote at least one of them.
    """

    label: str
    start: pd.Timestamp
    comments: int
    users: int


@dataclass(frozen=True)
class SegmentTimeline:
    """One segment across the periods.

    Attributes
    ----------
    segment : int
        Segment id (``-1``: the noise / unassigned users).
    comments, users : tuple of int
        Per period: the segment's comments, and its users who wrote one of them.
    comment_share, user_share : tuple of float
        Per period: ``comments`` over the period's comments, ``users`` over its active users; NaN in an empty
        period.
    before, last : float
        The segment's share of the comments of all periods before the last, and of the last period's.
    p_value : float
        The share of redraws of the segments over the users in which some segment moved at least as much
        (adjusted over segments by the largest move of each redraw).
    rising : tuple of str
        Words that rise in the segment's comments of the last period against its comments before, best first.
    """

    segment: int
    comments: tuple[int, ...]
    users: tuple[int, ...]
    comment_share: tuple[float, ...]
    user_share: tuple[float, ...]
    before: float
    last: float
    p_value: float
    rising: tuple[str, ...]

    @property
    def change(self) -> float:
        """``last - before``: the move in share of comments."""
        return self.last - self.before

    def to_dict(self) -> dict[str, Any]:
        return {
            "segment": self.segment, "comments": list(self.comments), "users": list(self.users),
            "comment_share": [json_number(v) for v in self.comment_share],
            "user_share": [json_number(v) for v in self.user_share],
            "share_before": json_number(self.before), "share_last": json_number(self.last),
            "p_value": json_number(self.p_value), "rising_words": list(self.rising),
        }


@dataclass(frozen=True)
class OverTime:
    """Every segment's timeline over the same periods.

    Attributes
    ----------
    unit : {"week", "month", "quarter"}
    periods : tuple of Period
        Oldest first; the last is the one compared with all before.
    segments : tuple of SegmentTimeline
        In segment id order (noise first where there is noise).
    notes : tuple of str
        What was left out and why (comments without a time, sparse periods at the ends).
    """

    unit: Unit
    periods: tuple[Period, ...]
    segments: tuple[SegmentTimeline, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def biggest(self) -> SegmentTimeline:
        """The segment whose share of comments moved most between the periods before and the last."""
        return max(self.segments, key=lambda s: (abs(s.change), -s.segment))

    @property
    def beyond_chance(self) -> bool:
        """Whether the biggest change's p-value is under :data:`ALPHA`."""
        return self.biggest.p_value < ALPHA

    @property
    def method(self) -> dict[str, Any]:
        """How the periods were chosen and the change tested, in the words the page and the CLI give."""
        return {
            "unit": self.unit,
            "unit_rule": f"the finest of week, month and quarter giving at most {MAX_PERIODS} periods over the "
                         f"central {CENTRAL[1] - CENTRAL[0]:.0%} of comment times",
            "ends": f"periods at either end with fewer than {MIN_PERIOD_COMMENTS} comments are left out",
            "compared": "the last period's comments against those of all periods before",
            "test": TEST, "adjusted_by": CORRECTION, "alpha": ALPHA,
            "rising_words": f"c-TF-IDF of the last period against the periods before, terms written by at least "
                            f"{MIN_TERM_USERS} of the segment's users in the last period, none that every segment "
                            "uses alike",
            "notes": list(self.notes),
        }

    def segment(self, segment_id: int) -> SegmentTimeline | None:
        return next((s for s in self.segments if s.segment == segment_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "periods": [{"label": p.label, "start": p.start.date().isoformat(), "comments": p.comments,
                         "users": p.users} for p in self.periods],
            "biggest_change": {"segment": self.biggest.segment, "beyond_chance": self.beyond_chance},
            "method": self.method,
            "segments": [s.to_dict() for s in self.segments],
        }


def over_time(
    comments: Comments,
    user_ids: Sequence[str] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    terms: TermCounts | None = None,
    n_rising: int = N_RISING,
    seed: int = 0,
) -> OverTime:
    """Each segment's share of comments and of active users per period, its rising words and the biggest change.

    Parameters
    ----------
    comments : Comments
        The run's comments, with a ``time`` column.
    user_ids : array-like of str, shape (n_users,)
        The run's users (``SegmentResult.user_ids``).
    labels : array-like of int, shape (n_users,)
        Their segments, hand edits applied.
    terms : TermCounts, optional
        Term counts of every row of ``comments.frame`` (``Prepared.terms``: the run counted them to describe its
        segments); counted here when not given.
    n_rising : int, default 8
        Rising words per segment.
    seed : int, default 0
        Seed of the redraws behind the p-values.

    Returns
    -------
    OverTime

    Raises
    ------
    DataError
        When the data cannot show a change over time, saying why: no time column, no readable time, every
        comment from one day, or fewer than :data:`MIN_PERIODS` periods with enough comments.
    ConfigError
        When ``user_ids`` and ``labels`` differ in length, or no user of the run wrote one of ``comments``.
    """
    users = pd.Index(np.asarray(user_ids).astype(str), name="user_id")
    labels = np.asarray(labels, dtype=int)
    if len(users) != len(labels):
        raise ConfigError(f"{len(users)} users but {len(labels)} segment labels: they must pair one to one")
    if not comments.has_times:
        raise DataError("the data has no time column, so there is nothing to show over time: map a column "
                        "holding dates or times to the time role", cli_hint="--time-col COLUMN names it")
    frame = comments.frame
    if terms is not None and terms.counts.shape[0] != len(frame):
        raise ConfigError(f"term counts for {terms.counts.shape[0]:,} comments, but there are {len(frame):,}: "
                          "they must be the counts of these comments")
    ours = frame["user_id"].astype(str).isin(users).to_numpy()
    if not ours.any():
        raise ConfigError("none of the run's users wrote a comment in these data: is it the run of another file?")
    notes: list[str] = []
    rows = np.flatnonzero(ours & frame["time"].notna().to_numpy())
    if not len(rows):
        raise DataError("the time column holds no readable time, so there is nothing to show over time")
    if len(rows) < ours.sum():
        notes.append(f"{ours.sum() - len(rows):,} comments have no readable time and are left out")
    timed = frame.iloc[rows]
    times = timed["time"].dt.tz_convert(None)
    if times.max() - times.min() < pd.Timedelta(days=1):
        raise DataError(f"every comment is from one day ({times.min().date().isoformat()}), so there is no change "
                        "over time to show")
    unit = _unit(times)
    period = times.dt.to_period(_FREQUENCY[unit])
    kept = _kept_periods(period, unit, notes)
    inside = period.isin(kept).to_numpy()
    rows, timed, period = rows[inside], timed[inside], period[inside]
    segment_of = pd.Series(labels, index=users)
    comment_segment = segment_of.reindex(timed["user_id"].astype(str)).to_numpy()
    position = pd.Index(kept).get_indexer(period)
    counted = term_counts(timed["text"].to_numpy()) if terms is None else TermCounts(terms.counts[rows],
                                                                                     terms.vocabulary)
    return _timeline(timed, counted, unit, kept, position, comment_segment, notes, n_rising, seed)


def _unit(times: pd.Series) -> Unit:
    """The finest unit giving at most :data:`MAX_PERIODS` periods over the central span of ``times``."""
    low, high = times.quantile(list(CENTRAL))
    days = (high - low) / pd.Timedelta(days=1)
    for unit in ("week", "month"):
        if days / _DAYS[unit] <= MAX_PERIODS:
            return unit  # type: ignore[return-value]
    return "quarter"


def _kept_periods(period: pd.Series, unit: str, notes: list[str]) -> list[pd.Period]:
    """Every period from the first to the last holding :data:`MIN_PERIOD_COMMENTS` comments, empty ones included."""
    counts = period.value_counts().sort_index()
    full = counts[counts >= MIN_PERIOD_COMMENTS]
    if len(full) == 0:
        raise DataError(f"no {unit} holds {MIN_PERIOD_COMMENTS} comments or more, so no share per {unit} would "
                        "be more than noise")
    span = pd.period_range(full.index[0], full.index[-1], freq=full.index[0].freq)
    if len(span) < MIN_PERIODS:
        raise DataError(f"the comments fill only {len(span)} {unit}{'s' if len(span) != 1 else ''} with "
                        f"{MIN_PERIOD_COMMENTS} comments or more ({_label(span[0], unit)} to "
                        f"{_label(span[-1], unit)}): at least {MIN_PERIODS} are needed to show a change over time")
    before, after = counts[counts.index < span[0]].sum(), counts[counts.index > span[-1]].sum()
    for n, side, edge in ((before, "before", span[0]), (after, "after", span[-1])):
        if n:
            notes.append(f"{n:,} comments {side} {_label(edge, unit)} are left out: the {unit}s there hold fewer "
                         f"than {MIN_PERIOD_COMMENTS} comments each")
    return list(span)


def _label(period: pd.Period, unit: str) -> str:
    start = period.start_time
    if unit == "week":
        return f"week of {start.date().isoformat()}"
    if unit == "month":
        return start.strftime("%b %Y")
    return f"{start.year} Q{period.quarter}"


def _timeline(timed: pd.DataFrame, terms: TermCounts, unit: Unit, kept: list[pd.Period], position: np.ndarray,
              comment_segment: np.ndarray, notes: list[str], n_rising: int, seed: int) -> OverTime:
    n_periods = len(kept)
    owner = timed["user_id"].astype(str).to_numpy()
    per_period = np.bincount(position, minlength=n_periods)
    active = pd.DataFrame({"p": position, "u": owner, "s": comment_segment}).drop_duplicates(["p", "u"])
    active_per_period = np.bincount(active["p"], minlength=n_periods)
    periods = tuple(Period(_label(p, unit), p.start_time.tz_localize("UTC"), int(c), int(u))
                    for p, c, u in zip(kept, per_period, active_per_period, strict=True))
    last = position == n_periods - 1
    segments = sorted(set(comment_segment.tolist()))
    filler = evenly_spread(terms, comment_segment, segments)
    raw = []
    for segment in segments:
        mine = comment_segment == segment
        counts = np.bincount(position[mine], minlength=n_periods)
        users = np.bincount(active.loc[active["s"] == segment, "p"], minlength=n_periods)
        rising = _rising(terms, np.flatnonzero(mine), last[mine], owner[mine], filler, n_rising)
        raw.append((segment, counts, users, _share((mine & ~last).sum(), (~last).sum()),
                    _share((mine & last).sum(), last.sum()), rising))
    moves = [last_share - before for _, _, _, before, last_share, _ in raw]
    p_values = _permutation_p(owner, comment_segment, last, moves, segments, seed)
    segments = tuple(
        SegmentTimeline(segment, tuple(int(c) for c in counts), tuple(int(u) for u in users),
                        tuple(_share(c, n) for c, n in zip(counts, per_period, strict=True)),
                        tuple(_share(u, n) for u, n in zip(users, active_per_period, strict=True)),
                        before, last_share, float(p_value), rising)
        for (segment, counts, users, before, last_share, rising), p_value in zip(raw, p_values, strict=True)
    )
    return OverTime(unit, periods, segments, tuple(notes))


def _rising(terms: TermCounts, rows: np.ndarray, in_last: np.ndarray, owners: np.ndarray, filler: np.ndarray,
            n: int) -> tuple[str, ...]:
    """The segment's words that rise in the last period: c-TF-IDF of the last period against the periods before.

    ``filler`` marks the terms every segment uses alike (:func:`~segmentation.describe.keywords.evenly_spread`):
    "use" or "like" rising in one segment's last month says nothing about the segment.
    """
    if not in_last.any() or in_last.all():
        return ()
    mine = TermCounts(terms.counts[rows], terms.vocabulary)
    scores = distinctive_ctfidf(mine, in_last.astype(int), [0, 1])
    # A class's c-TF-IDF score is its frequency squared over the two frequencies' sum, times the same idf: the last
    # period scores higher than the periods before exactly where the term is more frequent there.
    dense = scores.toarray()
    in_enough = _writers(mine.counts[in_last], owners[in_last]) >= MIN_TERM_USERS
    rises = sparse.csr_matrix(np.where((dense[1] > dense[0]) & in_enough & ~filler, dense[1], 0.0)[None, :])
    candidates = top_terms(rises, terms.vocabulary, 0, 3 * n)
    return tuple(LexicalDiversity().rerank({0: candidates}, KeywordContext({}, n))[0][:n])


def _permutation_p(owner: np.ndarray, comment_segment: np.ndarray, last: np.ndarray, moves: list[float],
                   segments: list[int], seed: int) -> np.ndarray:
    """Max-statistic p-value of each segment's move: the share of redraws of the segments over the users (sizes
    kept) in which the largest absolute move of any segment reaches the segment's own."""
    users, codes = np.unique(owner, return_inverse=True)
    before = np.bincount(codes[~last], minlength=len(users)).astype(float) / (~last).sum()
    after = np.bincount(codes[last], minlength=len(users)).astype(float) / last.sum()
    # Each user's segment, as an index into ``segments``.
    first = np.zeros(len(users), dtype=int)
    first[codes] = np.arange(len(codes))
    segment_of = np.searchsorted(segments, comment_segment[first])
    moved = after - before
    observed = np.abs(np.asarray(moves))
    rng = np.random.default_rng(seed)
    reached = np.zeros(len(segments))
    for _ in range(PERMUTATIONS):
        drawn = np.abs(np.bincount(rng.permutation(segment_of), weights=moved, minlength=len(segments))).max()
        reached += drawn >= observed - 1e-12
    return (1.0 + reached) / (1.0 + PERMUTATIONS)


def _writers(counts: sparse.csr_matrix, owners: np.ndarray) -> np.ndarray:
    """How many different users wrote each term, from per-comment counts and each comment's user."""
    codes, _ = pd.factorize(owners)
    by_user = sparse.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))),
                                shape=(codes.max() + 1, len(codes)))
    return np.asarray(((by_user @ (counts > 0).astype(np.float64)) > 0).sum(axis=0)).ravel()


def _share(part: float, whole: float) -> float:
    return float(part / whole) if whole else math.nan


__all__ = [
    "ALPHA",
    "MAX_PERIODS",
    "MIN_PERIODS",
    "MIN_PERIOD_COMMENTS",
    "OverTime",
    "Period",
    "SegmentTimeline",
    "over_time",
]
