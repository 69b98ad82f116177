"""Time the loader on the hostile shapes of issues 13 and 18, in a fresh process per case with a time limit.

    python benchmarks/hostile_inputs.py [--repo PATH] [--limit SECONDS] [--only SUBSTRING]

``--repo`` points at another checkout (e.g. an older commit exported with ``git archive``) to time the
same files there; ``--only`` times the files whose name holds SUBSTRING. Writes
``benchmarks/results/hostile-inputs.json`` (or prints only, with --repo or --only).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# Peak memory from VmHWM: it belongs to the probe's own address space (ru_maxrss would carry the parent's
# peak across exec).
PROBE = """
import re, sys, time
sys.path.insert(0, sys.argv[1])
from segmentation.ingest.io import load_comments
started = time.perf_counter()
try:
    comments = load_comments(sys.argv[2])
    outcome = f"loaded {comments.n_comments} comments"
except Exception as error:
    outcome = f"{type(error).__name__}: {str(error)[:90]}"
peak = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) // 1024
print(f"{time.perf_counter() - started:.3f}\\t{peak}\\t{outcome}")
"""

FINGERPRINT = """
import sys, time
import pandas as pd
sys.path.insert(0, sys.argv[1])
from segmentation.ingest.io import from_frame
n = 1_000_000
users = [f"u{i % 50_000}" for i in range(n)]
frame = pd.DataFrame({"user_id": users, "text": [f"comment number {i}" for i in range(n)]})
comments = from_frame(frame)
times = []
for _ in range(3):
    started = time.perf_counter(); comments.fingerprint(); times.append(time.perf_counter() - started)
print("\\t".join(f"{t:.3f}" for t in times))
"""


def _files(folder: Path) -> dict[str, Path]:
    import numpy as np
    import openpyxl
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = {}
    for reference in ("XFD1", "XFD60000"):
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(["user_id", "text"])
        sheet.append(["a", "good grinder"])
        sheet[reference] = "x"
        path = folder / f"cell_at_{reference}.xlsx"
        book.save(path)
        files[path.name] = path
    for n_columns in (1_000, 10_000):
        header = ["user_id", "text", *(f"c{i}" for i in range(n_columns - 2))]
        rows = [",".join([f"u{r}", f"comment {r}", *("1" * (n_columns - 2))]) for r in range(60)]
        path = folder / f"columns_{n_columns}.csv"
        path.write_text(",".join(header) + "\n" + "\n".join(rows) + "\n")
        files[path.name] = path
    # Built as a dictionary array, so that this process never holds the 2 GB it expands to.
    n = 20_000
    text = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array(["y" * 100_000]))
    users = pa.array([f"u{i % 2}" for i in range(n)])
    path = folder / "parquet_dictionary_2gb.parquet"
    pq.write_table(pa.table({"user_id": users, "text": text}), path)
    files[path.name] = path
    # Issue 18, case 13: JSON and JSON lines, which the reader once parsed in quadratic time, and a 5M-row
    # array (196 MB, under the byte limit) that must be refused at the row limit, not parsed whole.
    for n_rows in (100_000, 400_000, 5_000_000):
        label = f"{n_rows // 1_000_000}m" if n_rows >= 1_000_000 else f"{n_rows // 1_000}k"
        path = folder / f"json_array_{label}_rows.json"
        with path.open("w") as handle:
            handle.write("[" + ",\n".join(_json_rows(n_rows)) + "]")
        files[path.name] = path
        if n_rows < 1_000_000:
            path = folder / f"json_lines_{label}_rows.jsonl"
            with path.open("w") as handle:
                handle.writelines(row + "\n" for row in _json_rows(n_rows))
            files[path.name] = path
    return files


def _json_rows(n_rows: int) -> Iterator[str]:
    # Past a million rows, short ones (~40 bytes, as in issue 18), so that the file stays under the byte limit.
    for i in range(n_rows):
        if n_rows > 1_000_000:
            yield json.dumps({"user_id": f"u{i % 20_000}", "text": f"comment {i}"}, separators=(",", ":"))
        else:
            yield json.dumps({"user_id": f"u{i % 20_000}", "text": f"comment {i} on the grinder", "rating": i % 5})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=ROOT)
    parser.add_argument("--limit", type=float, default=120.0)
    parser.add_argument("--only", default="", help="time only the files whose name holds this")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, path in _files(Path(folder)).items():
            if args.only not in name:
                continue
            started = time.perf_counter()
            try:
                proc = subprocess.run([sys.executable, "-c", PROBE, str(args.repo), str(path)], capture_output=True,
                                      text=True, timeout=args.limit)
                seconds, rss, outcome = proc.stdout.strip().split("\t") if proc.stdout.strip() else (
                    f"{time.perf_counter() - started:.3f}", "?", proc.stderr.strip().splitlines()[-1][:90])
            except subprocess.TimeoutExpired:
                seconds, rss, outcome = f">{args.limit:.0f}", "?", "killed at the time limit"
            rows.append({"file": name, "bytes": path.stat().st_size, "seconds": seconds, "peak_rss_mb": rss,
                         "outcome": outcome})
            print(rows[-1], flush=True)
    if args.only:
        return
    proc = subprocess.run([sys.executable, "-c", FINGERPRINT, str(args.repo)], capture_output=True, text=True,
                          timeout=600)
    fingerprint = [float(t) for t in proc.stdout.split()] if proc.returncode == 0 else proc.stderr[-200:]
    print({"fingerprint_1m_rows_three_calls_s": fingerprint})
    if args.repo == ROOT:
        record = {"date": date.today().isoformat(), "machine": f"{platform.machine()}, {platform.node()}, shared",
                  "loads": rows, "fingerprint_1m_rows_three_calls_s": fingerprint}
        out = HERE / "results" / "hostile-inputs.json"
        out.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
