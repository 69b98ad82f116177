"""Seconds from `streamlit run app.py` to the first Run's map on the demo, first start and second start;
with ``--real``, seconds from pressing Run to the first segments on a real 10k-comment file.

    python benchmarks/first_run.py [--out benchmarks/results/first-run.json]
    python benchmarks/first_run.py --real [--out benchmarks/results/first-run-real.json]

``--real`` starts the app on a fresh workspace, times the fast encoder's one-off preparation that the app
starts in the background, then uploads 10,000 real recipe reviews (``../shared/data/recipe_reviews``) in the
browser as a new user would, takes the fast encoder the Segment page suggests for a file that size, and times
from the click on Run to the map's points, with each stage's time as the page reports it. With ``--now`` the
upload and Run do not wait for the preparation (a user pressing Run within seconds of starting the app).

The first start gets an empty workspace and an empty numba cache (``NUMBA_CACHE_DIR`` pointed at a new
folder), as a fresh install would have; the second start re-uses both. The clock starts when the server
process is launched and stops when the map's points are drawn in a real browser (Debian's chromium).

For scale, the same clock runs on a bare Streamlit app first: one button that draws a three-point plotly
chart. What that takes is Streamlit's and the browser's share, which no app on this machine can go below.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.live import CHROMIUM, LAUNCH_FLAGS, serve  # noqa: E402

BARE_APP = """import plotly.express as px
import streamlit as st

if st.button("Run"):
    st.plotly_chart(px.scatter(x=[1, 2, 3], y=[1, 3, 2]))
"""


def time_first_map(workspace: Path, log: Path, app: Path = ROOT / "app.py", page_path: str = "/segment") -> dict:
    """Seconds from launch to: the server answering, the page's Run button, the map's points."""
    from playwright.sync_api import expect, sync_playwright

    started = time.perf_counter()
    with serve(workspace, log, startup_s=180, app=app) as url, sync_playwright() as playwright:
        server = time.perf_counter() - started
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}{page_path}")
        run = page.get_by_role("button", name="Run")
        run.wait_for()
        page_ready = time.perf_counter() - started
        run.click()
        expect(page.locator(".js-plotly-plot .scatterlayer .point").first).to_be_attached(timeout=300_000)
        seconds = time.perf_counter() - started
        browser.close()
    return {"total_s": round(seconds, 1), "server_ready_s": round(server, 1), "page_ready_s": round(page_ready, 1),
            "run_to_map_s": round(seconds - page_ready, 1)}


REAL_FILE = ROOT.parent / "shared" / "data" / "recipe_reviews" / "recipe_reviews_full.csv.gz"
REAL_COMMENTS = 10_000


def time_real_file(folder: Path, log: Path, wait_for_preparation: bool = True) -> dict:
    """Upload 10k real reviews, take the suggested encoder, press Run: seconds to the map, per stage."""
    import re

    import pandas as pd
    from playwright.sync_api import expect, sync_playwright

    from segmentation.embed.fast import FastEncoder
    from tests.e2e.browser import choose, nav, upload

    data = folder / "recipe-reviews-10k.csv"
    pd.read_csv(REAL_FILE).head(REAL_COMMENTS).to_csv(data, index=False)
    model = folder / "workspace" / FastEncoder.MODEL_SUBDIR / "config.json"
    launched = time.perf_counter()
    with serve(folder / "workspace", log, startup_s=180) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(600_000)
        page.goto(url)  # the first page view starts the app's warm-up thread
        prepared = None
        while wait_for_preparation and not model.is_file() and time.perf_counter() - launched < 900:
            time.sleep(1)
        if model.is_file():
            prepared = round(time.perf_counter() - launched, 1)
        upload(page, data, timeout=300_000)
        uploaded = time.perf_counter()
        nav(page, "Segment")
        hint = page.get_by_text("MiniLM would take minutes")
        expect(hint).to_be_visible(timeout=120_000)
        choose(page, "Encoder", "Fast static MiniLM (model2vec) — fast, lower quality", search="Fast")
        expect(hint).to_have_count(0, timeout=120_000)  # the page has rerun with the fast encoder
        estimate = page.get_by_text(re.compile("Estimated encoding time"))
        estimated_text = estimate.inner_text() if estimate.count() else ""
        run = page.locator('[data-testid="stBaseButton-primary"]').filter(has_text="Run")
        waited = time.perf_counter() - uploaded
        started = time.perf_counter()
        run.click()
        expect(page.locator(".js-plotly-plot .scatterlayer .point").first).to_be_attached(timeout=600_000)
        seconds = time.perf_counter() - started
        page.get_by_text("Segmented").first.click()  # open the finished status box: it lists each stage's time
        stages = {m.group(1): float(m.group(2)) for m in re.finditer(r"^(.+?): done in ([\d.]+) s$",
                                                                    page.locator("body").inner_text(), re.M)}
        browser.close()
    return {"run_to_map_s": round(seconds, 1), "upload_to_run_click_s": round(waited, 1),
            "fast_encoder_ready_after_start_s": prepared, "waited_for_preparation": wait_for_preparation,
            "estimate_shown": estimated_text, "stages_s": stages}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--real", action="store_true", help="time a real 10k-comment file from Run to the map")
    parser.add_argument("--now", action="store_true", help="--real: press Run without waiting for the fast "
                        "encoder's preparation")
    args = parser.parse_args()
    if args.real:
        out = args.out or ROOT / "benchmarks" / "results" / "first-run-real.json"
        if not REAL_FILE.is_file():
            print(f"the real recipe reviews are not at {REAL_FILE}", file=sys.stderr)
            return 2
        with tempfile.TemporaryDirectory() as folder:
            os.environ["NUMBA_CACHE_DIR"] = str(Path(folder) / "numba-cache")
            record = time_real_file(Path(folder), Path(folder) / "real.log", wait_for_preparation=not args.now)
        record.update(comments=REAL_COMMENTS, file="recipe_reviews_full.csv.gz (first 10,000 rows)",
                      load_1min=round(os.getloadavg()[0], 2), date=time.strftime("%Y-%m-%d"))
        print(json.dumps(record, indent=2))
        out.write_text(json.dumps(record, indent=2), encoding="utf-8")
        return 0
    args.out = args.out or ROOT / "benchmarks" / "results" / "first-run.json"
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        os.environ["NUMBA_CACHE_DIR"] = str(folder / "numba-cache")
        bare_app = folder / "bare.py"
        bare_app.write_text(BARE_APP, encoding="utf-8")
        time_first_map(folder / "bare", folder / "bare.log", app=bare_app, page_path="/")  # warms the OS file cache
        bare = time_first_map(folder / "bare", folder / "bare.log", app=bare_app, page_path="/")
        first = time_first_map(folder / "workspace", folder / "first.log")
        second = time_first_map(folder / "workspace", folder / "second.log")
    record = {"first_start_s": first["total_s"], "second_start_s": second["total_s"], "first_start": first,
              "second_start": second, "bare_streamlit": bare,
              "load_1min": round(os.getloadavg()[0], 2), "date": time.strftime("%Y-%m-%d")}
    for name, split in (("bare Streamlit app", bare), ("first start", first), ("second start", second)):
        print(f"{name}: server up {split['server_ready_s']:.1f} s, Run button shown {split['page_ready_s']:.1f} s, "
              f"map drawn {split['total_s']:.1f} s ({split['run_to_map_s']:.1f} s after Run)")
    print(f"load {record['load_1min']:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
