"""The browser's time per control on a real file: from the user's action to the page settled, in Chromium.

    python benchmarks/controls.py [--file full|ge2] [--tries 5] [--label after] [--models-from DIR]

Starts the app on a fresh workspace (loopback, headless Debian Chromium driven by Playwright), uploads a real
recipe-review file from ``../shared/data/recipe_reviews`` as a user would (``full``: all 18,182 comments of
13,812 users; ``ge2``: the 6,482 comments of the 2,112 users with two or more), runs the Segment page with the
fast encoder, then times each control ``--tries`` times and keeps the median:

- a legend click on the map (it shows one segment alone, the next click shows all again),
- a word search and a meaning search (a new query each try, Enter pressed),
- a merge preview (the second segment picked in "Merge segments"; the preview drawn),
- a chart tab under the map (silhouette, k-sweep, sizes in turn; the first opening of the k-sweep computes it),
- a name edit on the Segments page (a new name, Enter pressed),
- moving the k slider (the page says the run shown has other settings),
- a new k: Run pressed with another k, split into the computation the page reports ("Run took ... s") and
  the rest (the redraw),
- switching pages (Segment to Segments and back).

"Settled" is measured in the page: the app's script has finished every run the action asked for
(``data-test-script-state`` is ``notRunning`` and a ``script_finished`` message came back for each rerun
request), and nothing in the document has changed for :data:`QUIET_MS`; the time is that of the last change
before the quiet, on the page's own clock, from the moment just before the action. The rerun requests the
browser sent are recorded too: ``""`` is the whole page, anything else a fragment's id. So is the CPU the app's
server and Chromium spent from the action to the page settled (:func:`cpu_seconds`), which a busy machine
inflates far less than the wall time.

The fast encoder is distilled into the workspace before the server starts (``--models-from`` copies an
already distilled one instead), so its one-off preparation is not in any figure. Results go to
``benchmarks/results/controls.json`` under ``--label``, beside the labels already there.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.live import CHROMIUM, LAUNCH_FLAGS, serve  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "recipe_reviews"
FILES = {"full": "recipe_reviews_full.csv.gz", "ge2": "recipe_reviews_users_ge2.csv.gz"}
QUIET_MS = 700  # nothing in the page changed for this long: drawn (Streamlit's stale fade is 0.2-0.5 s)
TARGET_S = 1.0  # issue 20: an interaction that does not change the segments
REDRAW_TARGET_S = 1.5  # issue 20: a new k's redraw after its computation
WORDS = ["chicken", "chocolate", "soup", "vegan", "oven", "cinnamon", "garlic", "rice", "salt", "kids"]
MEANINGS = ["too salty for my taste", "my family loved it", "it came out dry", "easy weeknight dinner",
            "I used less sugar", "the sauce was bland", "perfect for a party", "took longer than it said",
            "I added more spice", "it burned on the bottom"]

# Records the time of the latest change anywhere in the document, on the page's own clock.
WATCH_CHANGES = """
window.__lastChange = performance.now();
new MutationObserver(() => { window.__lastChange = performance.now(); })
    .observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""
PAGE_STATE = """() => ({now: performance.now(), last: window.__lastChange,
    state: document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-script-state')})"""


class Wire:
    """The rerun requests the browser sends and the script-finished messages it receives, in order."""

    def __init__(self, page: Any) -> None:
        self.asked: list[str] = []
        self.finished: list[str] = []
        self.finished_at: list[float] = []  # time.perf_counter() when each script-finished message came
        page.on("websocket", self._watch)

    def _watch(self, socket: Any) -> None:
        socket.on("framesent", self._sent)
        socket.on("framereceived", self._received)

    def _sent(self, payload: Any) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        if isinstance(payload, bytes):
            message = BackMsg.FromString(payload)
            if message.WhichOneof("type") == "rerun_script":
                self.asked.append(message.rerun_script.fragment_id)

    def _received(self, payload: Any) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if isinstance(payload, bytes):
            message = ForwardMsg.FromString(payload)
            if message.WhichOneof("type") == "script_finished":
                self.finished.append(ForwardMsg.ScriptFinishedStatus.Name(message.script_finished))
                self.finished_at.append(time.perf_counter())


def cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) spent so far by this benchmark's app server and by its Chromium (``gpu``: the part
    of Chromium's that its GPU process spent), read from ``/proc``: on a machine shared with other work the wall time
    of an action swings with the load, the CPU it costs much less, so two versions of the app compare by it too."""
    parents, names = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:  # gone since the listing
            continue
        fields = text[text.rindex(")") + 2:].split()
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        names[pid] = (command, int(fields[11]) + int(fields[12]))  # utime, stime in clock ticks
    mine, todo = set(), [os.getpid()]
    while todo:
        pid = todo.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        mine.update(children)
        todo += children
    ticks = os.sysconf("SC_CLK_TCK")
    spent = {"server": 0.0, "browser": 0.0, "gpu": 0.0}
    for pid in mine:
        command, used = names[pid]
        if b"streamlit" in command:
            spent["server"] += used / ticks
        elif b"chromium" in command:
            spent["browser"] += used / ticks
            if b"--type=gpu-process" in command:  # WebGL, drawn in software here: the map's share, told apart
                spent["gpu"] += used / ticks
    return spent


def timed(page: Any, wire: Wire, action: Callable[[], None], timeout_s: float = 600) -> dict:
    """Do ``action`` and wait for the page to settle; seconds from just before the action to the last change, and
    the CPU seconds the server and the browser spent meanwhile."""
    asked, finished = len(wire.asked), len(wire.finished)
    start = page.evaluate("performance.now()")
    spent = cpu_seconds()
    clock = time.perf_counter()
    action()
    deadline = time.monotonic() + timeout_s
    while True:
        page.wait_for_timeout(50)  # lets Playwright deliver the websocket events
        seen = page.evaluate(PAGE_STATE)
        last = max(seen["last"], start)
        done = len(wire.finished) - finished >= len(wire.asked) - asked
        if seen["state"] == "notRunning" and done and seen["now"] - last >= QUIET_MS:
            ran = wire.finished_at[finished:]
            cpu = {f"{part}_cpu_s": round(used - spent[part], 2) for part, used in cpu_seconds().items()}
            return {"seconds": round((last - start) / 1000, 3), "reruns": wire.asked[asked:], **cpu,
                    "finished": wire.finished[finished:],
                    # Action to the last script-finished message: the server's share, the rest is drawing.
                    "script_s": round(ran[-1] - clock, 3) if ran else None}
        if time.monotonic() > deadline:
            raise TimeoutError(f"the page did not settle within {timeout_s} s")


def legend_clicks(page: Any, wire: Wire, tries: int) -> list[dict]:
    from playwright.sync_api import expect

    # Found afresh at each click: a rerun may have drawn the map again.
    toggle = page.locator(".js-plotly-plot").first.locator(".legend .traces .legendtoggle").first

    def click() -> None:
        toggle.click()
        page.mouse.move(2, 2)  # off the map, so no hover label keeps changing the page

    rows = []
    for _ in range(tries):
        expect(toggle).to_be_attached()
        rows.append(timed(page, wire, click))
    if tries % 2:  # an odd number of clicks leaves one segment alone on the map: show them all again
        toggle.click()
    return rows


def searches(page: Any, wire: Wire, label: str, queries: list[str], tries: int, expected: str) -> list[dict]:
    from playwright.sync_api import expect

    box = page.get_by_role("textbox", name=label)
    rows = []
    for query in queries[:tries]:
        box.fill(query)
        rows.append(timed(page, wire, lambda: box.press("Enter")))
        expect(page.get_by_text(expected).first).to_be_visible()
    box.fill("")
    timed(page, wire, lambda: box.press("Enter"))
    return rows


def merge_previews(page: Any, wire: Wire, tries: int) -> list[dict]:
    from playwright.sync_api import expect

    from tests.e2e.browser import pick, settled

    page.get_by_text(re.compile(r"^Merge segments, undo edits")).click()
    expect(page.locator('[data-testid="stSelectbox"]').filter(has_text="Keep this segment")).to_be_visible()
    pick(page, "Keep this segment", 0)
    settled(page)
    absorb = page.locator('[data-testid="stSelectbox"]').filter(has_text="and merge this one into it").first
    expect(absorb).to_be_visible()
    rows = []
    for i in range(tries):
        settled(page)
        absorb.click()
        options = page.get_by_role("option")
        expect(options.first).to_be_visible()
        option = options.nth(1 + i % (options.count() - 1))  # another segment each try (0 is the kept one)
        rows.append(timed(page, wire, option.click))
        expect(page.get_by_text("after the edit.").first).to_be_visible()
    return rows


def name_edits(page: Any, wire: Wire, tries: int) -> list[dict]:
    from playwright.sync_api import expect

    box = page.get_by_role("textbox", name="Name").first
    rows = []
    for i in range(tries):
        box.fill(f"Home cooks {i + 1}")
        rows.append(timed(page, wire, lambda: box.press("Enter")))
        expect(box).to_have_value(f"Home cooks {i + 1}")
    return rows


CHART_TABS = ["Silhouette per user", "Quality sweep", "Segment sizes"]  # ends on the tab a page opens with


def chart_tabs(page: Any, wire: Wire, tries: int) -> list[dict]:
    """Open the chart tabs under the map in turn (each try one tab, its chart drawn)."""
    from playwright.sync_api import expect

    rows, tab = [], CHART_TABS[-1]
    for i in range(tries):
        tab = CHART_TABS[i % len(CHART_TABS)]
        rows.append(timed(page, wire, page.get_by_role("tab", name=tab).click))
        expect(page.get_by_role("tab", name=tab)).to_have_attribute("aria-selected", "true")
    if tab != CHART_TABS[-1]:
        timed(page, wire, page.get_by_role("tab", name=CHART_TABS[-1]).click)
    return rows


def k_slider(page: Any) -> Any:
    return page.locator('[data-testid="stSlider"]').filter(has_text="Number of segments (k)").first


def set_manual_k(page: Any, wire: Wire) -> None:
    """Untick "automatic" for k, so that the slider moves."""
    from playwright.sync_api import expect

    automatic = page.locator('[data-testid="stCheckbox"]').filter(has_text=re.compile("automatic", re.I)).first
    if automatic.locator("input").is_checked():
        timed(page, wire, automatic.click)
    expect(k_slider(page).get_by_role("slider")).to_be_enabled()


def slider_moves(page: Any, wire: Wire, tries: int) -> list[dict]:
    """Move the k slider one step with the keyboard (a new k chosen, not yet run)."""
    thumb = k_slider(page).get_by_role("slider")
    rows = []
    for i in range(tries):
        rows.append(timed(page, wire, lambda i=i: thumb.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")))
    return rows


def new_ks(page: Any, wire: Wire, tries: int) -> list[dict]:
    """Press Run with a new k each try; the page's own "Run took X s" is the computation, the rest the redraw."""
    from playwright.sync_api import expect

    thumb = k_slider(page).get_by_role("slider")
    run = page.locator('[data-testid="stBaseButton-primary"]').filter(has_text="Run")
    rows = []
    for _ in range(tries):
        timed(page, wire, lambda: thumb.press("ArrowRight"))
        row = timed(page, wire, run.click)
        took = page.get_by_text(re.compile(r"^Run took [\d.]+ s"))
        expect(took).to_be_visible()
        computed = float(re.match(r"Run took ([\d.]+) s", took.inner_text()).group(1))
        segments = page.locator('[data-testid="stMetric"]').filter(has_text="Segments").first.inner_text()
        rows.append({**row, "computation_s": computed, "redraw_s": round(row["seconds"] - computed, 3),
                     "segments_card": segments.replace("\n", " ")})
    return rows


