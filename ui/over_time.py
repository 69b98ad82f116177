"""The Segments page's over-time section: each segment's share per period as a chart, the biggest change in a
sentence, the words rising in the last period, and the downloads.

The timeline is computed once per run and set of hand edits (its key is the run and a digest of the labels) and
shaped by :mod:`segmentation.present.over_time`. The chart sits in a fragment: switching between shares of
comments and of active users redraws the chart alone.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import streamlit as st

from segmentation.core.errors import SegmentationError
from segmentation.describe.over_time import ALPHA, OverTime, over_time
from segmentation.ingest.io import Comments
from segmentation.present.over_time import (
    SHARE_WORDS,
    SHARES,
    change_sentence,
    for_json,
    rising_table,
    share_chart,
    shares_csv,
)
from segmentation.present.views import escape_markdown
from segmentation.runs.service import Run


def timeline(comments: Comments, run: Run) -> OverTime:
    """The run's timeline (hand edits applied), computed once per run and labels.

    The run's own term counts are reused where they are of these comments, row for row: counting them again
    is nearly all the work (tens of seconds on long texts).
    """
    result = run.result
    digest = hashlib.sha256(np.ascontiguousarray(result.labels, dtype="<i8").tobytes()).hexdigest()
    counted = run.prepared.comments.frame["text"]
    same_rows = counted.reset_index(drop=True).equals(comments.frame["text"].reset_index(drop=True))
    return _timeline(run.run_key, digest, _comments=comments, _user_ids=result.user_ids, _labels=result.labels,
                     _terms=run.prepared.terms if same_rows else None)


@st.cache_data(max_entries=8, show_spinner="Following the segments over time…")
def _timeline(run_key: str, labels_digest: str, _comments, _user_ids, _labels, _terms) -> OverTime:
    return over_time(_comments, _user_ids, _labels, terms=_terms)



def show(comments: Comments | None, run: Run, labels: dict[int, str]) -> OverTime | None:
    """Draw the over-time section, or one message saying why there is nothing to show; return the timeline
    drawn (the report holds it too), None where there is none."""
    st.subheader("Segments over time")
    if comments is None:
        st.caption("The timeline needs the comments: it is not available for a run folder.")
        return None
    try:
        found = timeline(comments, run)
    except SegmentationError as error:  # the message says why: no time column, one day, too few periods
        st.info(escape_markdown(f"Nothing to show over time: {error}."), icon=":material/schedule:")
        return None
    for note in found.notes:
        st.caption(escape_markdown(f"Left out: {note}"))
    method = found.method
    st.caption(f"Periods: one {found.unit} each ({method['unit_rule']}; {method['ends']}). The last period is "
               f"compared with all periods before, by {method['test']}, each p-value read against "
               f"{method['adjusted_by']}: a change beyond chance where p is under {ALPHA:g}.")
    st.text(change_sentence(found, labels))  # quotes a name typed by a user: text, never Markdown
    _chart(found, labels)
    st.dataframe(rising_table(found, labels), hide_index=True, key="over_time_rising", column_config={
        "segment": None,
        "name": st.column_config.TextColumn("Segment"),
        "before": st.column_config.NumberColumn("Share of comments before", format="percent"),
        "last": st.column_config.NumberColumn(f"In {found.periods[-1].label}", format="percent"),
        "change": st.column_config.NumberColumn("Change", format="percent"),
        "p_value": st.column_config.NumberColumn("p (over all segments)", format="%.3f"),
        "beyond_chance": st.column_config.TextColumn("Beyond chance"),
        "rising": st.column_config.TextColumn(f"Words rising in {found.periods[-1].label}", width="large"),
    })
    buttons = st.columns(2)
    buttons[0].download_button("Shares per period (CSV)", lambda: shares_csv(found, labels), "over_time.csv",
                               "text/csv", icon=":material/download:", key="over_time_csv")
    buttons[1].download_button(
        "Over time (JSON)",
        lambda: json.dumps(for_json(found, labels), ensure_ascii=False, indent=2, allow_nan=False).encode("utf-8"),
        "over_time.json", "application/json", icon=":material/download:", key="over_time_json")
    return found


@st.fragment
def _chart(found: OverTime, labels: dict[int, str]) -> None:
    of = st.radio("Share of", list(SHARES), format_func=SHARE_WORDS.get, horizontal=True, key="over_time_of")
    st.plotly_chart(share_chart(found, labels, of), key="over_time_chart")
