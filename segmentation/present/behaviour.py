"""The behaviour profile shaped for the Segments page: an overview row per segment, one segment's figures
against all users, and the value view (segments × activity tiers).

Cells hold plain values; labels and attribute values come from the file and are shown by the page as text
in a table (never as Markdown or HTML).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from segmentation.core.labels import shown_name
from segmentation.describe.behaviour import TIERS, BehaviourProfile, Figure

# Figures that stand out, listed per segment in the overview: more would not fit one cell.
STANDS_OUT = 4
DIFFERS_MARK = "●"
TIER_CHART = "tiers"


def overview_table(profile: BehaviourProfile, labels: Mapping[int, str]) -> pd.DataFrame:
    """One row per segment: its users, its behaviour means, its tiers and the figures that stand out.

    Parameters
    ----------
    profile : BehaviourProfile
    labels : mapping of segment id to str
        The names shown (saved or suggested).

    Returns
    -------
    DataFrame
        ``segment``, ``name``, ``users``, ``share``, one column per behaviour figure (its label: the
        segment's mean, or share for a share), ``tiers`` (the shares of :data:`TIERS` the data has, for a
        small bar chart) and ``stands_out`` (up to :data:`STANDS_OUT` figures that differ from the other
        users, each with its lift: those above all users first, then those below, the largest first).
    """
    rows = []
    for segment in profile.segments:
        row: dict[str, object] = {"segment": segment.segment, "name": shown_name(labels, segment.segment),
                                  "users": segment.users, "share": segment.share}
        for figure in segment.figures:
            if figure.source == "behaviour":
                row[figure.label] = figure.value
        if segment.tiers:
            row[TIER_CHART] = [segment.tiers[tier] / segment.users for tier in TIERS if tier in segment.tiers]
        row["stands_out"] = "; ".join(_worded(f) for f in _standing_out(segment.figures)[:STANDS_OUT])
        rows.append(row)
    return pd.DataFrame(rows)


def behaviour_columns(profile: BehaviourProfile) -> dict[str, str]:
    """The overview's behaviour columns, label → ``"mean"`` or ``"share"``, in the table's order."""
    first = profile.segments[0].figures if profile.segments else ()
    return {f.label: f.kind for f in first if f.source == "behaviour"}


def tier_names(profile: BehaviourProfile) -> list[str]:
    """The tiers the overview's ``tiers`` lists hold, in order."""
    present = {tier for segment in profile.segments for tier in segment.tiers}
    return [tier for tier in TIERS if tier in present]


def _standing_out(figures: tuple[Figure, ...]) -> list[Figure]:
    """Differing figures, those above all users first (what the segment is), then those below, largest lift first."""
    differing = [f for f in figures if f.differs and f.lift is not None and f.lift > 0]
    return sorted(differing, key=lambda f: (f.lift < 1, -abs(math.log(f.lift))))


def _worded(figure: Figure) -> str:
    return f"{figure.label} ×{figure.lift:.2f}"


def figures_table(profile: BehaviourProfile, segment_id: int) -> pd.DataFrame:
    """One segment's figures against all users, with the test that compared it with the other users.

    Returns
    -------
    DataFrame
        ``figure``, ``kind`` (mean or share), ``segment``, ``all_users``, ``lift``, ``spread`` (standard
        deviation over the segment's users, means only), ``users`` (with a value), ``test``, ``q_value``
        (after the correction) and ``differs`` (:data:`DIFFERS_MARK` where the q-value is under the
        profile's rate, else empty). Empty when the segment is unknown.
    """
    segment = profile.segment(segment_id)
    columns = ["figure", "kind", "segment", "all_users", "lift", "spread", "users", "test", "q_value", "differs"]
    if segment is None:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(
        [{"figure": f.label, "kind": f.kind, "segment": f.value, "all_users": f.overall, "lift": f.lift,
          "spread": f.spread, "users": f.n, "test": f.test or "not tested", "q_value": f.q_value,
          "differs": DIFFERS_MARK if f.differs else ""} for f in segment.figures],
        columns=columns,
    )


def value_table(profile: BehaviourProfile, labels: Mapping[int, str]) -> pd.DataFrame:
    """Segments × activity tiers: the share of each segment's users in each tier and its lift over all users.

    Returns
    -------
    DataFrame
        ``segment``, ``name``, ``users``, then per tier ``<tier>`` (share of the segment's users) and
        ``<tier> lift``, and ``differs`` naming the tiers whose share differs from the other users'. Empty
        (no rows) where the data allows no tiers.
    """
    tiers = tier_names(profile)
    rows = []
    for segment in profile.segments:
        if not segment.tiers:
            continue
        row: dict[str, object] = {"segment": segment.segment, "name": shown_name(labels, segment.segment),
                                  "users": segment.users}
        differing = []
        for tier in tiers:
            figure = segment.figure(f"tier={tier}")
            row[tier] = None if figure is None else figure.value
            row[f"{tier} lift"] = None if figure is None else figure.lift
            if figure is not None and figure.differs:
                differing.append(_worded(figure))
        row["differs"] = "; ".join(differing)
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = [
    "DIFFERS_MARK", "TIER_CHART", "behaviour_columns", "figures_table", "overview_table", "tier_names", "value_table",
]