def switches(page: Any, wire: Wire, tries: int) -> tuple[list[dict], list[dict]]:
    from playwright.sync_api import expect

    def go(title: str) -> Callable[[], None]:
        def click() -> None:
            page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).filter(
                has_not_text=f"{title}s").first.click()
        return click

    to_segments, to_segment = [], []
    for _ in range(tries):
        to_segments.append(timed(page, wire, go("Segments")))
        expect(page.get_by_role("heading", name="Segments", exact=True)).to_be_visible()
        to_segment.append(timed(page, wire, go("Segment")))
        expect(page.get_by_role("heading", name="Segment", exact=True)).to_be_visible()
    return to_segments, to_segment


def summary(rows: list[dict], target: float | None) -> dict:
    seconds = [row["seconds"] for row in rows]
    median = statistics.median(seconds)
    scripts = [row["script_s"] for row in rows if row["script_s"] is not None]
    out = {"median_s": round(median, 3), "min_s": min(seconds), "max_s": max(seconds),
           "script_median_s": round(statistics.median(scripts), 3) if scripts else None,
           "server_cpu_median_s": round(statistics.median(row["server_cpu_s"] for row in rows), 2),
           "browser_cpu_median_s": round(statistics.median(row["browser_cpu_s"] for row in rows), 2),
           "gpu_cpu_median_s": round(statistics.median(row["gpu_cpu_s"] for row in rows), 2), "tries": rows,
           "whole_page_reruns": sum(r == "" for row in rows for r in row["reruns"]),
           "fragment_reruns": sum(r != "" for row in rows for r in row["reruns"])}
    if target is not None:
        out.update(target_s=target, met=median <= target)
    return out


