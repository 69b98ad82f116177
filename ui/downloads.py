"""Download buttons for a run's assignments, segments and report, built when clicked so that they carry the names
saved by then (a name typed a moment ago included)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from segmentation.describe.behaviour import BehaviourProfile
from segmentation.describe.export import assignments_csv, assignments_json, assignments_parquet, segments_json
from segmentation.describe.over_time import OverTime
from segmentation.present.report import run_report
from segmentation.runs.layers import Layers
from segmentation.runs.service import Run
from ui import loaders, runs


def run_downloads(run: Run, profile: BehaviourProfile | None) -> None:
    """The run's downloads in a row: assignments as CSV, Parquet and JSON, and the segments as JSON."""
    st.caption("Assignments carry the saved names; spreadsheet-formula cells are neutralised in the CSV.")
    buttons = st.columns(4)
    fresh = runs.names_at_click(run)
    assignments = run.result.assignments
    buttons[0].download_button("Assignments (CSV)", lambda: assignments_csv(assignments, fresh()),
                               "assignments.csv", "text/csv", icon=":material/download:")
    buttons[1].download_button("Assignments (Parquet)", lambda: assignments_parquet(assignments, fresh()),
                               "assignments.parquet", "application/octet-stream", icon=":material/download:")
    buttons[2].download_button("Assignments (JSON)", lambda: assignments_json(assignments, fresh()),
                               "assignments.json", "application/json", icon=":material/download:")
    workspace = loaders.workspace()  # taken now: the click runs on a thread with no page around it

    def parents() -> dict[int, int] | None:
        """Each segment's broad group, where the layer is built (read at the click: it may be built since)."""
        tree = Layers(workspace).tree(run.run_key)
        return tree["parent"] if tree is not None else None

    buttons[3].download_button("Segments (JSON)",
                               lambda: segments_json(run.result.segments, fresh(), behaviour=profile,
                                                     parents=parents()),
                               "segments.json", "application/json", icon=":material/download:")


def report_download(run: Run, profile: BehaviourProfile | None, timeline: OverTime | None = None) -> None:
    """The run's shareable report: one HTML file that opens offline in any browser, with the behaviour table
    and the segments over time where the page has them."""
    if run.prepared is None:  # a run folder keeps its assignments in the folder, not in the workspace
        st.caption("The report is made from runs kept in the workspace: a run folder has none; "
                   "`python -m segmentation report` makes one for a run segmented on this machine.")
        return
    workspace = loaders.workspace()  # taken now: the click runs on a thread with no page around it
    st.download_button("Download the report (HTML)",
                       lambda: run_report(run.run_key, workspace, behaviour=profile, over_time=timeline),
                       f"report-{run.run_key}.html", "text/html", icon=":material/download:",
                       help="The map, the names, the quality, each segment's card, the behaviour table, the segments "
                            "over time and the recommendation answer (once the Recommend page has found it out) in "
                            "one file to send to someone without the app; it makes no request to the network.")


def new_assignments_download(assignments: pd.DataFrame) -> None:
    """The assignments of newly uploaded comments as CSV."""
    st.download_button("Assignments of the new comments (CSV)", assignments_csv(assignments),
                       "new_assignments.csv", "text/csv", icon=":material/download:")
