"""The report file opened in Chromium with every network request blocked: the map's points and the segment names
show, no script from the data runs, and the page asks nothing of the network."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from segmentation.ingest.io import from_frame
from segmentation.pipeline.config import SegmentConfig
from segmentation.present.report import behaviour_of, run_report, save_report
from segmentation.runs.service import run_and_save
from segmentation.runs.workspace import Workspace
from tests.e2e.browser import recording_page, require_browser
from tests.fixtures import labelled_comments

pytestmark = pytest.mark.e2e

HOSTILE_NAME = "<img src=x onerror=alert('name')>"
SCRIPT = "<script>alert(1)</script>"


def test_the_report_opens_offline_with_its_map_and_names_and_runs_no_script_from_the_data(tmp_path: Path):
    expect = require_browser().expect
    frame = labelled_comments()
    frame["text"] = [f"{text} {html.escape(SCRIPT)}" for text in frame["text"]]  # decoded to a tag by the loader
    comments = from_frame(frame.drop(columns="true_group"), source="reviews.csv")
    workspace = Workspace()
    run = run_and_save(comments, SegmentConfig(encoder="tfidf", k=4), workspace=workspace)
    workspace.save_name(run.run_key, 0, HOSTILE_NAME, "Typed <b>in</b> the app")
    path = save_report(run_report(run.run_key, workspace, behaviour=behaviour_of(run.run_key, comments, workspace)),
                       tmp_path / "report.html")
    names = [HOSTILE_NAME if s.id == 0 else s.name for s in run.result.segments]

    with recording_page() as (page, dialogs, hosts):
        asked: list[str] = []
        errors: list[str] = []

        def only_the_file(route) -> None:
            if route.request.url.startswith("file://"):
                route.continue_()
            else:
                asked.append(route.request.url)
                route.abort()

        page.route("**/*", only_the_file)
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(path.as_uri())
        expect(page.get_by_role("heading", name="Map")).to_be_visible()
        points = page.locator(".js-plotly-plot .scatterlayer .point")
        expect(points).to_have_count(len(run.result.user_ids))
        for name in names:
            expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
        legend = page.locator(".js-plotly-plot .legendtext").all_text_contents()
        assert set(names) <= set(legend), legend
        expect(page.get_by_text(SCRIPT).first).to_be_visible()  # a comment's tag shown as text
        expect(page.get_by_text("Typed <b>in</b> the app").first).to_be_visible()
        expect(page.get_by_role("heading", name="Who the users are")).to_be_visible()
        assert page.locator("img, iframe, link, object, embed").count() == 0

    assert not dialogs, dialogs  # no alert() from a name, a comment or an id ran
    assert not asked and not hosts, (asked, hosts)
    assert not errors, errors  # the policy blocked nothing plotly.js needs, and nothing failed


def test_the_segments_over_time_draw_offline_beside_the_map(tmp_path: Path):
    from segmentation.demo import generate_demo
    from segmentation.ingest.io import load_comments
    from segmentation.present.report import over_time_of

    expect = require_browser().expect
    data = tmp_path / "reviews.csv"
    generate_demo(0, n_users=200).to_csv(data, index=False)  # the demo's months of times, at a quick size
    comments = load_comments(data)
    workspace = Workspace()
    run = run_and_save(comments, SegmentConfig(encoder="tfidf", k=4), workspace=workspace)
    found = over_time_of(run.run_key, comments, workspace)
    path = save_report(run_report(run.run_key, workspace, over_time=found), tmp_path / "report.html")

    with recording_page() as (page, dialogs, hosts):
        errors: list[str] = []
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
                   else route.abort())
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(path.as_uri())
        expect(page.get_by_role("heading", name="Segments over time")).to_be_visible()
        lines = page.locator("#over-time .scatterlayer .trace")
        expect(lines).to_have_count(len(run.result.segments))  # one line per segment, drawn with no network
        expect(page.locator("#over-time .scatterlayer .point")).to_have_count(
            len(run.result.segments) * len(found.periods))
    assert not dialogs and not hosts and not errors, (dialogs, hosts, errors)
