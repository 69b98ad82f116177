"""How large the shareable report (issue 23, item 6) is at 10,000 users, and how long it takes to build.

    python benchmarks/report.py [--users 10000] [--out benchmarks/results/report-10k.json]

The generated demo at ``--users`` users is segmented with tfidf and k-means (k = 6, the demo's tastes) and saved
in a fresh workspace, as the app and ``segment`` save a run. Then, each the median of five runs: the report
without the behaviour table (what ``report --run ID`` writes), the behaviour profile of the saved run
(``report --input FILE`` adds it), and the report with it (what the Segments page's button builds, its profile
already computed). The file's size is split into plotly.js, which every report carries whole, and the rest.
With Chromium and playwright installed, the time from opening the file (network blocked) until every point of
the map is drawn, the median of three.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from plotly.offline import get_plotlyjs  # noqa: E402

from segmentation.demo import generate_demo  # noqa: E402
from segmentation.ingest.io import from_frame  # noqa: E402
from segmentation.pipeline.config import SegmentConfig  # noqa: E402
from segmentation.present.maps import sample_rows  # noqa: E402
from segmentation.present.report import REPORT_MAP_POINTS, behaviour_of, run_report  # noqa: E402
from segmentation.runs.service import run_and_save  # noqa: E402
from segmentation.runs.workspace import Workspace  # noqa: E402

REPEATS = 5
K = 6


def median_seconds(work) -> tuple[float, object]:
    """The median of ``REPEATS`` timed calls, and what the last one returned."""
    times, value = [], None
    for _ in range(REPEATS):
        started = time.perf_counter()
        value = work()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3), value


def open_seconds(path: Path, points: int) -> float | None:
    """Median seconds from opening the report in headless Chromium, every request but the file's aborted, until
    the map shows all its points; None without Chromium or playwright."""
    chromium = Path("/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not chromium.exists():
        return None
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    times = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=flags)
        for _ in range(3):
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
                       else route.abort())
            started = time.perf_counter()
            page.goto(path.as_uri())
            # A locator, not wait_for_function: the report's policy forbids evaluating a string as script.
            page.locator(".scatterlayer .point").nth(points - 1).wait_for(state="attached", timeout=120_000)
            times.append(time.perf_counter() - started)
            page.close()
        browser.close()
    return round(statistics.median(times), 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "report-10k.json")
    args = parser.parse_args()
    record: dict = {"date": date.today().isoformat(), "machine": f"{os.cpu_count()} cores",
                    "load_1min_start": round(os.getloadavg()[0], 2)}
    comments = from_frame(generate_demo(0, n_users=args.users), source="demo")
    with tempfile.TemporaryDirectory() as home:
        os.environ["SEGMENT_STUDIO_HOME"] = home  # the embedding cache too: nothing of the user's is touched
        workspace = Workspace()
        started = time.perf_counter()
        run = run_and_save(comments, SegmentConfig(encoder="tfidf", algorithm="kmeans", k=K, seed=0),
                           workspace=workspace)
        record["segment_and_save_s"] = round(time.perf_counter() - started, 1)
        info = workspace.run(run.run_key)
        record["record_descriptions_bytes"] = len(json.dumps(info.record["descriptions"], ensure_ascii=False)
                                                  .encode("utf-8"))
        record["load_1min_before_timing"] = round(os.getloadavg()[0], 2)
        plain_s, plain = median_seconds(lambda: run_report(run.run_key, workspace))
        profile_s, profile = median_seconds(lambda: behaviour_of(run.run_key, comments, workspace))
        full_s, full = median_seconds(lambda: run_report(run.run_key, workspace, behaviour=profile))
        written = Path(home) / "report.html"
        written.write_text(full, encoding="utf-8")
        # The points the report draws: the same stratified sample it takes (each segment rounded to its share).
        points = len(sample_rows(workspace.table(run.run_key)["segment"].to_numpy(), REPORT_MAP_POINTS))
        opened_s = open_seconds(written, points)
    plotly_bytes = len(f"<script>{get_plotlyjs()}</script>".encode())
    record.update({
        "users": comments.n_users, "comments": comments.n_comments, "segments": K,
        "map_points": points,
        "report_s": plain_s, "behaviour_profile_s": profile_s, "report_with_behaviour_s": full_s,
        "report_bytes": len(plain.encode("utf-8")), "report_with_behaviour_bytes": len(full.encode("utf-8")),
        "plotly_js_bytes": plotly_bytes, "open_in_chromium_s": opened_s,
        "load_1min_end": round(os.getloadavg()[0], 2),
    })
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
