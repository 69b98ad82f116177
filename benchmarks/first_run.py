"""Seconds from `streamlit run app.py` to the first Run's map on the demo, first start and second start.

    python benchmarks/first_run.py [--out benchmarks/results/first-run.json]

The first start gets an empty workspace and an empty numba cache (``NUMBA_CACHE_DIR`` pointed at a new
folder), as a fresh install would have; the second start re-uses both. The clock starts when the server
process is launched and stops when the map's points are drawn in a real browser (Debian's chromium).
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


def time_first_map(workspace: Path, log: Path) -> float:
    from playwright.sync_api import expect, sync_playwright

    started = time.perf_counter()
    with serve(workspace, log, startup_s=180) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/segment")
        page.get_by_role("button", name="Run").click()
        expect(page.locator(".js-plotly-plot .scatterlayer .point").first).to_be_attached(timeout=300_000)
        seconds = time.perf_counter() - started
        browser.close()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "first-run.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        os.environ["NUMBA_CACHE_DIR"] = str(folder / "numba-cache")
        first = time_first_map(folder / "workspace", folder / "first.log")
        second = time_first_map(folder / "workspace", folder / "second.log")
    record = {"first_start_s": round(first, 1), "second_start_s": round(second, 1), "load_1min": os.getloadavg()[0],
              "date": time.strftime("%Y-%m-%d")}
    print(f"first start → map: {first:.1f} s; second start → map: {second:.1f} s (load {record['load_1min']:.2f})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
