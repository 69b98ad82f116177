"""The Segments page's guided section: personas typed in words, the run's users placed against them, how many
each found and how well they fit, a download, and saving the result as a run of its own.

It sits on the Segments page, under the segment cards, because a marketer reads the run's segments there first
and then asks whether the personas they already believe in are among them. The placing is
:mod:`segmentation.runs.guided`, the table and the sentence :mod:`segmentation.present.guided`.
"""

from __future__ import annotations

import streamlit as st

from segmentation.cluster.guided import MIN_SIMILARITY, parse_personas
from segmentation.core.errors import SegmentationError
from segmentation.describe.export import assignments_csv
from segmentation.embed.cache import EmbeddingCache
from segmentation.ingest.io import Comments
from segmentation.present.guided import fit_table, summary_sentence
from segmentation.runs.guided import guide_users, guided_table, save_guided
from segmentation.runs.service import Run
from ui import loaders
from ui import runs as runs_ui
from ui.text import show_error

_RESULT = "guided_result"  # (run key, labels digest, Guided): the last placing, shown until the run changes
_SAVED = "guided_saved"  # str: the key of the run the last placing was saved as
EXAMPLE = ("hockey fans: ice hockey, NHL teams, players, playoffs\n"
           "coffee lovers: espresso, grinders, beans, brewing at home")


def show(comments: Comments | None, run: Run) -> None:
    """Draw the section: the personas form, then the last placing of this run's users, if any."""
    st.subheader("Start from personas")
    st.caption("Describe the users you expect, one persona per line as “name: description”. Each user goes to "
               "the persona whose description is nearest to what they write, with a confidence (0 = halfway "
               "to the next persona); users far from every persona stay in the run's own segments, shown as "
               "discovered.")
    if comments is None:
        st.caption("Personas need the comments: they are not available for a run folder.")
        return
    with st.form("guided_form"):
        text = st.text_area("Personas", key="guided_personas", placeholder=EXAMPLE, height=140)
        threshold = st.slider("Least similarity to a persona", min_value=0.0, max_value=0.6, value=MIN_SIMILARITY,
                              step=0.05, key="guided_min_similarity",
                              help="Users less similar than this to every persona are left to the discovered "
                                   f"segments. {MIN_SIMILARITY:g} was measured best on real labelled users.")
        placed = st.form_submit_button("Place the users", icon=":material/person_search:")
    result = run.result
    if placed:
        try:
            with st.spinner("Placing the users against the personas…"):
                guided = guide_users(comments, run.prepared.profiles.vectors, result.labels, parse_personas(text),
                                     result.config.encoder, min_similarity=threshold, cache=EmbeddingCache())
        except SegmentationError as error:
            show_error(error)
            return
        st.session_state[_RESULT] = (run.run_key, result.labels.tobytes(), guided)
        st.session_state.pop(_SAVED, None)
    kept = st.session_state.get(_RESULT)
    if kept is None or kept[0] != run.run_key or kept[1] != result.labels.tobytes():
        return  # nothing placed yet for this run as it is now (another run, or edited since)
    _draw(run, kept[2])


def _draw(run: Run, guided) -> None:
    names = {s.id: s.name for s in runs_ui.named_result(run).segments}
    st.text(summary_sentence(guided))  # quotes persona names typed by the user: text, never Markdown
    st.dataframe(fit_table(guided, names), hide_index=True, key="guided_fit", column_config={
        "segment": None,
        "name": st.column_config.TextColumn("Persona or discovered segment", width="large"),
        "kind": st.column_config.TextColumn("Kind"),
        "users": st.column_config.NumberColumn("Users"),
        "share": st.column_config.NumberColumn("Share", format="percent"),
        "mean_similarity": st.column_config.ProgressColumn("Mean similarity", min_value=-1.0, max_value=1.0,
                                                           format="%.2f"),
        "mean_confidence": st.column_config.ProgressColumn("Mean confidence", min_value=0.0, max_value=1.0,
                                                           format="%.2f"),
    })
    user_ids = run.result.user_ids
    download, save = st.columns(2)
    download.download_button("Guided segments per user (CSV)", lambda: assignments_csv(guided_table(user_ids, guided,
                             names)), "guided_segments.csv", "text/csv", icon=":material/download:",
                             key="guided_csv")
    if save.button("Save as a run of its own", key="guided_save", icon=":material/save:"):
        try:
            st.session_state[_SAVED] = save_guided(run.run_key, user_ids, guided, names,
                                                   workspace=loaders.workspace())
        except SegmentationError as error:
            show_error(error)
    if (saved := st.session_state.get(_SAVED)):
        st.success(f"Saved as run {saved}, its segments named after the personas; it is listed on the Runs page.",
                   icon=":material/check:")
        if st.button("Show the guided segments", key="guided_show", icon=":material/swap_horiz:"):
            runs_ui.open_saved(saved)  # on the Segment page, with its map and cards, named in the address
