"""Work is not lost: a browser reload keeps the Segment settings and the run in the address, a server restart
keeps the upload and reopens a bookmarked run, a command-line run never replaces the run on screen.

Two servers share one workspace folder, one after the other, as a restart would.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from segmentation.runs.workspace import Workspace
from tests.e2e.browser import choose, nav, recording_page, require_browser, settled, upload
from tests.e2e.live import ROOT, serve
from tests.fixtures import labelled_comments

pytestmark = pytest.mark.e2e
playwright_api = require_browser()

CHANGED = "press Run to apply the changed settings"
WAIT = 180_000  # ms: the machine may be busy
NAME = "Trail runners club"


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


def run_button(page):
    return page.locator('[data-testid="stBaseButton-primary"]').filter(has_text="Run")


def segments_metric(page):
    return page.locator('[data-testid="stMetric"]').filter(has_text="Segments").locator(
        '[data-testid="stMetricValue"]')


def run_in(url: str) -> str | None:
    return parse_qs(urlsplit(url).query).get("run", [None])[0]


def after_run(page, wanted) -> None:
    """Wait until the address names a run for which ``wanted(run)`` holds, then until the page is drawn: while
    a rerun draws, the cards of the run before are still on the page beside the new ones."""
    page.wait_for_url(lambda url: wanted(run_in(url)), timeout=WAIT)
    settled(page)


def test_a_reload_after_a_command_line_run_keeps_the_run_and_offers_the_newer_one(tmp_path: Path):
    expect = playwright_api.expect
    csv = tmp_path / "reviews.csv"
    labelled_comments(users_per_group=8, comments_per_user=2, seed=13).drop(columns=["true_group"]).to_csv(
        csv, index=False)
    workspace = tmp_path / "workspace"
    with recording_page() as (page, dialogs, _), serve(workspace, tmp_path / "server.log") as url:
        page.goto(url)
        upload(page, csv, timeout=WAIT)
        nav(page, "Segment")
        choose(page, "Encoder", "TF-IDF")
        settled(page)
        run_button(page).click()
        expect(page.get_by_text("Silhouette", exact=True)).to_be_visible(timeout=WAIT)
        settled(page)
        shown = run_in(page.url)
        assert shown, f"no run in the address: {page.url}"
        nav(page, "Segments")
        name = page.get_by_label("Name", exact=True).first
        name.fill(NAME)
        name.press("Enter")
        settled(page)
        expect(page.get_by_label("Name", exact=True).first).to_have_value(NAME)

        # The same file segmented from the command line, into the same workspace, with another k.
        env = dict(os.environ, SEGMENT_STUDIO_HOME=str(workspace), HF_HUB_OFFLINE="1")
        subprocess.run([sys.executable, "-m", "segmentation", "segment", str(csv), "--encoder", "tfidf", "--k", "5",
                        "--out", str(tmp_path / "cli")], cwd=ROOT, env=env, check=True, capture_output=True,
                       timeout=600)
        newer = Workspace(workspace / "workspace.sqlite").all_runs()[0].run_key
        assert newer != shown

        page.reload()
        expect(page.get_by_text("A newer run of this data exists")).to_be_visible(timeout=WAIT)
        expect(page.get_by_label("Name", exact=True).first).to_have_value(NAME, timeout=WAIT)
        assert run_in(page.url) == shown
        nav(page, "Segment")
        expect(page.get_by_text(f"This page shows run {shown}")).to_be_visible(timeout=WAIT)
        expect(page.locator(".js-plotly-plot .legendtext").filter(has_text=NAME).first).to_be_attached(
            timeout=WAIT)
        assert run_in(page.url) == shown

        settled(page)
        page.get_by_role("button", name="Show the newer run").click()
        after_run(page, lambda run: run == newer)
        expect(segments_metric(page)).to_have_text("5", timeout=WAIT)
        expect(page.get_by_text("A newer run of this data exists")).to_have_count(0, timeout=WAIT)
    assert not dialogs


def test_a_bookmark_and_a_server_restart_reopen_the_run_and_a_plain_address_offers_it(tmp_path: Path):
    expect = playwright_api.expect
    csv = tmp_path / "bookmarked.csv"
    labelled_comments(users_per_group=8, comments_per_user=2, seed=14).drop(columns=["true_group"]).to_csv(
        csv, index=False)
    workspace = tmp_path / "workspace"
    with recording_page() as (page, dialogs, _):
        with serve(workspace, tmp_path / "first.log") as url:
            page.goto(url)
            upload(page, csv, timeout=WAIT)
            nav(page, "Segment")
            choose(page, "Encoder", "TF-IDF")
            page.get_by_text("Choose k automatically").click()
            expect(k_slider(page)).to_be_enabled(timeout=WAIT)
            k_slider(page).focus()
            page.keyboard.press("ArrowLeft")  # 6 → 5
            page.keyboard.press("ArrowLeft")  # 5 → 4
            expect(k_slider(page)).to_have_value("4", timeout=WAIT)
            settled(page)
            run_button(page).click()
            expect(segments_metric(page)).to_have_text("4", timeout=WAIT)
            settled(page)
            bookmark = page.url
            bookmarked = run_in(bookmark)
            assert bookmarked, f"no run in the address: {bookmark}"

            k_slider(page).focus()
            page.keyboard.press("ArrowRight")  # a second run, k=5: now the latest of this data
            expect(k_slider(page)).to_have_value("5", timeout=WAIT)
            settled(page)
            run_button(page).click()
            after_run(page, lambda run: run not in (None, bookmarked))
            expect(segments_metric(page)).to_have_text("5", timeout=WAIT)
        with serve(workspace, tmp_path / "second.log") as url:
            page.goto(url + bookmark[bookmark.index("/segment"):])
            expect(page.get_by_text("Restored bookmarked.csv from the workspace")).to_be_visible(timeout=WAIT)
            expect(segments_metric(page)).to_have_text("4", timeout=WAIT)
            expect(k_slider(page)).to_have_value("4", timeout=WAIT)
            expect(page.get_by_text(CHANGED)).to_have_count(0, timeout=WAIT)
            expect(page.get_by_text("A newer run of this data exists")).to_be_visible(timeout=WAIT)
            settled(page)
            assert run_in(page.url) == bookmarked

            page.goto(url)  # the plain address: the demo, and the work kept in the workspace to pick up
            expect(page.get_by_text("Pick up where you left off")).to_be_visible(timeout=WAIT)
            expect(page.get_by_text(f"Run {bookmarked} · bookmarked.csv")).to_be_visible(timeout=WAIT)
            expect(page.get_by_text("File bookmarked.csv · last used", exact=False)).to_be_visible(timeout=WAIT)
            settled(page)
            page.locator('[data-testid="stHorizontalBlock"]').filter(
                has_text=f"Run {bookmarked} ·").get_by_role("button", name="Open").click()
            expect(page.get_by_role("heading", name="Segment", exact=True)).to_be_visible(timeout=WAIT)
            expect(segments_metric(page)).to_have_text("4", timeout=WAIT)
            settled(page)
            assert run_in(page.url) == bookmarked
    assert not dialogs
