"""The Segment page: settings, a run with live stages, metric cards, the map and the charts."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from tests.fixtures import labelled_comments, labelled_comments_zh
from tests.pages_helpers import array, figure, figures, metric, open_chart, run_button, run_segmentation, start


@pytest.mark.slow
def test_kmeans_with_tfidf_shows_metric_cards_and_a_map_coloured_by_segment():
    at = run_segmentation(start(), encoder="tfidf", k=4)
    assert metric(at, "Segments") == "4"
    assert -1.0 <= float(metric(at, "Silhouette")) <= 1.0
    assert float(metric(at, "Davies–Bouldin")) > 0
    assert metric(at, "Users in a segment") == "100%"
    scatter = figure(at, "Users on the map")
    # One trace per segment; the users between segments repeat on a trace of their own, hidden until clicked.
    traces = [t for t in scatter["data"] if t.get("mode", "markers") == "markers" and t.get("visible") != "legendonly"]
    assert len(traces) == 4
    assert sum(len(array(t["x"])) for t in traces) == len(at.session_state["run"].result.assignments)
    # Each point names its row (what a selection reads) and carries its user and comment snippet for the hover.
    assert len(array(traces[0]["customdata"])) == len(traces[0]["text"]) == len(traces[0]["hovertext"])
    assert "%{hovertext}" in traces[0]["hovertemplate"]
    assert scatter["layout"]["xaxis"]["showticklabels"] is False  # the axes mean nothing to read
    assert any("write alike" in c.value for c in at.caption)
    between = int(at.session_state["run"].result.assignments["between"].sum())
    assert any(f"marks the {between:,} users whose own segment" in c.value for c in at.caption) == (between > 0)
    # Below the map one chart at a time, only the open tab's drawn: the sizes until another tab is opened.
    for tab, title in [("Silhouette per user", "Silhouette per user"), ("Quality sweep", "Quality against k"),
                       ("Segment sizes", "Segment sizes")]:
        drawn = [f["layout"]["title"]["text"] for f in figures(at)[1:]]
        assert len(drawn) == 1, drawn
        open_chart(at, tab)
        assert not at.exception, at.exception
        drawn = [f["layout"]["title"]["text"] for f in figures(at)]
        assert drawn[0].startswith("Users on the map") and len(drawn) == 2 and drawn[1].startswith(title), drawn


@pytest.mark.slow
def test_the_open_chart_tab_is_kept_across_pages_and_a_new_k():
    at = open_chart(run_segmentation(start(), encoder="tfidf", k=4), "Quality sweep")
    at.switch_page("pages/segments.py").run()
    at.switch_page("pages/segment.py").run()
    assert "this run's k = 4" in figure(at, "Quality against k")["layout"]["title"]["text"]
    at.slider(key="seg_k").set_value(5).run()
    run_button(at).click().run()
    assert not at.exception, at.exception
    assert metric(at, "Segments") == "5"
    assert "this run's k = 5" in figure(at, "Quality against k")["layout"]["title"]["text"]
    assert not [f for f in figures(at) if f["layout"]["title"]["text"].startswith("Segment sizes")]


def upload(at, frame, name="groups.csv"):
    at.radio(key="data_choice").set_value("upload").run()
    at.file_uploader(key="upload").set_value((name, frame.to_csv(index=False).encode(), "text/csv")).run()
    return at


@pytest.mark.slow
def test_the_run_shows_a_line_per_stage_with_its_time():
    # Data no other test encodes, so nothing comes from the in-memory cache.
    at = upload(start(), labelled_comments(users_per_group=6, comments_per_user=2, seed=7))
    at = run_segmentation(at, encoder="tfidf", k=3)
    lines = [m.value for m in at.markdown]
    for stage in ("Encoding comments", "Building user profiles", "Clustering", "Describing segments"):
        assert any(line.startswith(f"{stage}: done in") for line in lines), lines


@pytest.mark.slow
def test_changing_only_k_reuses_the_cached_embeddings_and_map():
    at = run_segmentation(start(), encoder="tfidf", k=4)
    first = at.session_state["run"]
    at.slider(key="seg_k").set_value(5).run()
    assert any("cached" in c.value for c in at.caption)  # told before pressing Run
    run_button(at).click().run()
    second = at.session_state["run"]
    assert second.reused and second.prepared is first.prepared
    assert metric(at, "Segments") == "5"
    assert any("re-used" in c.value for c in at.caption)


@pytest.mark.slow
def test_k_sweep_covers_the_slider_marks_the_chosen_k_and_says_why():
    at = open_chart(run_segmentation(start(), encoder="tfidf", k=None), "Quality sweep")  # k chosen automatically
    sweep = figure(at, "Quality against k (chosen k =")
    chosen = int(sweep["layout"]["title"]["text"].split("chosen k = ")[1].split(",")[0])
    assert metric(at, "Segments") == str(chosen)
    assert any(i.value.startswith(f"k={chosen}:") and "k = 3..12" in i.value and "resampled" in i.value
               for i in at.info)
    # Said once: the reason is the box, not also a note under the cards (issue 20 found it printed twice).
    said = [e.value for e in [*at.info, *at.text] if e.value.startswith(f"k={chosen}:")]
    assert len(said) == 1, said
    slider = at.slider(key="seg_k")
    panels = {trace["xaxis"] for trace in sweep["data"]}
    assert len(panels) == 5  # stability, silhouette, CH, DB, inertia
    stability = next(t for t in sweep["data"] if t["name"] == "stability")
    ks = array(stability["x"]).astype(int)
    assert ks.min() == slider.min and ks.max() == slider.max


@pytest.mark.slow
def test_agglomerative_run_draws_the_dendrogram():
    at = open_chart(run_segmentation(start(), encoder="tfidf", algorithm="agglomerative", k=4), "Dendrogram")
    dendrogram = figure(at, "Dendrogram")
    assert len(dendrogram["data"]) >= 3


def test_unavailable_encoder_is_listed_with_its_reason_and_refused(monkeypatch):
    # Without an endpoint or key in the environment the OpenAI-compatible encoder cannot run anywhere.
    for variable in ("SEGMENT_STUDIO_OPENAI_BASE_URL", "SEGMENT_STUDIO_OPENAI_API_KEY", "OPENAI_BASE_URL",
                     "OPENAI_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    at = start()
    at.switch_page("pages/segment.py").run()
    at.selectbox(key="seg_encoder").set_value("openai").run()
    warning = next(w.value for w in at.warning if "cannot run here" in w.value)
    assert "no OpenAI-compatible server" in warning
    assert "SEGMENT_STUDIO" not in warning  # the app's hints speak the user's language, not the settings'
    assert run_button(at).disabled


@pytest.mark.slow
def test_minilm_on_an_uploaded_file_finds_the_written_groups():
    frame = labelled_comments(users_per_group=10, comments_per_user=3)
    at = run_segmentation(upload(start(), frame), encoder="minilm", k=4)
    result = at.session_state["run"].result
    truth = frame.drop_duplicates("user_id").set_index("user_id")["true_group"]
    nmi = normalized_mutual_info_score(truth.loc[result.user_ids].to_numpy(), np.asarray(result.labels))
    assert nmi > 0.8


def test_chinese_upload_preselects_the_multilingual_encoder_and_warns_against_minilm():
    at = upload(start(), labelled_comments_zh(users_per_group=5, comments_per_user=2), name="评论.csv")
    at.switch_page("pages/segment.py").run()
    assert at.selectbox(key="seg_encoder").value == "multilingual"
    assert not any("reads only English" in w.value for w in at.warning)
    at.selectbox(key="seg_encoder").set_value("minilm").run()
    assert any("reads only English" in w.value for w in at.warning)


def test_two_users_get_two_segments_without_a_k_slider():
    frame = labelled_comments(users_per_group=1, comments_per_user=2).head(4)
    at = upload(start(), frame, name="two.csv")
    at.switch_page("pages/segment.py").run()
    at.selectbox(key="seg_encoder").set_value("tfidf").run()
    run_button(at).click().run()
    assert not at.exception and not at.error
    assert metric(at, "Segments") == "2"
    assert any("Two users" in c.value for c in at.caption)


def test_the_map_names_each_segment_once_and_a_word_search_rings_the_users_who_wrote_the_words():
    frame = labelled_comments(users_per_group=6, comments_per_user=2, seed=9)
    at = run_segmentation(upload(start(), frame, name="map.csv"), encoder="tfidf", k=4)
    scatter = figure(at, "Users on the map")
    labels = {s.name for s in at.session_state["run"].result.segments}
    assert sorted(a["text"] for a in scatter["layout"]["annotations"]) == sorted(labels)
    at.text_input(key="map_words").input("GRINDER").run()
    rings = next(t for t in figure(at, "Users on the map")["data"] if t.get("name", "").startswith("Search"))
    wrote = set(frame.loc[frame["text"].str.lower().str.contains("grinder"), "user_id"])
    assert wrote
    assert set(rings["text"]) == wrote
    assert any(f"{len(wrote):,} users ringed" in c.value for c in at.caption)

    at.text_input(key="map_words").input("").run()
    at.text_input(key="map_meaning").input("muddy trail running shoes").run()
    listed = at.dataframe[0].value  # the 20 closest comments, listed in full under the map
    assert len(listed) == 20 and at.dataframe[0].proto.row_height > 64  # long comments wrap
    runners = set(frame.loc[frame["true_group"] == "running", "user_id"])
    assert listed["user_id"].head(5).isin(runners).all()
    rings = next(t for t in figure(at, "Users on the map")["data"] if t.get("name", "").startswith("Search"))
    assert set(rings["text"]) == set(listed["user_id"])


def test_after_a_run_the_estimate_comes_from_the_speed_measured_on_this_machine():
    from segmentation.embed.throughput import ThroughputLog

    frame = labelled_comments(users_per_group=10, comments_per_user=3, seed=21)  # 120 comments, never cached
    at = upload(start(), frame, name="timed.csv")
    at.switch_page("pages/segment.py").run()
    at.selectbox(key="seg_encoder").set_value("tfidf").run()
    assert any("a first guess until a run is timed" in c.value for c in at.caption)
    run_button(at).click().run()
    assert ThroughputLog().rate("tfidf") > 0
    other = labelled_comments(users_per_group=10, comments_per_user=3, seed=22)
    at.switch_page("pages/data.py").run()
    at = upload(at, other, name="timed2.csv")
    at.switch_page("pages/segment.py").run()
    assert any("at the speed measured on this machine" in c.value for c in at.caption)


def test_a_saved_selection_splits_a_segment_everywhere_and_undo_restores_it():
    from segmentation.runs.edits import EditLog, split_edit

    frame = labelled_comments(users_per_group=8, comments_per_user=2, seed=12)
    at = run_segmentation(upload(start(), frame, name="edit.csv"), encoder="tfidf", k=3)
    run = at.session_state["run"]
    runners = frame.loc[frame["true_group"] == "running", "user_id"].unique()[:5]
    # What the page's "Save as a new segment" stores for a lasso around these users (the browser test
    # draws the lasso itself).
    EditLog().add(run.run_key, split_edit(run.result.user_ids, runners), labels=run.result.labels)
    at.run()
    assert not at.exception, at.exception
    assert metric(at, "Segments") == "4"
    assert len(figure(at, "Users on the map")["layout"]["annotations"]) == 4
    at.switch_page("pages/segments.py").run()  # the Segments page (cards, downloads) sees the edit too
    assert len([w for w in at.text_input if (w.key or "").startswith("name_")]) == 4
    at.switch_page("pages/segment.py").run()
    next(b for b in at.button if b.label == "Undo the last edit").click().run()
    assert metric(at, "Segments") == "3"
    assert any("Undone" in t.value for t in at.toast)
    assert EditLog().edits(run.run_key) == []


@pytest.mark.slow
def test_hdbscan_min_samples_is_a_widget_and_reaches_the_run():
    at = start()
    at.switch_page("pages/segment.py").run()
    at.selectbox(key="seg_encoder").set_value("tfidf").run()
    at.selectbox(key="seg_algorithm").set_value("hdbscan").run()
    assert at.checkbox(key="seg_auto_min_samples").value  # None: as much as the minimum cluster size
    assert at.number_input(key="seg_min_samples").disabled
    at.checkbox(key="seg_auto_min_samples").uncheck().run()
    at.number_input(key="seg_min_samples").set_value(3).run()
    at.radio(key="seg_selection").set_value("leaf").run()
    run_button(at).click().run()
    assert not at.exception
    config = at.session_state["run"].result.config
    assert (config.min_samples, config.cluster_selection) == (3, "leaf")


def test_the_fast_encoders_one_off_preparation_is_said_before_run():
    from segmentation.embed.base import encoder_status

    if not next(s for s in encoder_status() if s.name == "fast").available:
        pytest.skip("the fast encoder's packages are not installed")
    at = start()  # a fresh workspace, and the start-up thread does not distil in tests
    at.switch_page("pages/segment.py").run()
    at.selectbox(key="seg_encoder").set_value("fast").run()
    note = next(c.value for c in at.caption if "prepared once per workspace" in c.value)
    assert "before its first run" in note and " s of both cores" in note
    at.selectbox(key="seg_encoder").set_value("tfidf").run()
    assert not any("prepared once per workspace" in c.value for c in at.caption)


@pytest.mark.slow
def test_hdbscan_cards_say_which_users_their_scores_cover_and_its_warnings_name_the_pages_settings():
    at = run_segmentation(start(), encoder="tfidf", algorithm="hdbscan")
    metrics = at.session_state["run"].result.metrics
    n_users = len(at.session_state["run"].result.user_ids)
    share = 1 - metrics["n_noise"] / n_users
    assert metrics["n_noise"] > 0  # the demo leaves some users in no segment with HDBSCAN
    cards = {m.label: m for m in at.metric}
    assert cards["Users in a segment"].value == f"{share:.0%}"
    for score in ("Silhouette", "Calinski–Harabasz", "Davies–Bouldin"):
        card = cards[f"{score} ({share:.0%} of users)"]
        assert f"{metrics['n_noise']:,} noise users" in card.help
    shown = " ".join(w.value for w in at.warning)
    assert "min_samples" not in shown and "leaf cluster selection" not in shown


@pytest.mark.slow
def test_the_greyed_k_slider_shows_the_k_the_automatic_choice_took():
    at = run_segmentation(start(), encoder="tfidf", k=None)  # k chosen automatically
    chosen = at.session_state["run"].result.choice.k
    slider = at.slider(key="seg_k")
    assert slider.disabled and slider.value == chosen == int(metric(at, "Segments"))
    # Ticking "automatic" off starts the slider from that k.
    at.checkbox(key="seg_auto_k").uncheck().run()
    assert not at.slider(key="seg_k").disabled and at.slider(key="seg_k").value == chosen
