"""How many users the Segment page's map can draw and still answer a search within a second, in Chromium.

    python benchmarks/map_sample.py [--sizes 1000,2000,3000,5000,8000,0] [--tries 5] [--models-from WORKSPACE]

Segments the whole real recipe-review file (``../shared/data/recipe_reviews/recipe_reviews_full.csv.gz``:
13,811 users) with the fast encoder and its automatic k and keeps the run in a temporary folder. Then, for each
sample size (0: every user), two measurements, the sizes taken in turn and in reverse order on alternate rounds
so that a change of load falls on all of them:

- **draw**: the map figure as the page builds it after a word search (``WORDS``), drawn by plotly.js in a bare
  Chromium page: ``Plotly.newPlot`` of the first, then ``Plotly.react`` to each next search, as Streamlit's
  chart updates a figure in place (plotly.js from the plotly package, which may be newer than Streamlit's).
- **search**: ``map_sample_app.py`` served by Streamlit, the Segment page's map alone with its word search in
  the map's fragment, timed from Enter to the page settled (``controls.timed``: the script finished and nothing
  changed for 0.7 s).

The figure's serialised size (what Streamlit sends) and its build and serialisation time on the server are
given beside. Results: ``benchmarks/results/map-sample.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from controls import DATA, FILES, WATCH_CHANGES, WORDS, Wire, distilled_models, timed  # noqa: E402

from tests.e2e.live import CHROMIUM, LAUNCH_FLAGS, serve  # noqa: E402


def keep_run(path: Path, data: Path) -> int:
    """Segment ``data`` with the fast encoder and keep what the map needs in ``path``; return the users."""
    from segmentation.ingest.io import from_frame, read_table
    from segmentation.pipeline.config import SegmentConfig
    from segmentation.pipeline.segment import segment
    from segmentation.present.views import segment_labels, user_snippets

    comments = from_frame(read_table(data.read_bytes(), name=data.name), source=data.name)
    result = segment(comments, SegmentConfig(encoder="fast"))
    run = {"assignments": result.assignments, "labels": segment_labels(result.segments), "comments": comments,
           "snippets": user_snippets(comments, result.user_ids).tolist()}
    path.write_bytes(pickle.dumps(run))
    return len(result.user_ids)


def figure_cost(path: Path, limit: int) -> dict:
    """The map figure at ``limit`` users as the page builds it, and its JSON as Streamlit serialises it."""
    import plotly.io
    import plotly.tools

    from segmentation.present.maps import label_positions, sample_rows
    from segmentation.present.views import map_frame
    from ui import charts

    run = pickle.loads(path.read_bytes())
    assignments, labels = run["assignments"], run["labels"]
    started = time.perf_counter()
    frame = map_frame(assignments, labels, run["snippets"])
    drawn = sample_rows(frame["segment"].to_numpy(), limit or len(frame))
    names = label_positions(frame["x"].to_numpy(), frame["y"].to_numpy(), frame["segment"].to_numpy(), labels)
    figure = charts.segment_map(frame.iloc[drawn], charts.segment_colours(labels), names=names)
    built = time.perf_counter()
    spec = plotly.io.to_json(plotly.tools.return_figure_from_figure_or_data(figure, True), validate=False)
    return {"drawn": int(len(drawn)), "build_s": round(built - started, 3),
            "serialise_s": round(time.perf_counter() - built, 3), "spec_mb": round(len(spec) / 1e6, 3)}


def search_specs(path: Path, limit: int, words: list[str]) -> list[str]:
    """The map figure's JSON after each search in ``words``, as the page builds and Streamlit serialises it."""
    import plotly.io
    import plotly.tools

    from segmentation.present.maps import WordSearch, label_positions, sample_rows
    from segmentation.present.views import map_frame
    from ui import charts

    run = pickle.loads(path.read_bytes())
    assignments, labels = run["assignments"], run["labels"]
    specs = []
    finder = WordSearch(run["comments"], assignments["user_id"].tolist())
    for word in words:
        match = finder.matches(word)
        frame = map_frame(assignments, labels, run["snippets"], match=match)
        drawn = sample_rows(frame["segment"].to_numpy(), limit or len(frame), keep=frame.index[frame["match"]])
        names = label_positions(frame["x"].to_numpy(), frame["y"].to_numpy(), frame["segment"].to_numpy(), labels)
        figure = charts.segment_map(frame.iloc[drawn], charts.segment_colours(labels), names=names)
        specs.append(plotly.io.to_json(plotly.tools.return_figure_from_figure_or_data(figure, True), validate=False))
    return specs


NEW_PLOT = """async (spec) => { const div = document.getElementById('map'); Plotly.purge(div);
    const started = performance.now(); const figure = JSON.parse(spec);
    await Plotly.newPlot(div, figure.data, figure.layout);
    await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
    return performance.now() - started; }"""
