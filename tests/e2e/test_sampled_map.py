"""A map with more users than it draws: a word search rings every user who wrote the word and reruns only the
map's part of the page, and a lasso selects every user inside it, drawn or not, in a real browser (issue 20:
the whole map was sent and drawn again on every search)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg

from segmentation.present.maps import MAP_SAMPLE_LIMIT
from segmentation.runs.workspace import WORKSPACE_FILE, Workspace
from tests.e2e.browser import (
    choose,
    lasso,
    nav,
    recording_page,
    require_browser,
    settled,
    upload,
    websocket_frames,
)
from tests.e2e.live import serve
from tests.fixtures import labelled_comments

pytestmark = pytest.mark.e2e
playwright_api = require_browser()
WAIT = 600_000  # ms: laying out a map of several thousand users on a busy 2-core machine
GROUPS = 4


@pytest.fixture(scope="module")
def sampled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A server on its own workspace, a browser page, and the Segment page run on more users than the map
    draws; the upload's comments and the workspace come back beside the page."""
    folder = tmp_path_factory.mktemp("sampled")
    # One comment each, a few hundred users past the sample's size.
    frame = labelled_comments(users_per_group=MAP_SAMPLE_LIMIT // GROUPS + 150, comments_per_user=1, seed=31)
    csv = folder / "many-users.csv"
    frame.drop(columns=["true_group"]).to_csv(csv, index=False)
    expect = playwright_api.expect
    with serve(folder / "workspace", folder / "streamlit.log", startup_s=180) as url, recording_page() as recorded:
        page, dialogs, _ = recorded
        # Listening before the page opens its websocket: a listener added later hears nothing.
        asked, sent = rerun_requests(page), widget_values(page)
        page.goto(url)
        expect(page.get_by_text("Generated demo data")).to_be_visible(timeout=WAIT)
        upload(page, csv, timeout=WAIT)
        nav(page, "Segment", timeout=WAIT)
        choose(page, "Encoder", "TF-IDF")
        page.locator('[data-testid="stBaseButton-primary"]').filter(has_text="Run").click()
        expect(page.get_by_text("Silhouette", exact=True)).to_be_visible(timeout=WAIT)
        settled(page, WAIT)
        workspace = Workspace(folder / "workspace" / WORKSPACE_FILE)
        yield {"page": page, "dialogs": dialogs, "comments": frame, "workspace": workspace, "asked": asked,
               "sent": sent}


def widget_values(page: Any) -> list[str]:
    """Record the text value of every widget in each rerun the page asks for (a map selection is one)."""

    def values(payload: bytes) -> list[str] | None:
        message = BackMsg.FromString(payload)
        if message.WhichOneof("type") != "rerun_script":
            return None
        return [w.string_value for w in message.rerun_script.widget_states.widgets if w.string_value]

    return websocket_frames(page, "framesent", values)


def rerun_requests(page: Any) -> list[str]:
    """The fragment id of every rerun the page asks for ("" for the whole page)."""

    def fragment(payload: bytes) -> str | None:
        message = BackMsg.FromString(payload)
        return message.rerun_script.fragment_id if message.WhichOneof("type") == "rerun_script" else None

    return websocket_frames(page, "framesent", fragment)


def test_a_search_on_a_sampled_map_rings_every_writer_and_reruns_only_the_map(sampled):
    page, comments = sampled["page"], sampled["comments"]
    expect = playwright_api.expect
    n_users = comments["user_id"].nunique()
    caption = page.get_by_text(re.compile(rf"^Showing [\d,]+ of {n_users:,} users, every segment kept in proportion"))
    expect(caption).to_be_visible()
    drawn = int(re.match(r"Showing ([\d,]+) of", caption.inner_text()).group(1).replace(",", ""))
    assert drawn < n_users

    asked = sampled["asked"]
    del asked[:]
    search = page.get_by_role("textbox", name="Find users whose comments mention")
    search.fill("espresso")
    search.press("Enter")
    wrote = comments.loc[comments["text"].str.lower().str.contains("espresso"), "user_id"].nunique()
    expect(page.get_by_text(f"{wrote:,} users ringed on the map.")).to_be_visible(timeout=WAIT)
    settled(page, WAIT)
    # Every writer is ringed, drawn in the sample or not, and the map's own part of the page is all that ran.
    legend = page.locator(".js-plotly-plot").first.locator(".legendtext").filter(has_text="Search matches")
    expect(legend).to_have_text(f"Search matches ({wrote:,})")
    assert asked and all(asked), f"the search reran the whole page: {asked}"
    search.fill("")
    search.press("Enter")
    expect(page.get_by_text("users ringed on the map.")).to_have_count(0, timeout=WAIT)
    settled(page, WAIT)
    assert not sampled["dialogs"]


def test_a_lasso_on_a_sampled_map_selects_every_user_inside_it(sampled):
    page, workspace = sampled["page"], sampled["workspace"]
    expect = playwright_api.expect
    sent = sampled["sent"]
    del sent[:]
    lasso(page, 0.0, 0.5)
    chosen = page.get_by_text(re.compile(r"^[\d,]+ users selected \("))
    expect(chosen).to_be_visible(timeout=WAIT)
    selected = int(chosen.inner_text().split(" ")[0].replace(",", ""))

    # The lasso as the browser sent it: its outline in the map's units, and the drawn points it caught.
    state = next(json.loads(v) for values in reversed(sent) for v in values if '"lasso"' in v)
    outline = state["selection"]["lasso"][0]
    caught = len(state["selection"]["points"])
    # The helper draws a rectangle (the left half of the plot, top to bottom): every saved user within it.
    table = workspace.table(workspace.all_runs()[0].run_key)
    x, y = table["x"].to_numpy(np.float32), table["y"].to_numpy(np.float32)
    inside = ((x >= min(outline["x"])) & (x <= max(outline["x"])) & (y >= min(outline["y"]))
              & (y <= max(outline["y"])))
    assert selected == int(inside.sum())
    assert selected > caught > 0  # more than the drawn points the browser itself caught
    assert not sampled["dialogs"]


def test_the_webgl_map_draws_one_pixel_per_screen_pixel(sampled):
    """plotly.js draws WebGL at twice the screen's pixels unless told otherwise; the map asks for one
    (``figures.MAP_CONFIG``), as that doubled the browser's work of mounting it in software (issue 20)."""
    page = sampled["page"]
    canvas = page.locator(".js-plotly-plot").first.locator("canvas.gl-canvas-context")
    playwright_api.expect(canvas).to_be_attached()
    pixels, css_width, ratio = canvas.evaluate(
        "c => [c.width, c.getBoundingClientRect().width, window.devicePixelRatio]")
    assert css_width > 0
    assert pixels == pytest.approx(css_width * ratio, abs=1)
    assert not sampled["dialogs"]
