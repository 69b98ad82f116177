"""The Segments page: names saved at once, seen by a fresh session, carried over, suggested by an LLM."""

from __future__ import annotations

import pytest

from segmentation.describe.naming import ENV_API_KEY, ENV_BASE_URL, ENV_MODEL
from segmentation.runs.workspace import Workspace
from tests.openai_stub_server import StubServer
from tests.pages_helpers import figure, run_segmentation, start, texts


def name_key(at, segment_id: int) -> str:
    return next(w.key for w in at.text_input if w.key and w.key.startswith("name_") and
                w.key.endswith(f"_{segment_id}"))


def segments_page(at):
    at.switch_page("pages/segments.py").run()
    assert not at.exception, at.exception
    return at


@pytest.mark.slow
def test_renamed_segment_is_saved_and_seen_by_a_fresh_session_and_on_the_map():
    at = segments_page(run_segmentation(start(), k=4))
    key = name_key(at, 0)
    at.text_input(key=key).input("Espresso <script>lovers</script>").run()
    run_key = at.session_state["run"].run_key
    assert Workspace().names(run_key)[0].name == "Espresso <script>lovers</script>"
    assert any("Saved the name" in t.value and "lovers" in t.value for t in at.toast)

    fresh = segments_page(start())  # a new browser session: the last run is restored from the workspace
    assert fresh.text_input(key=key).value == "Espresso <script>lovers</script>"
    # The status says the run was brought back, and which, not that the users were segmented anew.
    statuses = [e.label for e in fresh.status]
    assert any(label.startswith(f"Run {run_key} restored: ") for label in statuses), statuses
    assert not any(label.startswith("Segmented") for label in statuses), statuses
    fresh.switch_page("pages/segment.py").run()
    legend = [t["name"] for t in figure(fresh, "Users on the map")["data"]]
    assert "Espresso &lt;script&gt;lovers&lt;/script&gt;" in legend


@pytest.mark.slow
def test_empty_name_is_refused_with_the_workspace_message_and_the_old_name_kept():
    at = segments_page(run_segmentation(start(), k=3))
    key = name_key(at, 1)
    before = at.text_input(key=key).value
    at.text_input(key=key).input("   ").run()
    assert any("cannot be empty" in e.value for e in at.error)
    assert at.text_input(key=key).value == before


@pytest.mark.slow
def test_names_carry_over_to_a_rerun_with_another_k_and_the_page_says_so():
    at = segments_page(run_segmentation(start(), k=4))
    # Every segment named: one that splits in two at k=5 keeps no name, the others carry theirs.
    for index in range(4):
        at.text_input(key=name_key(at, index)).input(f"Kept name {index}").run()
    first_key = at.session_state["run"].run_key
    at = segments_page(run_segmentation(at, k=5))
    assert any("carried over" in s.value for s in at.success)
    # Expected from the two runs' users alone: an old segment's name goes to the new segment sharing more
    # than half of the users of either (Jaccard >= 0.5; at most one new segment can), and nowhere else.
    old, new = Workspace().assignments(first_key), Workspace().assignments(at.session_state["run"].run_key)
    expected = {}
    for old_id in range(4):
        members = {user for user, segment in old.items() if segment == old_id}
        for new_id in set(new.values()):
            others = {user for user, segment in new.items() if segment == new_id}
            if len(members & others) / len(members | others) >= 0.5:
                expected[new_id] = f"Kept name {old_id}"
    assert expected, "no segment of k=4 survived at k=5: the test data no longer exercises carrying"
    shown = {int(w.key.rsplit("_", 1)[1]): w.value for w in at.text_input if w.key and w.key.startswith("name_")}
    assert {key: value for key, value in shown.items() if value.startswith("Kept name")} == expected
    assert any(next(iter(expected.values())) in t for t in texts(at))


@pytest.mark.slow
def test_downloads_carry_the_saved_names():
    at = segments_page(run_segmentation(start(), k=3))
    at.text_input(key=name_key(at, 2)).input("=HYPERLINK(1)").run()
    labels = {button.proto.label for button in at.get("download_button")}
    assert {"Assignments (CSV)", "Assignments (Parquet)", "Assignments (JSON)", "Segments (JSON)"} <= labels
    segments = Workspace().names(at.session_state["run"].run_key)
    assert segments[2].name == "=HYPERLINK(1)"


@pytest.mark.slow
def test_llm_button_is_disabled_with_the_reason_without_an_endpoint(monkeypatch: pytest.MonkeyPatch):
    for variable in (ENV_BASE_URL, ENV_MODEL, ENV_API_KEY):
        monkeypatch.delenv(variable, raising=False)
    at = segments_page(run_segmentation(start(), k=3))
    button = next(b for b in at.button if b.label.startswith("Suggest names"))
    assert button.disabled
    assert any("Name suggestions need a chat model" in c.value for c in at.caption)
    assert not any("SEGMENT_STUDIO" in c.value for c in at.caption)