def measure(workspace: Path, log: Path, data: Path, tries: int) -> dict:
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.browser import choose, nav, upload

    with serve(workspace, log, startup_s=180) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(600_000)
        expect.set_options(timeout=600_000)
        page.add_init_script(WATCH_CHANGES)
        wire = Wire(page)
        page.goto(url)
        expect(page.get_by_text("Generated demo data")).to_be_visible()
        upload(page, data, timeout=600_000)
        nav(page, "Segment", timeout=600_000)
        choose(page, "Encoder", "Fast static MiniLM (model2vec) — fast, lower quality", search="Fast")
        run = page.locator('[data-testid="stBaseButton-primary"]').filter(has_text="Run")
        first_run = timed(page, wire, run.click)
        expect(page.get_by_text("Silhouette", exact=True)).to_be_visible()
        users = page.get_by_text(re.compile(r"^Data: ")).first.inner_text()

        controls: dict[str, dict] = {}
        controls["legend_click"] = summary(legend_clicks(page, wire, tries), TARGET_S)
        controls["word_search"] = summary(searches(page, wire, "Find users whose comments mention", WORDS, tries,
                                                   "users ringed on the map."), TARGET_S)
        controls["meaning_search"] = summary(searches(page, wire, "Find users by meaning", MEANINGS, tries,
                                                      "users ringed on the map."), TARGET_S)
        controls["merge_preview"] = summary(merge_previews(page, wire, tries), TARGET_S)
        if page.get_by_role("tab", name=CHART_TABS[0]).count():  # the code before drew every chart, no tabs
            controls["chart_tab"] = summary(chart_tabs(page, wire, tries), TARGET_S)
        set_manual_k(page, wire)
        controls["k_slider_move"] = summary(slider_moves(page, wire, tries), TARGET_S)
        rows = new_ks(page, wire, tries)
        controls["new_k"] = summary(rows, None)
        controls["new_k"].update(
            computation_median_s=round(statistics.median(r["computation_s"] for r in rows), 3),
            redraw_median_s=round(statistics.median(r["redraw_s"] for r in rows), 3),
            target_s=REDRAW_TARGET_S, met=statistics.median(r["redraw_s"] for r in rows) <= REDRAW_TARGET_S)
        to_segments, to_segment = switches(page, wire, tries)
        controls["switch_to_segments"] = summary(to_segments, TARGET_S)
        controls["switch_to_segment"] = summary(to_segment, TARGET_S)
        nav(page, "Segments")
        controls["name_edit"] = summary(name_edits(page, wire, tries), TARGET_S)
        browser.close()
    return {"data_line": users, "first_run_s": first_run["seconds"], "controls": controls}


def distilled_models(workspace: Path, models_from: Path | None) -> None:
    """Put the fast encoder's model into ``workspace`` (copied, or distilled now) before the app starts."""
    from segmentation.embed.fast import FastEncoder

    target = workspace / FastEncoder.MODEL_SUBDIR
    if models_from is not None:
        shutil.copytree(models_from / FastEncoder.MODEL_SUBDIR, target)
        return
    FastEncoder(model_dir=target).setup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", choices=sorted(FILES), default="full")
    parser.add_argument("--tries", type=int, default=5)
    parser.add_argument("--label", default="current", help="the key of this measurement in the JSON")
    parser.add_argument("--models-from", type=Path, default=None,
                        help="a workspace whose distilled fast encoder is copied instead of distilling one")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "controls.json")
    args = parser.parse_args()
    data = DATA / FILES[args.file]
    if not data.is_file():
        print(f"the real recipe reviews are not at {data}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        os.environ["SEGMENT_STUDIO_PREPARE_FAST"] = "0"  # distilled here, before the clock matters
        distilled_models(folder / "workspace", args.models_from)
        loads = [os.getloadavg()[0]]
        started = time.perf_counter()
        record = measure(folder / "workspace", folder / "streamlit.log", data, args.tries)
        loads.append(os.getloadavg()[0])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    record.update(file=FILES[args.file], commit=commit, tries=args.tries, date=time.strftime("%Y-%m-%d %H:%M UTC",
                  time.gmtime()), load_1min_start_end=[round(x, 2) for x in loads],
                  wall_s=round(time.perf_counter() - started, 1), machine=f"{os.cpu_count()} cores, shared VM")
    for name, control in record["controls"].items():
        extra = (f" (computation {control['computation_median_s']:.2f} s, redraw {control['redraw_median_s']:.2f} s)"
                 if "redraw_median_s" in control else "")
        script = "" if control["script_median_s"] is None else f", script {control['script_median_s']:.2f} s"
        script += (f", CPU server {control['server_cpu_median_s']:.2f} s, browser "
                   f"{control['browser_cpu_median_s']:.2f} s (its GPU process {control['gpu_cpu_median_s']:.2f} s)")
        print(f"{name}: median {control['median_s']:.2f} s{extra}{script}, whole-page reruns "
              f"{control['whole_page_reruns']}, fragment reruns {control['fragment_reruns']}")
    print(f"load {record['load_1min_start_end']}")
    results = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}
    results[args.label] = record
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
