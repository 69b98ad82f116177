"""The Segments page: names saved at once, seen by a fresh session, carried over, suggested by an LLM."""

from __future__ import annotations

import pytest

from segmentation.naming import ENV_API_KEY, ENV_BASE_URL, ENV_MODEL
from segmentation.workspace import Workspace
from tests.openai_stub_server import StubServer
from tests.pages_helpers import figure, run_segmentation, start, texts


def name_key(at, segment_id: int) -> str:
    return next(w.key for w in at.text_input if w.key and w.key.startswith("name_") and
                w.key.endswith(f"_{segment_id}"))


def segments_page(at):
    at.switch_page("pages/segments.py").run()
    assert not at.exception, at.exception
    return at


def test_renamed_segment_is_saved_and_seen_by_a_fresh_session_and_on_the_map():
    at = segments_page(run_segmentation(start(), k=4))
    key = name_key(at, 0)
    at.text_input(key=key).input("Espresso <script>lovers</script>").run()
    run_key = at.session_state["run"].run_key
    assert Workspace().names(run_key)[0].name == "Espresso <script>lovers</script>"
    assert any("Saved the name" in t.value and "lovers" in t.value for t in at.toast)

    fresh = segments_page(start())  # a new browser session: the last run is restored from the workspace
    assert fresh.text_input(key=key).value == "Espresso <script>lovers</script>"
    fresh.switch_page("pages/segment.py").run()
    legend = [t["name"] for t in figure(fresh, "Users on the map")["data"]]
    assert "Espresso &lt;script&gt;lovers&lt;/script&gt;" in legend


def test_empty_name_is_refused_with_the_workspace_message_and_the_old_name_kept():
    at = segments_page(run_segmentation(start(), k=3))
    key = name_key(at, 1)
    before = at.text_input(key=key).value
    at.text_input(key=key).input("   ").run()
    assert any("cannot be empty" in e.value for e in at.error)
    assert at.text_input(key=key).value == before


def test_names_carry_over_to_a_rerun_with_another_k_and_the_page_says_so():
    at = segments_page(run_segmentation(start(), k=4))
    # Every segment named: one that splits in two at k=5 keeps no name, the others carry theirs.
    for index in range(4):
        at.text_input(key=name_key(at, index)).input(f"Kept name {index}").run()
    at = segments_page(run_segmentation(at, k=5))
    assert any("carried over" in s.value for s in at.success)
    names = [w.value for w in at.text_input if w.key and w.key.startswith("name_")]
    kept = [name for name in names if name.startswith("Kept name")]
    assert 1 <= len(kept) <= 4 and len(set(kept)) == len(kept)
    assert any(kept[0] in t for t in texts(at))


def test_downloads_carry_the_saved_names():
    at = segments_page(run_segmentation(start(), k=3))
    at.text_input(key=name_key(at, 2)).input("=HYPERLINK(1)").run()
    downloads = at.get("download_button")
    assert len(downloads) == 4
    segments = Workspace().names(at.session_state["run"].run_key)
    assert segments[2].name == "=HYPERLINK(1)"


def test_llm_button_is_disabled_with_the_reason_without_an_endpoint(monkeypatch: pytest.MonkeyPatch):
    for variable in (ENV_BASE_URL, ENV_MODEL, ENV_API_KEY):
        monkeypatch.delenv(variable, raising=False)
    at = segments_page(run_segmentation(start(), k=3))
    button = next(b for b in at.button if b.label.startswith("Suggest names"))
    assert button.disabled
    assert any("Name suggestions need a chat model" in c.value for c in at.caption)
    assert not any("SEGMENT_STUDIO" in c.value for c in at.caption)


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
