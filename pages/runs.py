"""Runs: every segmentation saved in the workspace (from the app or the command line), shown again or
compared: how users moved between the segments of two runs, and where each name came from."""

import streamlit as st

from segmentation.core.errors import SegmentationError
from segmentation.present.runs import RUNS_TABLE_HELP, plain_runs_table, run_quality, separation_verdict
from segmentation.present.views import name_history_table
from ui import charts, data, loaders, route, runs
from ui.text import long_text_table, show_error

route.through_app()

st.title("Runs")
st.caption("Every run is saved, with its settings, quality and names. Select one to show it again or to "
           "read where its names came from; select two to see how users moved between their segments.")
workspace = loaders.workspace()
table = runs.saved_runs()
if table.empty:
    st.info("No saved runs yet.")
    st.page_link("pages/segment.py", label="Run a segmentation on the Segment page", icon=":material/scatter_plot:")
    st.stop()

try:
    fingerprint = data.comments().fingerprint()
except SegmentationError:  # the session's file cannot be used as mapped: no run is "this data"
    fingerprint = None
this_data = {info.run_key for info in workspace.previous_runs(fingerprint)} if fingerprint else set()
shown_now = runs.shown_key(fingerprint)  # the run the other pages show (or restore) on this data
table.insert(1, "this data", table["run"].isin(this_data))
table.insert(2, "shown", table["run"] == shown_now)

event = st.dataframe(
    plain_runs_table(table), hide_index=True, on_select="rerun", selection_mode="multi-row", key="runs_table",
    column_config={
        "this data": st.column_config.CheckboxColumn(help="Made on the data open now"),
        "shown": st.column_config.CheckboxColumn(help="The run the Segment and Segments pages show"),
        **{title: st.column_config.NumberColumn(title, help=help_text, format=fmt)
           for title, help_text, fmt in RUNS_TABLE_HELP.values()},
        "named": st.column_config.NumberColumn(help="Segments with a saved name"),
    },
)
chosen = [table["run"].iloc[row] for row in event.selection.rows] if event and event.selection else []

if not chosen:
    st.caption("Select a run in the table (the box at the start of its row).")
elif len(chosen) == 1:
    key = chosen[0]
    st.subheader(f"Run {key}")
    if st.button("Show this run", type="primary", icon=":material/restore:",
                 help="Opens its data and its settings on the Segment page (recomputed from the cache), and "
                      "names the run in the address, so a reload or a bookmark comes back to it."):
        runs.open_saved(key)
    history = name_history_table(runs.name_lineage(key))
    if history.empty:
        st.caption("No segment of this run has a name yet.")
    else:
        st.markdown("**Names and where they came from**")
        long_text_table(history, column_config={"history": st.column_config.TextColumn(width="large")})
elif len(chosen) == 2:
    first, second = sorted(chosen, key=lambda run: table.index[table["run"] == run][0], reverse=True)
    try:
        comparison = runs.compare_runs(first, second)
    except SegmentationError as error:
        show_error(error)
        st.stop()
    st.subheader(f"Run {first} against run {second}")
    left, middle, right = st.columns(3)
    left.metric("Users in both", f"{comparison.n_common:,}")
    middle.metric("Same grouping", f"{comparison.ari:.2f}",
                  help="Adjusted Rand index (ARI): 1 means the same grouping of users, about 0 no more alike than "
                       "chance")
    right.metric("Stayed together", f"{comparison.kept_together:.0%}",
                 help="Users who went where most of their segment went")
    only = comparison.n_only_first + comparison.n_only_second
    if only:
        st.caption(f"{comparison.n_only_first:,} users are only in run {first}, {comparison.n_only_second:,} only "
                   f"in run {second}; the comparison is on the users in both.")
    st.markdown("**Quality side by side**")
    qualities = []
    for box, key in zip(st.columns(2), (first, second), strict=True):
        info = workspace.run(key)
        with box:
            st.caption(f"Run {key}")
            if info is None or not info.metrics:
                st.caption("Saved before runs kept their quality figures.")
                continue
            quality = run_quality(key, info.metrics, info.record.get("n_users") or 0)
            qualities.append(quality)
            for row in (quality.cards[:3], quality.cards[3:]):
                for card_box, card in zip(st.columns(3), row, strict=True):
                    card_box.metric(card.plain, card.value, help=f"{card.label}: {card.help}")
            st.caption(quality.reading)
    if len(qualities) == 2 and (verdict := separation_verdict(*qualities)):
        st.info(verdict, icon=":material/balance:")
    flows = comparison.flows()
    st.plotly_chart(charts.run_flows(flows, first, second), key="run_flows")
    with st.expander("The overlap as a table"):
        st.dataframe(flows, hide_index=True)
else:
    st.warning("Select at most two runs to compare them.")