@pytest.mark.slow
def test_llm_suggestions_from_a_local_chat_server_can_be_accepted(monkeypatch: pytest.MonkeyPatch):
    with StubServer(api_key="sk-test") as server:
        monkeypatch.setenv(ENV_BASE_URL, server.base_url)
        monkeypatch.setenv(ENV_MODEL, "stub-model")
        monkeypatch.setenv(ENV_API_KEY, "sk-test")
        at = segments_page(run_segmentation(start(), k=3))
        ask = next(b for b in at.button if b.label.startswith("Suggest names"))
        assert not ask.disabled
        ask.click().run()
        assert not at.error, [e.value for e in at.error]
        assert server.chat_requests == 3
    suggested = [t for t in texts(at) if t.startswith("The language model suggests: ")]
    assert len(suggested) == 3 and all(" fans — Users who mostly talk about" in t for t in suggested)
    at.button(key=f"accept_{at.session_state['run'].run_key}_0").click().run()
    saved = Workspace().names(at.session_state["run"].run_key)[0]
    assert saved.source == "llm" and saved.name.endswith("fans")
    assert at.text_input(key=name_key(at, 0)).value == saved.name


@pytest.mark.slow
def test_two_sessions_renaming_one_segment_end_with_the_last_save_seen_by_both():
    first = segments_page(run_segmentation(start(), k=4))
    key = name_key(first, 0)
    first.text_input(key=key).input("Alpha").run()
    second = segments_page(start())  # another browser on the same data and run
    assert second.text_input(key=key).value == "Alpha"
    second.text_input(key=key).input("Beta").run()
    run_key = second.session_state["run"].run_key
    assert Workspace().names(run_key)[0].name == "Beta"
    first.run()  # the first browser's next rerun
    assert first.text_input(key=key).value == "Beta"


def test_each_segment_card_shows_its_own_stability_under_resampling():
    at = segments_page(run_segmentation(start(), k=4))
    stability = at.session_state["run"].result.segment_stability
    lines = [t for t in texts(at) if t.startswith("Stability: ")]
    assert len(lines) == 4 == len(stability)
    for segment_id, value in stability.items():
        word = "unstable" if value < 0.6 else "stable"
        assert any(line.startswith(f"Stability: {value:.2f}: {word}") for line in lines), (segment_id, lines)


@pytest.mark.slow
def test_new_comments_are_assigned_to_the_saved_segments_with_names_and_a_download(monkeypatch):
    from fixtures import labelled_comments

    from tests.test_pages_segment import upload

    frame = labelled_comments(users_per_group=8, comments_per_user=3, seed=2)
    with StubServer() as server:
        monkeypatch.setenv("SEGMENT_STUDIO_OPENAI_BASE_URL", server.base_url)
        at = upload(start(), frame.drop(columns="true_group"))
        at.switch_page("pages/segment.py").run()
        at.selectbox(key="seg_encoder").set_value("openai").run()
        at.text_input(key="seg_encoder_arg_openai").input("stub-embed").run()
        at = segments_page(run_segmentation(at, encoder="openai", k=4))
        run_key = at.session_state["run"].run_key
        assert at.session_state["run"].result.config.encoder == "openai:stub-embed"
        at.text_input(key=name_key(at, 0)).input("First segment").run()
        newcomers = labelled_comments(users_per_group=2, comments_per_user=2, seed=9)
        newcomers["user_id"] = "new-" + newcomers["user_id"]
        at.file_uploader(key="assign_upload").set_value(
            ("new.csv", newcomers.drop(columns="true_group").to_csv(index=False).encode(), "text/csv")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any(m.value.startswith("8 users placed: 8 new") for m in at.markdown)
    table = at.dataframe[0].value
    assert len(table) == 8 and set(table["status"]) == {"new"}
    saved = Workspace().assignments(run_key)
    assert set(table["segment"]) <= set(saved.values())
    assert (table.loc[table["segment"] == 0, "segment_name"] == "First segment").all()
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Assignments of the new comments (CSV)" in labels


@pytest.mark.slow
def test_assigning_to_a_tfidf_run_says_why_it_cannot():
    at = segments_page(run_segmentation(start(), k=3))
    at.file_uploader(key="assign_upload").set_value(("new.csv", b"user_id,text\nz1,great espresso\n", "text/csv"))
    at.run()
    assert not at.exception
    assert any("depend on the whole file" in e.value for e in at.error)


@pytest.mark.slow
def test_each_segment_shows_the_items_it_favours_over_all_users_and_names_without_filler():
    """Issue 20: top items were each segment's most reviewed, the same item in most segments."""
    from segmentation.describe.segments import is_filler

    at = segments_page(run_segmentation(start(), k=4))
    run = at.session_state["run"]
    frame = run.prepared.comments.frame
    segment_of_comment = run.result.labels[run.prepared.profiles.comment_user]
    overall = frame["item_id"].value_counts(normalize=True)
    shown = [t.value for t in at.text if t.value.startswith("Items it favours most")]
    described = [s for s in run.result.segments if s.top_items]
    assert len(shown) == len(described) > 0
    for segment in described:
        mine = frame.loc[segment_of_comment == segment.id, "item_id"].value_counts(normalize=True)
        assert all(mine[item] > overall[item] for item in segment.top_item_ids)
        if segment.id >= 0:
            assert not any(is_filler(word) for word in segment.name.split(" · "))
