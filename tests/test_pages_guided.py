"""The Segments page's guided section: personas typed in words place the demo users, the page shows how many each
persona found and how well they fit, refuses bad personas with one message, and saves the result as a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from segmentation.runs.workspace import Workspace
from tests.pages_helpers import run_segmentation, start, texts

PERSONAS = ("audio fans: headphones, speakers, DACs, microphones, sound quality\n"
            "coffee lovers: espresso, grinders, coffee beans, brewing\n"
            "<script>alert(1)</script> gamers: tabletop games, rules, players, game nights")


@pytest.fixture(autouse=True)
def fast_workspace(workspace: Path, fast_home: Path) -> Path:
    """The test's own workspace, holding the fast encoder distilled once for the session."""
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "models").symlink_to(fast_home / "models", target_is_directory=True)
    return workspace


def guided_page(personas: str):
    at = run_segmentation(start(), encoder="fast", k=6)
    at.switch_page("pages/segments.py").run()
    assert not at.exception, at.exception
    at.text_area(key="guided_personas").input(personas)
    next(b for b in at.button if b.label == "Place the users").click().run()
    assert not at.exception, at.exception
    return at


def fit_tables(at):
    """The guided fit tables on the page (AppTest gives a table no key: known by its columns)."""
    return [frame.value for frame in at.dataframe if "mean_confidence" in frame.value.columns]


def fit(at):
    return fit_tables(at)[0]


@pytest.mark.slow
def test_personas_typed_on_the_page_place_every_user_and_save_as_a_run_named_after_them():
    at = guided_page(PERSONAS)
    table = fit(at)
    assert table["users"].sum() == 500
    assert list(table["name"][:3]) == ["audio fans", "coffee lovers", "<script>alert(1)</script> gamers"]
    assert set(table["kind"][3:]) <= {"discovered"}
    sentence = next(t for t in texts(at) if "placed against 3 personas" in t)
    placed = table.loc[table["kind"] == "persona", "users"].sum()
    assert sentence.startswith(f"{placed:,} of 500 users")
    # The name a user typed is shown as text and in the table, never as Markdown or HTML.
    assert not any("<script>" in m.value for m in at.markdown)

    next(b for b in at.button if b.label == "Save as a run of its own").click().run()
    assert not at.exception, at.exception
    message = next(s.value for s in at.success if "Saved as run" in s.value)
    key = message.split("Saved as run ", 1)[1].split(",", 1)[0]
    saved = Workspace().table(key)
    names = dict(zip(saved["segment"], saved["segment_name"], strict=False))
    for segment, name in enumerate(table["name"][:3]):
        if table["users"][segment]:
            assert names[segment] == name
    assert key != at.session_state["run"].run_key


@pytest.mark.slow
@pytest.mark.parametrize("personas, says", [
    ("", "no personas given"),
    ("fans: hockey\nFans: baseball", "same name"),
    ("咖啡爱好者：意式浓缩\n跑者：跑鞋", "script but the comments"),
])
def test_bad_personas_are_refused_on_the_page_with_one_message(personas, says):
    at = guided_page(personas)
    assert any(says in e.value.replace("\\", "") for e in at.error)
    assert fit_tables(at) == []
