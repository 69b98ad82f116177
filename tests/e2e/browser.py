"""What the browser tests share: the skip when there is no browser, a recording page, and page steps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.live import CHROMIUM, LAUNCH_FLAGS


def require_browser() -> ModuleType:
    """``playwright.sync_api``; skips the calling test module when Chromium or playwright is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium) for "
                    "the browser tests", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


@contextmanager
def recording_page() -> Iterator[tuple[Any, list[str], dict[str, str]]]:
    """A tall Chromium page that dismisses and records every dialog, and records the first URL it asks of
    every host: ``(page, dialogs, hosts)``."""
    api = require_browser()
    with api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 2600})
        page = context.new_page()
        dialogs: list[str] = []
        hosts: dict[str, str] = {}

        def on_dialog(dialog: Any) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        def on_request(request: Any) -> None:
            parts = urlsplit(request.url)
            if parts.scheme in ("http", "https", "ws", "wss"):
                hosts.setdefault(parts.hostname or "", request.url)

        page.on("dialog", on_dialog)
        context.on("request", on_request)
        page.set_default_timeout(60_000)
        yield page, dialogs, hosts
        browser.close()


def upload(page: Any, path: Path, timeout: float = 180_000) -> None:
    """Upload ``path`` on the Data page and wait (``timeout`` ms) until the page names the file."""
    expect = require_browser().expect
    page.get_by_text("Upload a file").click()
    uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    expect(uploader).to_be_attached(timeout=timeout)
    uploader.set_input_files(str(path))
    expect(page.get_by_text(f"File: {path.name}", exact=True)).to_be_visible(timeout=timeout)


def nav(page: Any, title: str, timeout: float = 60_000) -> None:
    """Open a page from the sidebar and wait (``timeout`` ms: a busy machine is slow) for its heading."""
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).filter(
        has_not_text=f"{title}s").first.click()
    require_browser().expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible(timeout=timeout)


def choose(page: Any, label: str, option: str, search: str | None = None, exact: bool = False) -> None:
    """Pick ``option`` in the select box labelled ``label``, typing ``search`` (the option) first."""
    page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first.click()
    page.keyboard.type(option if search is None else search)  # long option lists are virtualised: search first
    page.get_by_role("option", name=option, exact=exact).first.click()


def websocket_frames(page: Any, event: str, decode: Callable[[bytes], Any]) -> list:
    """Record, in order, what ``decode`` makes of every binary frame of the app's websocket on ``event``
    (``"framesent"``: the browser's requests; ``"framereceived"``: the server's messages); frames it decodes to
    None are left out."""
    found: list = []

    def on_frame(payload: Any) -> None:
        if isinstance(payload, bytes) and (value := decode(payload)) is not None:
            found.append(value)

    page.on("websocket", lambda socket: socket.on(event, on_frame))
    return found


def settled(page: Any, timeout: float = 180_000) -> None:
    """Wait (``timeout`` ms) until the app's script has finished its run: a click that lands while a rerun
    is still drawing the page can act on the widgets of the run before."""
    require_browser().expect(page.locator('[data-testid="stApp"]')).to_have_attribute(
        "data-test-script-state", "notRunning", timeout=timeout)


def lasso(page, left: float, right: float) -> None:
    """Draw a lasso over the map's horizontal band from ``left`` to ``right`` (fractions of its width)."""
    box = page.locator(".js-plotly-plot").first.locator(".nsewdrag").first.bounding_box()
    x0, x1 = box["x"] + box["width"] * left, box["x"] + box["width"] * right
    y0, y1 = box["y"] + 2, box["y"] + box["height"] - 2
    page.mouse.move(x0, y0)
    page.mouse.down()
    for x, y in [(x1, y0), (x1, y1), (x0, y1), (x0, y0 + 1)]:
        page.mouse.move(x, y, steps=8)
    page.mouse.up()


def pick(page, label: str, nth: int, tries: int = 5) -> None:
    """Open the select box labelled ``label`` and pick its ``nth`` option, opening it again when a rerun that
    was still drawing closed or redrew the list before the pick landed (seen under load)."""
    api = require_browser()
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    for attempt in range(tries):
        settled(page)
        box.click()
        option = page.get_by_role("option").nth(nth)
        try:
            api.expect(option).to_be_visible(timeout=10_000)
            # A rerun that lands now redraws the list under the pointer ("element was detached"): open it again.
            option.click(timeout=10_000)
        except (AssertionError, api.TimeoutError):
            if attempt == tries - 1:
                raise
            page.keyboard.press("Escape")
            continue
        return


def download(page, button: str, tries: int = 3, timeout: float = 60_000) -> Any:
    """Click the download button named ``button`` and return the download, clicking again (after the app has
    finished its run) when no download starts within ``timeout`` ms: a click that lands while a rerun redraws
    the button is lost (seen once in a full suite under load)."""
    api = require_browser()
    for attempt in range(tries):
        settled(page)
        try:
            with page.expect_download(timeout=timeout) as started:
                page.get_by_role("button", name=button).click()
            return started.value
        except api.TimeoutError:
            if attempt == tries - 1:
                raise
    return None


def click_until(page, button: str, shows: str, tries: int = 3, timeout: float = 60_000) -> None:
    """Click the button named ``button`` until the text ``shows`` appears, clicking again (after the app has
    finished its run) when it has not within ``timeout`` ms: a click that lands while a rerun redraws the button
    is lost (an undo in one full suite under load: the button was still there, its edit not undone)."""
    api = require_browser()
    for attempt in range(tries):
        settled(page)
        page.get_by_role("button", name=button).click()
        try:
            api.expect(page.get_by_text(shows).first).to_be_visible(timeout=timeout)
            return
        except AssertionError:
            if attempt == tries - 1:
                raise


def segment_the_demo(page, server: str, timeout: float = 180_000, encoder: str = "TF-IDF") -> None:
    """Open the app on its demo, run the Segment page with ``encoder`` (the start of its label; default the quick
    TF-IDF) and wait (``timeout`` ms) until the run is drawn and finished."""
    expect = require_browser().expect
    page.goto(server)
    expect(page.get_by_text("Generated demo data")).to_be_visible(timeout=timeout)
    nav(page, "Segment")
    choose(page, "Encoder", encoder)
    page.locator('[data-testid="stBaseButton-primary"]').filter(has_text="Run").click()
    expect(page.get_by_text("Silhouette", exact=True)).to_be_visible(timeout=timeout)
    settled(page, timeout)
