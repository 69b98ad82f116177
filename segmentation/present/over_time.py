"""Segments over time shaped for the Segments page, the downloads and the CLI: the shares per period as a long
table (one row per period and segment, for the chart and the CSV), the rising words per segment, and one plain
sentence for the biggest change.

Names are typed by users and shown by the page as text (the chart escapes them); the sentence quotes a name
and is shown with ``st.text``, never as Markdown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from segmentation.core.labels import shown_name
from segmentation.describe.export import neutralise
from segmentation.describe.over_time import ALPHA, TEST, OverTime, Period
from segmentation.present.figures import NOISE_COLOUR, segment_colours
from segmentation.present.views import escape_html

SHARES = {"comments": "comment_share", "users": "user_share"}
"""What a share is of, as the page's choice names it, and the long table's column holding it."""
SHARE_WORDS = {"comments": "comments", "users": "active users"}
"""How the chart and the page's choice say what a share is of."""


def _percent(share: float) -> str:
    return f"{100 * share:.0f} %"


def _span(periods: Sequence[Period]) -> str:
    """Periods named as a stretch: ``"Jan 2024"``, ``"Jan 2024 – Nov 2024"``."""
    return periods[0].label if len(periods) == 1 else f"{periods[0].label} – {periods[-1].label}"


def change_sentence(found: OverTime, labels: Mapping[int, str]) -> str:
    """The biggest change in plain words, with whether chance alone could give it.

    Parameters
    ----------
    found : OverTime
    labels : mapping of segment id to str
        The names shown (saved or suggested).

    Returns
    -------
    str
        E.g. ``Segment “Espresso” grew from 12 % of comments in Jan 2024 – Nov 2024 to 19 % in Dec 2024, the
        biggest change of the 6 segments: more than chance would give (196 comments in Dec 2024; p = 0.001
        from a permutation test (999 redraws of the segments over the users)).``
    """
    big = found.biggest
    last = found.periods[-1]
    before = _span(found.periods[:-1])
    if round(100 * big.before) == round(100 * big.last):
        moved = f"stayed at {_percent(big.last)} of comments from {before} to {last.label}"
    else:
        verb = "grew" if big.change > 0 else "shrank"
        moved = f"{verb} from {_percent(big.before)} of comments in {before} to {_percent(big.last)} in {last.label}"
    sentence = (f"Segment “{shown_name(labels, big.segment)}” {moved}, the biggest change of the "
                f"{len(found.segments)} segments")
    test = f"p = {big.p_value:.2g} from {TEST}"
    if found.beyond_chance:
        return f"{sentence}: more than chance would give ({last.comments:,} comments in {last.label}; {test})."
    return f"{sentence}; chance alone could give a move this size ({last.comments:,} comments in {last.label}; " \
           f"{test}), so no segment clearly changed."


def shares_frame(found: OverTime, labels: Mapping[int, str]) -> pd.DataFrame:
    """One row per period and segment: comments, active users and both shares.

    Returns
    -------
    DataFrame
        ``period`` (its label), ``start`` (ISO date), ``segment``, ``name``, ``comments``, ``users`` (active in
        the period), ``comment_share``, ``user_share`` (NaN in an empty period), ``period_comments`` and
        ``period_users``; periods oldest first, segments in id order within a period.
    """
    rows = []
    for i, period in enumerate(found.periods):
        for segment in found.segments:
            rows.append({
                "period": period.label, "start": period.start.date().isoformat(), "segment": segment.segment,
                "name": shown_name(labels, segment.segment), "comments": segment.comments[i], "users": segment.users[i],
                "comment_share": segment.comment_share[i], "user_share": segment.user_share[i],
                "period_comments": period.comments, "period_users": period.users,
            })
    return pd.DataFrame(rows)


def rising_table(found: OverTime, labels: Mapping[int, str]) -> pd.DataFrame:
    """One row per segment: its share of comments before the last period and in it, its p-value, its rising words.

    Returns
    -------
    DataFrame
        ``segment``, ``name``, ``before``, ``last``, ``change`` (``last - before``), ``p_value`` (adjusted over
        segments), ``beyond_chance`` (``"yes"`` where ``p_value < ALPHA``, else empty) and ``rising`` (the
        words, comma-separated); the largest move first.
    """
    rows = [{"segment": s.segment, "name": shown_name(labels, s.segment), "before": s.before, "last": s.last,
             "change": s.change, "p_value": s.p_value, "beyond_chance": "yes" if s.p_value < ALPHA else "",
             "rising": ", ".join(s.rising)} for s in found.segments]
    frame = pd.DataFrame(rows)
    return frame.reindex(frame["change"].abs().sort_values(ascending=False, kind="stable").index).reset_index(drop=True)


def shares_csv(found: OverTime, labels: Mapping[int, str]) -> bytes:
    """The long table of :func:`shares_frame` as UTF-8 CSV; names typed as formulas are neutralised."""
    return neutralise(shares_frame(found, labels)).to_csv(index=False).encode("utf-8")


def for_json(found: OverTime, labels: Mapping[int, str]) -> dict:
    """The whole timeline with names and the sentence: what the CLI prints and the page's JSON download holds."""
    record = found.to_dict()
    for segment in record["segments"]:
        segment["name"] = shown_name(labels, segment["segment"])
    return {**record, "sentence": change_sentence(found, labels)}


def share_chart(found: OverTime, labels: Mapping[int, str], of: str) -> go.Figure:
    """One line per segment: its share of the period's comments (or active users), names escaped in the legend."""
    frame = shares_frame(found, labels)
    column = SHARES[of]
    colours = segment_colours(labels)
    fig = go.Figure()
    for _, rows in frame.groupby("segment", sort=True):
        name = escape_html(rows["name"].iloc[0])
        count = rows["comments" if of == "comments" else "users"]
        total = rows["period_comments" if of == "comments" else "period_users"]
        fig.add_trace(go.Scatter(
            x=rows["period"], y=rows[column], mode="lines+markers", name=name,
            line={"color": colours.get(name, NOISE_COLOUR)},
            customdata=np.column_stack([count, total]),
            hovertemplate=f"{name}<br>%{{x}}: %{{y:.1%}} (%{{customdata[0]}} of %{{customdata[1]}})<extra></extra>",
        ))
    fig.update_yaxes(title_text=f"Share of {SHARE_WORDS[of]}", tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(title_text=found.unit.capitalize())
    fig.update_layout(title={"text": f"Share of {SHARE_WORDS[of]} per {found.unit}, by segment", "x": 0},
                      height=420, template="plotly_white", legend={"title": {"text": ""}})
    return fig


__all__ = ["SHARES", "SHARE_WORDS", "change_sentence", "for_json", "rising_table", "share_chart", "shares_csv",
           "shares_frame"]
