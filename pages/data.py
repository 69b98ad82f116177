"""Data: keep the generated demo or upload a file, map its columns, see what is in it."""

import streamlit as st

from segmentation.core.errors import SegmentationError
from segmentation.present.views import comments_per_user, text_length_summary, text_lengths
from ui import charts, data, route, run_folder, runs, session, state
from ui.text import labelled, show_error

route.through_app()

ROLE_HELP = {
    "user": "Who wrote the comment. Without it, each comment is its own user.",
    "text": "The comment itself (required).",
    "item": "What the comment is about; needed for item recommendations.",
    "rating": "A numeric rating, if any.",
    "time": "When it was written; needed for recency weighting and leave-latest-out evaluation.",
    "item_name": "The item's readable name (a product title), shown beside its id.",
}
NONE = ""

st.title("Data")
runs.offer_recent()
choice = state.kept(st.radio, "Data source", key=data.CHOICE_KEY,
                    default="demo" if data.source().is_demo else "upload",
                    options=["demo", "upload", "run"], horizontal=True,
                    format_func={"demo": "Demo data (generated)", "upload": "Upload a file",
                                 "run": "Open a run folder"}.get)
if choice == "run":  # a run of the Ray engine: its folder, not comments, is what the pages show
    run_folder.page_block()
    st.stop()
run_folder.close()

if choice == "upload":
    uploaded = data.uploader("Comments file", key="upload",
                             help="One row per comment. Files are read in memory and never executed.")
    if uploaded is not None:
        if session.upload_id() != uploaded.file_id or data.source().is_demo:
            session.set_upload_id(uploaded.file_id)
            try:
                data.use_upload(uploaded.name, uploaded.getvalue())
            except (SegmentationError, OSError) as error:  # not kept (quota setting, disk): still used now
                show_error(error)
    elif data.source().is_demo:
        st.info("Choose a file to upload; the demo data stays loaded until then.")
else:
    data.use_demo()

src = data.source()
data.show_note()
if src.is_demo:
    st.info(data.DEMO_NOTE, icon=":material/science:")
labelled("File", src.name)

try:
    raw = data.raw_table(src)
except SegmentationError as error:
    show_error(error)
    st.stop()

columns = [str(c) for c in raw.columns]
roles = data.roles_for(src, columns)
with st.expander("Column mapping", expanded=not src.is_demo):
    st.caption("Detected roles are preselected; change any that are wrong.")
    picked = {}
    grid = st.columns(len(data.ROLES))
    for column_box, role in zip(grid, data.ROLES, strict=True):
        with column_box:
            options = [NONE, *columns]
            picked[role] = state.kept(
                st.selectbox, role.replace("_", " ").capitalize(), key=f"role_{role}_{src.digest[:12]}",
                default=roles.get(role) or NONE, options=options,
                format_func=lambda c: "(none)" if c == NONE else c, help=ROLE_HELP[role],
            )
    data.set_roles(src, picked)

try:
    comments = data.comments()
except SegmentationError as error:
    show_error(error)
    st.stop()

summary = comments.summary()
cards = st.columns(4)
cards[0].metric("Users", f"{summary['users']:,}")
cards[1].metric("Comments", f"{summary['comments']:,}")
cards[2].metric("Items", "—" if summary["items"] is None else f"{summary['items']:,}")
cards[3].metric("Median comment length", f"{summary['median_text_length']:.0f} chars")
if summary["mean_rating"] is not None:
    labelled("Mean rating", f"{summary['mean_rating']:.2f}")
if summary["date_from"]:
    labelled("Dates", f"{summary['date_from']} to {summary['date_to']}")
if summary["empty_dropped"] or summary["duplicates_dropped"]:
    st.warning(f"Dropped {summary['empty_dropped']:,} empty comments and "
               f"{summary['duplicates_dropped']:,} duplicate rows.")
for note in summary["notes"]:
    st.text(note)
if summary["users"] < 2:
    st.warning("Segmentation needs at least 2 users; map a user column or upload more data.")

lengths = text_length_summary(comments)
left, right = st.columns(2)
with left:
    st.plotly_chart(charts.histogram(comments_per_user(comments), "Comments per user",
                                     "Comments written", "Users"), key="hist_comments")
with right:
    st.plotly_chart(charts.histogram(text_lengths(comments), "Comment length",
                                     "Characters per comment", "Comments"), key="hist_length")
    st.caption(f"Median {lengths['median']:.0f}, 90th percentile {lengths['p90']:.0f}, "
               f"longest {lengths['max']:.0f} characters.")

st.subheader("Preview")
st.dataframe(comments.frame.head(200), hide_index=True)
st.page_link("pages/segment.py", label="Next: segment the users", icon=":material/arrow_forward:")
