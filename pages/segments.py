"""Segments: what each segment is about, its name (saved at once), and the downloads."""

import streamlit as st

from segmentation.core.errors import SegmentationError
from segmentation.present.views import escape_markdown, segment_labels, stability_words
from ui import behaviour, data, downloads, guided, hierarchy, names, over_time, route, runs
from ui.text import labelled, show_error

route.through_app()

st.title("Segments")
comments, run = runs.require(allow_folder=True)

named = runs.named_result(run)
labels = segment_labels(named.segments)
labelled("Data", data.source().name)

for note in run.notes:
    st.info(note)
carry = run.carry
if carry.carried:
    st.success(f"{len(carry.carried)} names carried over from the previous run "
               "(to the segments sharing most of their users):")
    for item in carry.carried:
        st.text(f"segment {item.new_id} ← “{item.name}” ({item.jaccard:.0%} shared users)")
if carry.from_run_key and carry.new:
    st.info(f"New segments that need a name: {', '.join(str(i) for i in carry.new)}.")
if carry.dropped:
    st.warning(f"{len(carry.dropped)} named segments of the previous run match no segment now "
               f"(previous ids {', '.join(str(i) for i in carry.dropped)}); their names were not carried.")

suggestions = names.suggestion_panel(run)


# Typing a name reruns only that segment's inputs, not the page with its profile and downloads (issue 20);
# the downloads read the saved names when clicked.
@st.fragment
def naming_panel(segment, suggestion) -> None:
    # Read the saved name afresh: the page's own copy is from its last full run, before this edit.
    names.name_inputs(run.run_key, segment.id, segment.name, runs.names(run).get(segment.id))
    if suggestion is not None:
        labelled("The language model suggests", f"{suggestion.name} — {suggestion.description}")
        names.accept_button(run.run_key, segment.id, suggestion, "Use this suggestion")


ordered = sorted(run.result.segments, key=lambda s: (s.id < 0, -s.size))
for segment in ordered:
    with st.container(border=True):
        title = "Noise / unassigned users" if segment.id < 0 else f"Segment {segment.id}"
        st.subheader(title)
        info, naming = st.columns([2, 3])
        with info:
            figures = st.columns(3)
            figures[0].metric("Users", f"{segment.size:,}")
            figures[1].metric("Share", f"{segment.share:.0%}")
            if segment.mean_rating is not None:
                figures[2].metric("Mean rating", f"{segment.mean_rating:.2f}")
            labelled("Suggested name", segment.name)
            if segment.id >= 0:
                labelled("Stability", stability_words(run.result.segment_stability.get(segment.id)))
            labelled("Keywords", ", ".join(segment.keywords))
            if segment.top_items:
                labelled("Items it favours most (against all users)", "; ".join(segment.top_items))
        with naming:
            naming_panel(segment, suggestions.get(segment.id))
        with st.expander("Representative comments"):
            for comment in segment.representative_comments:
                st.text(f"• {comment}")

guided.show(comments, run)

st.subheader("Assign new comments to these segments")
st.caption("Upload comments written since this run: each user is placed in the nearest saved segment, "
           "with a confidence (0 = halfway to the next segment, 1 = at the centre). Users already in the run "
           "keep their segment unless their new comments outweigh the earlier ones.")
new_file = data.uploader("New comments", key="assign_upload")
if new_file is not None:
    try:
        placed = runs.assign_upload(run, new_file.name, new_file.getvalue())
    except SegmentationError as error:
        show_error(error)
    else:
        st.write(f"{len(placed.assignments):,} users placed: {len(placed.assignments) - placed.n_known:,} new, "
                 f"{placed.n_known:,} already in the run, {placed.n_moved:,} of them moved by their new comments.")
        for warning in placed.warnings:
            st.warning(escape_markdown(warning), icon=":material/trending_up:")
        st.dataframe(placed.assignments, hide_index=True)
        downloads.new_assignments_download(placed.assignments)

profile = behaviour.show(comments, run.result, run.run_key, labels)
timeline = over_time.show(comments, run, labels)
hierarchy.show(comments, run, labels)

st.subheader("Downloads")
downloads.run_downloads(run, profile)
downloads.report_download(run, profile, timeline)
st.page_link("pages/recommend.py", label="Next: recommendations per user", icon=":material/arrow_forward:")
