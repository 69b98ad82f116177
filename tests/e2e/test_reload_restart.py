"""Work is not lost: a browser reload keeps the Segment settings, a server restart keeps the upload.

Two servers share one workspace folder, one after the other, as a restart would.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from segmentation.runs.workspace import Workspace
from tests.e2e.browser import choose, nav, recording_page, require_browser, upload
from tests.e2e.live import serve
from tests.fixtures import labelled_comments

pytestmark = pytest.mark.e2e
playwright_api = require_browser()

CHANGED = "press Run to apply the changed settings"
WAIT = 180_000  # ms: the machine may be busy


def k_slider(page):
    return page.locator('[data-testid="stSlider"]').filter(has_text="Number of segments").locator(
        'input[type="range"]')


def test_reload_keeps_the_settings_and_a_restart_keeps_the_upload(tmp_path: Path):
    expect = playwright_api.expect
    csv = tmp_path / "reviews.csv"
    frame = labelled_comments(users_per_group=8, comments_per_user=2, seed=11).drop(columns=["true_group"])
    frame.to_csv(csv, index=False)
    workspace = tmp_path / "workspace"
    with recording_page() as (page, dialogs, _):
        with serve(workspace, tmp_path / "first.log") as url:
            page.goto(url)
            expect(page.get_by_text("Generated demo data")).to_be_visible(timeout=WAIT)
            upload(page, csv, timeout=WAIT)
            nav(page, "Segment")
            choose(page, "Encoder", "TF-IDF")
            page.get_by_text("Choose k automatically").click()
            expect(k_slider(page)).to_be_enabled(timeout=WAIT)
            k_slider(page).focus()
            page.keyboard.press("ArrowRight")  # 6 → 7
            expect(k_slider(page)).to_have_value("7", timeout=WAIT)
            page.locator('[data-testid="stBaseButton-primary"]').filter(has_text="Run").click()
            expect(page.get_by_text("Silhouette", exact=True)).to_be_visible(timeout=WAIT)
            expect(page.locator('[data-testid="stMetricValue"]').nth(3)).to_have_text("7", timeout=WAIT)

            page.reload()
            expect(page.get_by_text("Silhouette", exact=True)).to_be_visible(timeout=WAIT)
            expect(k_slider(page)).to_have_value("7", timeout=WAIT)
            expect(page.get_by_role("combobox", name="Encoder")).to_have_value(re.compile("^TF-IDF"))
            expect(page.locator('[data-testid="stMetricValue"]').nth(3)).to_have_text("7", timeout=WAIT)
            expect(page.get_by_text(CHANGED)).to_have_count(0, timeout=WAIT)  # nothing changed: no false claim

            k_slider(page).focus()
            page.keyboard.press("ArrowLeft")  # changed, not run: the reload keeps the change too
            expect(page.get_by_text(CHANGED)).to_be_visible(timeout=WAIT)
            page.wait_for_timeout(1000)  # the URL follows the widget after its rerun
            page.reload()
            expect(k_slider(page)).to_have_value("6", timeout=WAIT)
            expect(page.get_by_text(CHANGED)).to_be_visible(timeout=WAIT)
            address = page.url
        with serve(workspace, tmp_path / "second.log") as url:
            page.goto(url + address[address.index("/segment"):])
            expect(page.get_by_text("Restored reviews.csv from the workspace")).to_be_visible(timeout=WAIT)
            data_line = page.get_by_text(f"reviews.csv: {frame['user_id'].nunique()} users").first
            expect(data_line).to_be_visible(timeout=WAIT)
            expect(page.get_by_text("Silhouette", exact=True)).to_be_visible(timeout=WAIT)
            expect(page.get_by_text("Generated demo data")).to_have_count(0, timeout=WAIT)
    assert not dialogs


def test_cancel_stops_a_run_mid_encoding_and_saves_nothing(tmp_path: Path):
    expect = playwright_api.expect
    csv = tmp_path / "many.csv"
    # Enough comments that MiniLM encodes for most of a minute: time to press Cancel mid-way.
    labelled_comments(users_per_group=100, comments_per_user=8, seed=5).drop(columns=["true_group"]).to_csv(
        csv, index=False)
    workspace = tmp_path / "workspace"
    with recording_page() as (page, dialogs, _), serve(workspace, tmp_path / "server.log") as url:
        page.goto(url)
        upload(page, csv, timeout=WAIT)
        nav(page, "Segment")
        choose(page, "Encoder", "MiniLM (all-MiniLM-L6-v2, English, bundled)", search="MiniLM (all")
        page.locator('[data-testid="stBaseButton-primary"]').filter(has_text="Run").click()
        expect(page.get_by_text(re.compile(r"Encoding comments: [\d,]+ / "))).to_be_visible(timeout=WAIT)
        page.get_by_role("button", name="Cancel").click()
        expect(page.get_by_text("Run cancelled: nothing was changed")).to_be_visible(timeout=WAIT)
        expect(page.get_by_text("Silhouette", exact=True)).to_have_count(0)
    assert Workspace(workspace / "workspace.sqlite").all_runs() == []  # no run saved, no half run
    assert not dialogs
