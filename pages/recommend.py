"""Recommend: one user's comments, segment and place on the map, in-segment picks beside popularity,
and whether segmenting helps recommendations at all."""

import streamlit as st

from segmentation.errors import SegmentationError
from segmentation.views import lift_frame, map_frame, segment_labels, segment_of, user_comments
from ui import charts, loaders, route, runs, state
from ui.text import labelled, show_error

route.through_app()

st.title("Recommend")
comments, run = runs.require()

result = runs.named_result(run)
labels = segment_labels(result.segments)
user_ids = result.user_ids.tolist()
user = state.kept(st.selectbox, "User (type to search)", key="rec_user", default=user_ids[0],
                  options=user_ids)
top_n = state.kept(st.slider, "Number of recommendations", key="rec_top_n", default=10, min_value=1,
                   max_value=30)

try:
    recommenders = loaders.recommenders_for(run.prepared, run.result)
    ours, popular = recommenders.for_user(user, top_n)
except SegmentationError as error:
    show_error(error)
    st.stop()

segment = segment_of(result.assignments, user)
labelled("Segment", labels.get(segment, str(segment)))
about, where = st.columns([2, 3])
with about:
    st.subheader("Their comments")
    st.dataframe(user_comments(comments, user), hide_index=True)
with where:
    snippets = loaders.snippets_for(run.fingerprint, run.prepared.comments, run.result.user_ids)
    frame = map_frame(result.assignments, labels, snippets, highlight=user)
    st.plotly_chart(charts.segment_map(frame, charts.segment_colours(labels), title="Where the user sits (star)"),
                    key="user_map")

what = "items" if recommenders.has_items else "comments by segment peers"
mine, everyone = st.columns(2)
with mine:
    st.subheader("In-segment recommendations")
    st.caption(f"Top {top_n} {what} from the user's segment ({recommenders.method.replace('_', ' ')}).")
    st.dataframe(ours, hide_index=True)
with everyone:
    st.subheader("Global popularity")
    if popular is None:
        st.caption("The data has no item column, so there is no popularity list to compare with.")
    else:
        st.caption("The most popular items the user has not commented on, for comparison.")
        st.dataframe(popular, hide_index=True)

st.subheader("Does segmenting help here?")
if not comments.has_items:
    st.info("The evaluation needs an item column (which items each user commented on).")
    st.stop()
st.caption("Leave-last-out: each user's latest item is held out, segments are rebuilt from the rest, and "
           "each recommender must rank the held-out item in its top N.")
evaluation = loaders.cached_evaluation(comments, run.result.config, top_n)
if evaluation is None and st.button("Evaluate the recommenders", icon=":material/analytics:"):
    try:
        with st.status("Evaluating…", expanded=True) as status:
            evaluation = loaders.evaluation_for(comments, run.result.config, top_n, runs.StageReporter())
            status.update(label="Evaluation done", state="complete", expanded=False)
    except SegmentationError as error:
        show_error(error)
if evaluation is not None:
    st.text(evaluation.verdict)
    labelled("Users evaluated", f"{evaluation.n_users_evaluated:,} (top {evaluation.top_n})")
    st.dataframe(evaluation.table(), column_config={
        "ndcg_lift": st.column_config.NumberColumn("NDCG lift vs popularity", format="percent"),
    })
    lift = lift_frame(evaluation.lift_by_segment(), labels)
    if len(lift):
        st.plotly_chart(charts.lift_bars(lift), key="lift")
        hurting = lift[lift["verdict"] == "hurts"]
        if len(hurting):
            st.warning(f"{len(hurting)} segments are served worse than by global popularity "
                       "(red bars): use popularity for them.")
