"""Seconds from `streamlit run app.py` to the first Run's map on the demo, first start and second start.

    python benchmarks/first_run.py [--out benchmarks/results/first-run.json]

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "first-run.json")
    args = parser.parse_args()
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
