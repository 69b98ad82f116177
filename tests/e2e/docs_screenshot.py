"""Take the README's screenshot of the Segment page on the demo data: ``python -m tests.e2e.docs_screenshot``.

Runs the default encoder and k-means with k chosen automatically, then saves ``docs/segment-page.png``
(wide window) and ``test-output/segment-page-narrow.png`` (phone-width window, to check the layout), then
searches the map, draws a lasso and opens the preview of saving it as a segment for
``docs/segment-map-selection.png``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.e2e.browser import lasso
from tests.e2e.live import CHROMIUM, LAUNCH_FLAGS, ROOT, serve

DOCS_SHOT = ROOT / "docs" / "segment-page.png"
SELECTION_SHOT = ROOT / "docs" / "segment-map-selection.png"
NARROW_SHOT = ROOT / "test-output" / "segment-page-narrow.png"
RUNS_SHOT = ROOT / "docs" / "runs-page.png"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp) / "workspace", Path(tmp) / "log") as url, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1700})
        page.set_default_timeout(300_000)
        page.goto(f"{url}/segment")
        page.locator('[data-testid="stBaseButton-primary"]').filter(has_text="Run").click()
        expect(page.get_by_text("Silhouette", exact=True)).to_be_visible(timeout=300_000)
        points = page.locator(".js-plotly-plot").first.locator(".scatterlayer .point")
        expect(points.first).to_be_attached(timeout=60_000)
        page.wait_for_timeout(1500)  # let plotly finish its transitions
        DOCS_SHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS_SHOT))
        page.set_viewport_size({"width": 420, "height": 2400})
        page.wait_for_timeout(2000)
        NARROW_SHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(NARROW_SHOT))

        page.set_viewport_size({"width": 1280, "height": 1500})
        page.get_by_role("textbox", name="Find users whose comments mention").fill("battery")
        page.keyboard.press("Enter")
        expect(page.get_by_text("users ringed on the map")).to_be_visible(timeout=120_000)
        page.get_by_text("Density contours").click()
        page.wait_for_timeout(3000)
        lasso(page, 0.05, 0.4)
        expect(page.get_by_text("Keywords against the rest:")).to_be_visible(timeout=120_000)
        page.get_by_text("Save the selection as a new segment").click()
        expect(page.get_by_text("after the edit.").first).to_be_visible(timeout=120_000)
        page.wait_for_timeout(1500)
        top = page.get_by_role("heading", name="Map").bounding_box()["y"] - 10
        bottom = page.get_by_text("after the edit.").first.bounding_box()["y"] + 40
        page.screenshot(path=str(SELECTION_SHOT), full_page=True,
                        clip={"x": 0, "y": top, "width": 1280, "height": bottom - top})
        runs_shot(page, url)
        browser.close()
    print(f"wrote {DOCS_SHOT}, {SELECTION_SHOT}, {RUNS_SHOT} and {NARROW_SHOT}")


def runs_shot(page, url: str) -> None:
    """A second run with k=6 (settings from the address), then the Runs page comparing it with the first."""
    page.goto(f"{url}/segment?seg_auto_k=false&seg_k=6")
    page.locator('[data-testid="stBaseButton-primary"]').filter(has_text="Run").click()
    expect(page.get_by_text("Segmented")).to_be_visible(timeout=300_000)
    page.goto(f"{url}/runs")
    table = page.locator('[data-testid="stDataFrame"]').first
    expect(table).to_be_visible(timeout=60_000)
    box = table.bounding_box()
    for row in (1, 2):  # the grid is drawn on a canvas: tick each row's box by its position
        page.mouse.click(box["x"] + 18, box["y"] + 35 * row + 17)
        page.wait_for_timeout(1500)
    expect(page.get_by_text("Same grouping")).to_be_visible(timeout=120_000)
    page.wait_for_timeout(2000)
    page.screenshot(path=str(RUNS_SHOT), full_page=True)


if __name__ == "__main__":
    main()
