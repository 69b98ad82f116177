"""The Segments page's behaviour section: who each segment's users are, and the value view by activity tier.

The profile is computed once per run and set of hand edits (its key is the run and a digest of the labels)
and drawn from :mod:`segmentation.present.behaviour`'s tables; cells are shown as text in tables.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from segmentation.core.errors import SegmentationError
from segmentation.describe.behaviour import ALPHA, BehaviourProfile, behaviour_profile
from segmentation.ingest.io import Comments
from segmentation.pipeline.segment import SegmentResult
from segmentation.present.behaviour import (
    TIER_CHART,
    behaviour_columns,
    figures_table,
    overview_table,
    tier_names,
    value_table,
)
from segmentation.present.views import escape_markdown
from ui.text import show_error


def profile(comments: Comments, result: SegmentResult, run_key: str) -> BehaviourProfile:
    """The run's behaviour profile (hand edits applied), computed once per run and labels."""
    digest = hashlib.sha256(np.ascontiguousarray(result.labels, dtype="<i8").tobytes()).hexdigest()
    return _profile(run_key, digest, _comments=comments, _user_ids=result.user_ids, _labels=result.labels)


@st.cache_data(max_entries=8, show_spinner="Profiling the segments' users…")
def _profile(run_key: str, labels_digest: str, _comments, _user_ids, _labels) -> BehaviourProfile:
    return behaviour_profile(_comments, _user_ids, _labels)


def show(comments: Comments | None, result: SegmentResult, run_key: str,
         labels: dict[int, str]) -> BehaviourProfile | None:
    """Draw the behaviour table, one segment's figures against all users, and the value view.

    Returns the profile for the downloads; None where there is none (a run folder, or a message shown).
    """
    st.subheader("Who the users are")
    if comments is None:
        st.caption("The behaviour profile needs the comments: it is not available for a run folder.")
        return None
    try:
        found = profile(comments, result, run_key)
    except SegmentationError as error:
        show_error(error)
        return None
    for note in found.notes:  # notes quote column names and values from the file: never Markdown
        st.caption(escape_markdown(f"Left out: {note}"))
    method = found.method
    st.caption(f"Each figure is computed per user and the segment is compared with the users outside it: "
               f"{method['mean_test']} for a mean, {method['share_test']} for a share; p-values corrected by "
               f"{method['correction']}; \"stands out\" lists figures whose corrected value is under {ALPHA:g}.")
    overview = overview_table(found, labels)
    tiers = tier_names(found)
    figures = behaviour_columns(found)
    config = {
        "name": st.column_config.TextColumn("Segment"),
        "users": st.column_config.NumberColumn("Users", format="%d"),
        "share": st.column_config.NumberColumn("Share", format="percent"),
        "stands_out": st.column_config.TextColumn("Stands out (lift)", width="large"),
        TIER_CHART: st.column_config.BarChartColumn(f"Tiers ({' / '.join(tiers)})", y_min=0.0, y_max=1.0),
        **{label: st.column_config.NumberColumn(label, format="percent" if kind == "share" else "%.1f")
           for label, kind in figures.items()},
    }
    order = ["name", "users", "share", *([TIER_CHART] if tiers else []), "stands_out", *figures]
    st.dataframe(overview, hide_index=True, column_config=config, column_order=order, key="behaviour_overview")

    choices = {row.segment: row.name for row in overview.itertuples()}
    chosen = st.selectbox("Compare one segment with all users", list(choices), format_func=choices.get,
                          key="behaviour_segment")
    st.dataframe(figures_table(found, chosen), hide_index=True, key="behaviour_figures", column_config={
        "figure": st.column_config.TextColumn("Figure"),
        "kind": st.column_config.TextColumn("Mean or share"),
        "users": st.column_config.NumberColumn("Users with a value", format="%d"),
        "test": st.column_config.TextColumn("Test against the other users"),
        "differs": st.column_config.TextColumn("Differs"),
        "segment": st.column_config.NumberColumn("This segment", format="%.3f"),
        "all_users": st.column_config.NumberColumn("All users", format="%.3f"),
        "lift": st.column_config.NumberColumn("Lift", format="%.2f"),
        "spread": st.column_config.NumberColumn("Spread (sd)", format="%.2f"),
        "q_value": st.column_config.NumberColumn("Corrected p", format="%.4f"),
    })

    st.subheader("Value view: segments by activity tier")
    if found.tier_rule is None:
        st.caption("The data allows no activity tiers (every user wrote as many comments, and there are no times).")
        return found
    st.caption(f"Tiers from this data's own quantiles: {found.tier_rule.words()}.")
    value = value_table(found, labels)
    st.dataframe(value, hide_index=True, key="behaviour_value", column_config={
        "segment": None,
        "name": st.column_config.TextColumn("Segment"),
        "users": st.column_config.NumberColumn("Users", format="%d"),
        **{tier: st.column_config.ProgressColumn(tier, format="percent", min_value=0.0, max_value=1.0)
           for tier in tiers},
        **{f"{tier} lift": st.column_config.NumberColumn(f"{tier} lift", format="%.2f") for tier in tiers},
        "differs": st.column_config.TextColumn("Differs from the other users (lift)"),
    })
    return found
