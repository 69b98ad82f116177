"""How heavy the Segment page's map is at 50,000 users: time to shape, place labels, build and serialise.

    python benchmarks/map_scale.py [--users 50000] [--out benchmarks/results/map-scale.json]

Synthetic positions (12 Gaussian segments) stand in for a run: only the map's own work is timed. The
serialised figure is what Streamlit sends to the browser; the full one is given beside the sample's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from segmentation.present.maps import label_positions, sample_rows  # noqa: E402
from segmentation.present.views import map_frame  # noqa: E402
from ui import charts  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "map-scale.json")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n, k = args.users, 12
    segments = rng.integers(0, k, n)
    xy = rng.normal(0, 5, (k, 2))[segments] + rng.normal(0, 1, (n, 2))
    assignments = pd.DataFrame({"user_id": [f"user-{i}" for i in range(n)], "segment": segments,
                                "x": xy[:, 0], "y": xy[:, 1]})
    labels = {s: f"Segment {s} · battery · charger" for s in range(k)}
    seconds = {}
    started = time.perf_counter()
    frame = map_frame(assignments, labels, ["a typical comment snippet, about sixty characters long here"] * n)
    seconds["shape"] = time.perf_counter() - started
    started = time.perf_counter()
    rows = sample_rows(frame["segment"].to_numpy())
    names = label_positions(frame["x"].to_numpy(), frame["y"].to_numpy(), frame["segment"].to_numpy(), labels)
    seconds["sample_and_labels"] = time.perf_counter() - started
    started = time.perf_counter()
    figure = charts.segment_map(frame.iloc[rows], charts.segment_colours(labels), names=names)
    seconds["figure"] = time.perf_counter() - started
    started = time.perf_counter()
    spec = figure.to_json()
    seconds["serialise"] = time.perf_counter() - started
    full = charts.segment_map(frame, charts.segment_colours(labels), names=names).to_json()
    result = {
        "date": date.today().isoformat(), "machine": f"{platform.machine()}, {platform.node()}",
        "load_1min": round(os.getloadavg()[0], 1),
        "users": n, "drawn": int(len(rows)), "trace_type": figure.data[0].type,
        "seconds": {key: round(value, 2) for key, value in seconds.items()},
        "spec_mb": round(len(spec) / 1e6, 2), "full_spec_mb": round(len(full) / 1e6, 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