REACT = NEW_PLOT.replace("Plotly.purge(div);", "").replace("Plotly.newPlot", "Plotly.react")


def draw(specs: dict[int, list[str]], rounds: int) -> dict[int, dict[str, list[float]]]:
    """Milliseconds plotly.js took to draw each size's first figure and to update it to each next one."""
    import plotly
    from playwright.sync_api import sync_playwright

    script = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_text(encoding="utf-8")
    found = {n: {"new_plot_ms": [], "react_ms": []} for n in specs}
    sizes = list(specs)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_content("<div id='map' style='width: 1300px; height: 600px'></div>")
        page.add_script_tag(content=script)
        for round_ in range(rounds):
            for n in sizes if round_ % 2 == 0 else sizes[::-1]:
                found[n]["new_plot_ms"].append(round(page.evaluate(NEW_PLOT, specs[n][0])))
                for spec in specs[n][1:]:
                    found[n]["react_ms"].append(round(page.evaluate(REACT, spec)))
        browser.close()
    return found


def measure(url: str, sizes: list[int], tries: int, rounds: int) -> dict[int, list[dict]]:
    from playwright.sync_api import expect, sync_playwright

    found: dict[int, list[dict]] = {n: [] for n in sizes}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(300_000)
        expect.set_options(timeout=300_000)
        page.add_init_script(WATCH_CHANGES)
        wire = Wire(page)
        for round_ in range(rounds):
            for n in sizes if round_ % 2 == 0 else sizes[::-1]:
                page.goto(f"{url}/?n={n}")
                expect(page.get_by_text("users ringed on the map.")).to_be_visible()
                box = page.get_by_role("textbox", name="Find users whose comments mention")
                timed(page, wire, lambda: None)  # the first draw settles
                for word in WORDS[round_ * tries:(round_ + 1) * tries] or WORDS[:tries]:
                    box.fill(word)
                    found[n].append({"word": word, **timed(page, wire, lambda box=box: box.press("Enter"))})
        browser.close()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,2000,3000,5000,8000,0",
                        help="sample sizes to compare, comma-separated; 0 draws every user")
    parser.add_argument("--tries", type=int, default=5, help="word searches per size and round")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the sizes, alternating their order")
    parser.add_argument("--models-from", type=Path, default=None,
                        help="a workspace whose distilled fast encoder is copied instead of distilling one")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "map-sample.json")
    args = parser.parse_args()
    data = DATA / FILES["full"]
    if not data.is_file():
        print(f"the real recipe reviews are not at {data}", file=sys.stderr)
        return 2
    sizes = [int(n) for n in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        workspace = folder / "workspace"
        distilled_models(workspace, args.models_from)
        os.environ["SEGMENT_STUDIO_HOME"] = str(workspace)
        kept = folder / "run.pkl"
        users = keep_run(kept, data)
        figures = {n: figure_cost(kept, n) for n in sizes}
        loads = [os.getloadavg()[0]]
        drawn = draw({n: search_specs(kept, n, WORDS[:args.tries + 1]) for n in sizes}, args.rounds)
        os.environ["MAP_SAMPLE_RUN"] = str(kept)
        loads.append(os.getloadavg()[0])
        with serve(workspace, folder / "streamlit.log", startup_s=180,
                   app=ROOT / "benchmarks" / "map_sample_app.py") as url:
            found = measure(url, sizes, args.tries, args.rounds)
        loads.append(os.getloadavg()[0])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    record = {"file": FILES["full"], "users": users, "commit": commit, "machine": f"{os.cpu_count()} cores, shared VM",
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "tries": args.tries, "rounds": args.rounds,
              "load_1min_draw_start_search_start_end": [round(x, 2) for x in loads], "sizes": {}}
    for n in sizes:
        rows = found[n]
        size = {**figures[n], "new_plot_median_ms": statistics.median(drawn[n]["new_plot_ms"]),
                "react_median_ms": statistics.median(drawn[n]["react_ms"]), "draw": drawn[n],
                "search_median_s": round(statistics.median(r["seconds"] for r in rows), 3),
                "search_max_s": max(r["seconds"] for r in rows),
                "script_median_s": round(statistics.median(r["script_s"] for r in rows), 3), "tries": rows}
        record["sizes"][str(n)] = size
        print(f"{n or 'all'}: drawn {size['drawn']:,}, {size['spec_mb']:.2f} MB, newPlot "
              f"{size['new_plot_median_ms']:.0f} ms, react {size['react_median_ms']:.0f} ms, search median "
              f"{size['search_median_s']:.2f} s (script {size['script_median_s']:.2f} s)")
    print(f"load {record['load_1min_draw_start_search_start_end']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
