"""Recommend: does segmenting help recommendations here (yes or no, first), then one user's comments,
segment and place on the map, and their recommendations beside popularity."""

import streamlit as st

from segmentation.core.errors import SegmentationError
from segmentation.present.maps import sample_note, sample_rows
from segmentation.present.recommend import (
    METHOD,
    WHERE_HELP,
    evaluation_reading,
    method_columns,
    method_table,
    methods_help,
    where_table,
)
from segmentation.present.views import (
    lift_frame,
    map_frame,
    membership_words,
    recommended_method,
    segment_labels,
    segment_of,
    user_comments,
)
from ui import charts, loaders, route, runs, state
from ui.text import labelled, long_text_table, show_error

route.through_app()

st.title("Recommend")
comments, run = runs.require()

result = runs.named_result(run)
labels = segment_labels(result.segments)
top_n = state.kept(st.slider, "Number of recommendations", key="rec_top_n", default=10, min_value=1,
                   max_value=30)

st.subheader("Do segments make better recommendations here?")
evaluation = None
if not comments.has_items:
    st.info("To answer, the data needs an item column (which items each user commented on).")
else:
    evaluation = loaders.cached_evaluation(comments, run.result.config, top_n)
    if evaluation is None:
        st.caption("Each user's latest item is hidden, segments are rebuilt from the rest, and each method must "
                   "find the hidden item in its top list. This takes a while on large data.")
        if st.button("Find out", icon=":material/analytics:"):
            try:
                with st.status("Evaluating…", expanded=True) as status:
                    evaluation = loaders.evaluation_for(comments, run.result.config, top_n, runs.StageReporter())
                    status.update(label="Evaluation done", state="complete", expanded=False)
            except SegmentationError as error:
                show_error(error)
    if evaluation is not None:
        answer = evaluation.answer()
        {"yes": st.success, "no": st.warning, "unclear": st.info}[answer.verdict](answer.sentence)
        how, technical = evaluation_reading(evaluation)
        st.caption(how, help=technical)
        lift = lift_frame(evaluation.lift_by_segment(), labels)
        if len(lift):
            st.plotly_chart(charts.lift_bars(lift), key="lift")
        else:
            st.caption("In every segment both methods found the hidden item for exactly the same users: no "
                       "segment shows a difference, so there is no per-segment chart.")
        with st.expander("The figures behind the answer"):
            st.dataframe(method_table(evaluation), hide_index=True, column_config={
                METHOD: st.column_config.TextColumn(METHOD, help=methods_help(evaluation.methods)),
                **{title: st.column_config.NumberColumn(title, help=help_text, format=fmt)
                   for title, (help_text, fmt) in method_columns().items()},
            })
            st.caption("Where segments help, by group of users (the best method that uses segments against the best "
                       "that ignores them):")
            st.dataframe(where_table(evaluation), hide_index=True, column_config={
                title: st.column_config.NumberColumn(title, help=help_text, format=fmt) if fmt
                else st.column_config.CheckboxColumn(title, help=help_text)
                for title, (_, help_text, fmt) in WHERE_HELP.items()
            })

st.subheader("One user's recommendations")
user_ids = result.user_ids.tolist()
user = state.kept(st.selectbox, "User (type to search)", key="rec_user", default=user_ids[0],
                  options=user_ids)
chosen = recommended_method(evaluation)
try:
    recommenders = loaders.recommenders_for(run.prepared, run.result, chosen.method)
    ours, popular, answered_by = recommenders.for_user(user, top_n)
except SegmentationError as error:
    show_error(error)
    st.stop()

segment = segment_of(result.assignments, user)
labelled("Segment", labels.get(segment, str(segment)))
if (membership := membership_words(result.assignments, user, labels)) is not None:
    labelled("How firmly", membership)
about, where = st.columns([2, 3])
with about:
    st.markdown("**Their comments**")
    # The comment first and wrapped: beside the map the column is narrow, and a marketer reads the words.
    theirs = user_comments(comments, user)
    long_text_table(theirs, column_order=["text", *(c for c in theirs.columns if c != "text")])
with where:
    snippets = loaders.snippets_for(run.fingerprint, run.prepared.comments, run.result.user_ids)
    frame = map_frame(result.assignments, labels, snippets, highlight=user)
    shown = frame.iloc[sample_rows(frame["segment"].to_numpy(), keep=frame.index[frame["highlight"]])]
    st.plotly_chart(charts.segment_map(shown, charts.segment_colours(labels), title="Where the user sits (star)"),
                    key="user_map", config=charts.MAP_CONFIG)
    if len(shown) < len(frame):
        st.caption(sample_note(len(shown), len(frame)))

mine, everyone = st.columns(2)
with mine:
    st.markdown("**Recommended**")
    st.caption(recommenders.caption(top_n, answered_by, chosen))
    long_text_table(ours)
with everyone:
    st.markdown("**Most popular**")
    if popular is None:
        st.caption("The data has no item column, so there is no popularity list to compare with.")
    else:
        st.caption("The most popular items the user has not commented on, for comparison.")
        long_text_table(popular)
