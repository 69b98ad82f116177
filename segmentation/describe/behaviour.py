"""Who the users of each segment are to the business: activity, recency, ratings, items and attributes.

Every figure is computed per user first (so a user who wrote fifty comments counts once, like a user who
wrote one) and compared between the segment's users and the users outside it, from whatever columns the
file has: comments per user always; active span, days since the last comment and the "new" tier with
times; the mean rating per user with ratings (each user's mean, then their mean: the segment card's mean
rating counts every comment instead); distinct items and repeat reviewers with items; and every column that
holds one value per user (an attribute such as age or gender: a mean for numbers, a share per value for
categories).

The comparison names its test: Mann-Whitney U for a mean (counts of comments and days are skewed, so a
rank test rather than a t-test), chi-square for a share, or Fisher's exact test where a 2×2 table has an
expected count under five. Every p-value of one profile is corrected together (Benjamini-Hochberg, a false
discovery rate of 5 %); a figure is marked as differing where the corrected value is under that rate.

Activity tiers cut the users at the data's own quantiles: loyal users wrote at least the upper quartile of
comments per user (and at least two), new users are the rest whose first comment falls in the latest
quarter of first comments, occasional users are everyone else. "Now" is the data's last comment, never the
clock: a file from 2022 read today has no "inactive since 2022" users.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from segmentation.core.errors import ConfigError
from segmentation.core.outputs import json_number
from segmentation.ingest.columns import COLUMN
from segmentation.ingest.comments import Comments

ALPHA = 0.05
"""The false discovery rate under which a figure is marked as differing from the other users."""
CORRECTION = "Benjamini-Hochberg"
MEAN_TEST = "Mann-Whitney U"
SHARE_TEST = "chi-square"
EXACT_TEST = "Fisher exact"
# Below this expected count in any cell of a 2x2 table the chi-square approximation is poor (Cochran's rule).
MIN_EXPECTED = 5
# An attribute with more values than this shows its most common ones and groups the rest as "other":
# a table of 200 countries per segment is read by nobody.
MAX_VALUES = 12
OTHER_VALUE = "(other)"
LOYAL_QUANTILE = 0.75
NEW_QUANTILE = 0.25
TIERS = ("new", "occasional", "loyal")
DAY = pd.Timedelta(days=1)

Kind = Literal["mean", "share"]


@dataclass(frozen=True)
class Figure:
    """One figure of one segment, beside the same figure over all users.

    Attributes
    ----------
    key : str
        Stable identifier: a behaviour (``comments_per_user``), ``tier=loyal``, or an attribute column,
        ``column=value`` for a share of a category.
    label : str
        The words a page shows (``"gender: female"``); values come from the file, so it is shown as text.
    kind : {"mean", "share"}
    value : float
        The segment's mean over its users, or the share of its users.
    overall : float
        The same over all users.
    lift : float or None
        ``value / overall``; None where ``overall`` is 0.
    spread : float or None
        Standard deviation over the segment's users (means only).
    n : int
        The segment's users with a value (missing values are left out of a mean and of a share's count).
    test : str or None
        The test against the users outside the segment; None where it cannot run (too few users on a side).
    p_value, q_value : float or None
        The test's p-value, and the same after the correction over the whole profile.
    differs : bool
        ``q_value < ALPHA``.
    source : {"behaviour", "tier", "attribute"}
    """

    key: str
    label: str
    kind: Kind
    value: float
    overall: float
    lift: float | None
    spread: float | None
    n: int
    test: str | None
    p_value: float | None
    q_value: float | None = None
    differs: bool = False
    source: str = "behaviour"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "label": self.label, "kind": self.kind, "source": self.source,
            "value": json_number(self.value), "overall": json_number(self.overall), "lift": json_number(self.lift),
            "spread": json_number(self.spread), "n": self.n, "test": self.test, "p_value": json_number(self.p_value),
            "q_value": json_number(self.q_value), "differs": self.differs,
        }


@dataclass(frozen=True)
class TierRule:
    """How users were cut into activity tiers, from the data's own quantiles.

    Attributes
    ----------
    loyal_min_comments : int or None
        Users with at least this many comments are loyal; None where every user wrote as many comments.
    new_since : pandas.Timestamp or None
        Users (not loyal) whose first comment is on or after this time are new; None without usable times.
    """

    loyal_min_comments: int | None
    new_since: pd.Timestamp | None

    def words(self) -> str:
        """The rule in one sentence."""
        parts = []
        if self.loyal_min_comments is not None:
            parts.append(f"loyal: {self.loyal_min_comments}+ comments (the upper quartile of comments per user)")
        if self.new_since is not None:
            parts.append(f"new: first comment on or after {self.new_since.date().isoformat()} (the latest quarter "
                         "of first comments)")
        parts.append("occasional: everyone else")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "loyal_min_comments": self.loyal_min_comments,
            "new_since": None if self.new_since is None else self.new_since.isoformat(),
            "rule": self.words(),
        }


@dataclass(frozen=True)
class SegmentBehaviour:
    """The behaviour profile of one segment.

    Attributes
    ----------
    segment : int
        Segment id (``-1``: the noise / unassigned users).
    users : int
    share : float
        ``users`` over all users.
    figures : tuple of Figure
        Behaviour figures first, then tiers, then attributes.
    tiers : dict of str to int
        Users per activity tier (the tiers the data allows).
    """

    segment: int
    users: int
    share: float
    figures: tuple[Figure, ...]
    tiers: dict[str, int]

    def figure(self, key: str) -> Figure | None:
        return next((f for f in self.figures if f.key == key), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "users": self.users, "share": json_number(self.share), "tiers": dict(self.tiers),
            "figures": [f.to_dict() for f in self.figures],
        }


@dataclass(frozen=True)
class BehaviourProfile:
    """Behaviour profiles of every segment of a run.

    Attributes
    ----------
    segments : tuple of SegmentBehaviour
        In segment id order, noise first where there is noise.
    n_users : int
    tier_rule : TierRule or None
        None where the data allows no tiers (every user wrote as many comments and there are no times).
    notes : tuple of str
        What was left out and why (a time column with one day, an attribute with one value).
    """

    segments: tuple[SegmentBehaviour, ...]
    n_users: int
    tier_rule: TierRule | None
    notes: tuple[str, ...] = field(default=())

    @property
    def method(self) -> dict[str, Any]:
        """How the figures were compared, in the words ``segments.json`` and the page give."""
        return {
            "compared_with": "the users outside the segment",
            "mean_test": MEAN_TEST,
            "share_test": f"{SHARE_TEST} ({EXACT_TEST} where an expected count is under {MIN_EXPECTED})",
            "correction": f"{CORRECTION} over all figures of the run",
            "alpha": ALPHA,
            "tiers": None if self.tier_rule is None else self.tier_rule.to_dict(),
            "notes": list(self.notes),
        }

    def segment(self, segment_id: int) -> SegmentBehaviour | None:
        return next((s for s in self.segments if s.segment == segment_id), None)

    def for_json(self, segment_id: int) -> dict[str, Any] | None:
        """The ``behaviour`` record of one segment in ``segments.json``: its figures and the method."""
        found = self.segment(segment_id)
        return None if found is None else {**found.to_dict(), "method": self.method}

    def to_dict(self) -> dict[str, Any]:
        return {"n_users": self.n_users, "method": self.method,
                "segments": [{"segment": s.segment, **s.to_dict()} for s in self.segments]}


def behaviour_profile(
    comments: Comments,
    user_ids: Sequence[str] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    attributes: Sequence[str] | None = None,
) -> BehaviourProfile:
    """Profile each segment's users against the users outside it.

    Parameters
    ----------
    comments : Comments
        The run's comments: ``user_id`` and, where present, ``item_id``, ``rating``, ``time`` and extra columns.
    user_ids : array-like of str, shape (n_users,)
        The run's users (``SegmentResult.user_ids``).
    labels : array-like of int, shape (n_users,)
        Their segments, hand edits applied.
    attributes : sequence of str, optional
        Columns to compare as user attributes; by default :meth:`Comments.attribute_columns`. A column with
        one value for everyone, missing, or with several values for one user is skipped with a note.

    Returns
    -------
    BehaviourProfile

    Raises
    ------
    ConfigError
        When ``user_ids`` and ``labels`` differ in length, or no user of the run wrote one of ``comments``.
    """
    users = pd.Index(np.asarray(user_ids).astype(str), name="user_id")
    labels = np.asarray(labels, dtype=int)
    if len(users) != len(labels):
        raise ConfigError(f"{len(users)} users but {len(labels)} segment labels: they must pair one to one")
    frame = comments.frame
    frame = frame[frame["user_id"].astype(str).isin(users)]
    if frame.empty:
        raise ConfigError("none of the run's users wrote a comment in these data: is it the run of another file?")
    notes: list[str] = []
    measured = _per_user(frame, users, notes)
    tiers, rule = _tiers(measured, notes)
    if attributes is None:
        attributes = comments.attribute_columns()
        _note_constant(frame, attributes, notes)
    attribute_values = _attributes(frame, users, attributes, notes)

    # Every figure as one value per user, built once: a segment then only splits the arrays.
    measures = [_Measure(key, label, "mean", "behaviour", values) for key, (label, values) in measured.means.items()]
    measures += [_Measure(key, label, "share", "behaviour", values) for key, (label, values) in measured.shares.items()]
    if rule is not None:
        measures += [_Measure(f"tier={tier}", f"tier: {tier}", "share", "tier", (tiers == tier).astype(float))
                     for tier in TIERS if (tiers == tier).any()]
    for column, values in attribute_values.items():
        measures += _attribute_measures(column, values)

    raw: list[tuple[int, np.ndarray, list[Figure]]] = []
    for segment_id in sorted(set(labels.tolist())):
        inside = labels == segment_id
        raw.append((segment_id, inside, [measure.compare(inside) for measure in measures]))
    corrected = _correct([f for _, _, figures in raw for f in figures])
    segments = []
    for segment_id, inside, figures in raw:
        counts = {tier: int((tiers[inside] == tier).sum()) for tier in TIERS if (tiers == tier).any()} if rule else {}
        segments.append(SegmentBehaviour(segment_id, int(inside.sum()), float(inside.mean()),
                                         tuple(corrected[id(f)] for f in figures), counts))
    return BehaviourProfile(tuple(segments), len(users), rule, tuple(notes))


# Per-user figures --------------------------------------------------------------------------------


@dataclass
class _Measured:
    """One value per user (in the run's user order) for each behaviour the data allows."""

    means: dict[str, tuple[str, np.ndarray]]
    shares: dict[str, tuple[str, np.ndarray]]
    first_days_ago: np.ndarray | None = None
    now: pd.Timestamp | None = None


def _per_user(frame: pd.DataFrame, users: pd.Index, notes: list[str]) -> _Measured:
    by_user = frame["user_id"].astype(str)
    counts = frame.groupby(by_user, sort=False).size()
    measured = _Measured({"comments_per_user": ("Comments per user", _aligned(counts, users, fill=0.0))}, {})
    if "time" in frame.columns:
        _times(frame, by_user, users, measured, notes)
    if "rating" in frame.columns:
        ratings = frame["rating"].dropna()
        if ratings.empty:
            notes.append("the rating column holds no number: no mean rating")
        elif ratings.nunique() < 2:
            notes.append(f"every rating is {ratings.iloc[0]:g}: no mean rating to compare")
        else:
            mean = frame.groupby(by_user, sort=False)["rating"].mean()
            measured.means["user_mean_rating"] = ("Mean rating per user", _aligned(mean, users))
    items = frame.dropna(subset=["item_id"]) if "item_id" in frame.columns else frame.iloc[:0]
    if not items.empty:
        owner = items["user_id"].astype(str)
        distinct = items.groupby(owner, sort=False)["item_id"].nunique()
        measured.means["distinct_items"] = ("Distinct items", _aligned(distinct, users, fill=0.0))
        per_item = items.groupby([owner, items["item_id"]], sort=False).size()
        repeaters = per_item[per_item > 1].index.get_level_values(0).unique()
        measured.shares["repeat_reviewers"] = ("Repeat reviewers of an item", users.isin(repeaters).astype(float))
    return measured


def _times(frame: pd.DataFrame, by_user: pd.Series, users: pd.Index, measured: _Measured,
           notes: list[str]) -> None:
    """Active span, days since the last comment and how long ago each user arrived, from the time column."""
    known = frame["time"].notna()
    times = frame.loc[known, "time"]
    if times.empty:
        notes.append("the time column holds no readable time: no active span, recency or new users")
        return
    if times.max() - times.min() < DAY:
        notes.append(f"every comment is from one day ({times.min().date().isoformat()}): no active span, "
                     "recency or new users")
        return
    grouped = times.groupby(by_user[known], sort=False)
    first, last = grouped.min(), grouped.max()
    now = times.max()
    measured.means["active_span_days"] = ("Active span (days)", _aligned((last - first) / DAY, users))
    measured.means["days_since_last"] = ("Days since last comment", _aligned((now - last) / DAY, users))
    measured.first_days_ago = _aligned((now - first) / DAY, users)
    measured.now = now


def _aligned(series: pd.Series, users: pd.Index, fill: float = np.nan) -> np.ndarray:
    return series.reindex(users).astype(float).fillna(fill).to_numpy()


def _tiers(measured: _Measured, notes: list[str]) -> tuple[np.ndarray, TierRule | None]:
    """Each user's tier and the rule, from the quantiles of comments per user and of first-comment times."""
    counts = measured.means["comments_per_user"][1]
    tiers = np.full(len(counts), "occasional", dtype=object)
    loyal_min = None
    if counts.max() > counts.min():
        # At least two comments: where most users wrote one, the upper quartile is one comment too.
        loyal_min = min(max(2, math.ceil(np.quantile(counts, LOYAL_QUANTILE))), int(counts.max()))
        tiers[counts >= loyal_min] = "loyal"
    else:
        notes.append(f"every user wrote {int(counts[0])} comment{'s' if counts[0] != 1 else ''}: no loyal tier")
    new_since = None
    if measured.first_days_ago is not None and measured.now is not None:
        arrived = measured.first_days_ago
        known = ~np.isnan(arrived)
        cut = float(np.quantile(arrived[known], NEW_QUANTILE))
        tiers[known & (arrived <= cut) & (tiers != "loyal")] = "new"
        new_since = measured.now - pd.Timedelta(days=cut)
    if loyal_min is None and new_since is None:
        return tiers, None
    return tiers, TierRule(loyal_min, new_since)


# Attributes ---------------------------------------------------------------------------------------


def _note_constant(frame: pd.DataFrame, attributes: Sequence[str], notes: list[str]) -> None:
    """Name the extra columns that hold one value for every user: a user would look for them in the profile.

    ``attributes`` (checked one by one later) are left to :func:`_attributes`.
    """
    extras = [c for c in frame.columns if c not in COLUMN.values() and c not in attributes]
    constant = []
    for column in extras:
        values = frame[column].dropna().astype(str).str.strip()
        values = values[values != ""]
        if len(values) and values.nunique() == 1:
            constant.append(f"{column} ({values.iloc[0][:40]})")
    if constant:
        notes.append(f"{'these attributes hold' if len(constant) > 1 else 'this attribute holds'} one value for "
                     f"every user, so there is nothing to compare: {', '.join(constant)}")


def _attributes(frame: pd.DataFrame, users: pd.Index, columns: Sequence[str],
                notes: list[str]) -> dict[str, pd.Series]:
    """One value per user (NaN where missing) for each attribute column: numbers as floats, else stripped text.

    A column that is missing, takes several values for one user or one value for everyone is left out with a
    note.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        notes.append(f"no column {', '.join(map(repr, missing))} in the data: not compared")
    columns = [c for c in columns if c in frame.columns]
    if not columns:
        return {}
    owner = frame["user_id"].astype(str)
    text = frame[columns].apply(lambda column: column.where(column.notna(), "").astype(str).str.strip())
    per_user = text.mask(text == "").groupby(owner, sort=False)
    varies = per_user.nunique().max() > 1
    first = per_user.first().reindex(users)
    out = {}
    for column in columns:
        values = first[column]
        present = values.dropna()
        if varies[column]:
            notes.append(f"{column!r} takes more than one value for some users: not compared as a user attribute")
        elif present.nunique() < 2:
            shown = f" ({present.iloc[0][:40]})" if len(present) else ""
            notes.append(f"the attribute {column!r} holds one value for every user{shown}: nothing to compare")
        elif pd.to_numeric(present, errors="coerce").notna().all():
            out[column] = pd.to_numeric(values, errors="coerce").astype(float)
        else:
            out[column] = values.astype(object)
    return out


def _attribute_measures(column: str, values: pd.Series) -> list[_Measure]:
    """A mean for a numeric attribute; a share per value (the most common ones, the rest as "other") else."""
    if pd.api.types.is_float_dtype(values):
        return [_Measure(column, column, "mean", "attribute", values.to_numpy())]
    ranked = values.value_counts()
    kept = list(ranked.index[:MAX_VALUES])
    shown = sorted(kept, key=str) + ([OTHER_VALUE] if len(ranked) > MAX_VALUES else [])
    grouped = values.where(values.isin(kept) | values.isna(), OTHER_VALUE).to_numpy()
    known = values.notna().to_numpy()
    return [_Measure(f"{column}={value}", f"{column}: {value}", "share", "attribute",
                     np.where(known, grouped == value, np.nan).astype(float)) for value in shown]


# Comparisons --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Measure:
    """One figure as a value per user (NaN: no value), ready to compare any segment with the other users.

    A share's values are 1.0 / 0.0 per user.
    """

    key: str
    label: str
    kind: Kind
    source: str
    values: np.ndarray

    def compare(self, inside: np.ndarray) -> Figure:
        known = ~np.isnan(self.values)
        mine, theirs = self.values[inside & known], self.values[~inside & known]
        overall = float(self.values[known].mean()) if known.any() else math.nan
        value = float(mine.mean()) if len(mine) else math.nan
        test, p_value = (self._mean_test if self.kind == "mean" else self._share_test)(mine, theirs)
        spread = float(mine.std(ddof=1)) if self.kind == "mean" and len(mine) > 1 else None
        return Figure(self.key, self.label, self.kind, value, overall, _lift(value, overall), spread, int(len(mine)),
                      test, p_value, source=self.source)

    @staticmethod
    def _mean_test(mine: np.ndarray, theirs: np.ndarray) -> tuple[str | None, float | None]:
        if len(mine) < 2 or len(theirs) < 2 or np.ptp(np.concatenate([mine, theirs])) == 0:
            return None, None  # a rank test needs two users a side and two different values
        return MEAN_TEST, float(stats.mannwhitneyu(mine, theirs, alternative="two-sided").pvalue)

    @staticmethod
    def _share_test(mine: np.ndarray, theirs: np.ndarray) -> tuple[str | None, float | None]:
        if not len(mine) or not len(theirs):
            return None, None
        table = np.array([[mine.sum(), len(mine) - mine.sum()], [theirs.sum(), len(theirs) - theirs.sum()]])
        if (table.sum(axis=0) == 0).any():
            return None, None  # a value nobody (or everybody) has cannot differ
        if stats.contingency.expected_freq(table).min() < MIN_EXPECTED:
            return EXACT_TEST, float(stats.fisher_exact(table).pvalue)
        return SHARE_TEST, float(stats.chi2_contingency(table).pvalue)


def _lift(value: float, overall: float) -> float | None:
    if not math.isfinite(value) or not math.isfinite(overall) or overall == 0:
        return None
    return value / overall


def _correct(figures: list[Figure]) -> dict[int, Figure]:
    """Each figure with its Benjamini-Hochberg q-value and mark, keyed by ``id`` of the uncorrected one."""
    tested = [f for f in figures if f.p_value is not None]
    out = {id(f): f for f in figures}
    if tested:
        q_values = stats.false_discovery_control([f.p_value for f in tested], method="bh")
        for figure, q in zip(tested, q_values, strict=True):
            out[id(figure)] = replace(figure, q_value=float(q), differs=bool(q < ALPHA))
    return out


__all__ = [
    "ALPHA",
    "BehaviourProfile",
    "Figure",
    "SegmentBehaviour",
    "TIERS",
    "TierRule",
    "behaviour_profile",
]
