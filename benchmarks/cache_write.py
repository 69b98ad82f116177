"""What storing the encoded comments costs: the fast encoder's pass over every comment of the real sets into a
fresh embedding cache, with the time, the cache file's size and the load.

    python benchmarks/cache_write.py --tree /path/to/before --tree .   # alternating, one fresh process a run
    python benchmarks/cache_write.py --table                           # the README table from the JSON

The comments are the distinct texts of the four real sets in ``../shared/data`` (recipe reviews, bloggers,
newsgroup posters, forum users), encoded by ``encode_texts`` in its chunks, each committed to the cache as a run
does it. Each ``--tree`` is a checkout of this project; the trees take turns run by run, so a drift in the shared
machine's load falls on both.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stamp import load, stamp  # noqa: E402  (benchmarks/, the script's own folder)

DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "cache-write.json"
SETS = ("recipe_reviews/recipe_reviews_full.csv.gz", "blog_industry/comments.csv.gz",
        "newsgroups_users/comments.csv.gz", "se_closed_sites/comments.csv.gz")

# One timed encode in a process of its own: argv = tree, data folder, sets.
CHILD = """
import json, os, sys, tempfile, time
sys.path.insert(0, sys.argv[1])
import pandas as pd
from segmentation.embed.base import get_encoder
from segmentation.embed.cache import EmbeddingCache, encode_texts
texts = []
for name in sys.argv[3:]:
    frame = pd.read_csv(os.path.join(sys.argv[2], name), dtype=str)
    texts += frame["text"].dropna().tolist()
encoder = get_encoder("fast")
encoder.encode(["set up before the clock"])
with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "embeddings.sqlite")
    started = time.perf_counter()
    result = encode_texts(texts, encoder, EmbeddingCache(path))
    seconds = time.perf_counter() - started
    print(json.dumps({"texts": result.n_encoded, "seconds": round(seconds, 2),
                      "file_mb": round(sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
                                       / 1e6, 1)}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", type=Path, help="a checkout to time (repeat to alternate)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--table", action="store_true", help="print the README table from the JSON")
    args = parser.parse_args()
    if args.table:
        return table()
    if not all((DATA / name).is_file() for name in SETS):
        print(f"the real sets are not all in {DATA}", file=sys.stderr)
        return 2
    trees = [tree.resolve() for tree in (args.tree or [ROOT])]
    runs = []
    for round_ in range(args.rounds):
        for tree in trees:
            before = load()
            done = subprocess.run([sys.executable, "-c", CHILD, str(tree), str(DATA), *SETS],
                                  capture_output=True, text=True, check=True)
            run = {"tree": str(tree), "round": round_, **json.loads(done.stdout.splitlines()[-1]),
                   "load": [before, load()]}
            print(json.dumps(run), flush=True)
            runs.append(run)
    RESULTS.write_text(json.dumps({**stamp(), "runs": runs}, indent=2) + "\n", encoding="utf-8")
    return table()


def table() -> int:
    record = json.loads(RESULTS.read_text(encoding="utf-8"))
    print(f"{record['date']}, {record['machine']}\n")
    print("| tree | texts | seconds per run (median) | cache file | load |")
    print("|---|---|---|---|---|")
    for tree in dict.fromkeys(run["tree"] for run in record["runs"]):
        mine = [run for run in record["runs"] if run["tree"] == tree]
        seconds = " / ".join(f"{run['seconds']:.1f}" for run in mine)
        loads = [value for run in mine for value in run["load"]]
        middle = statistics.median(run["seconds"] for run in mine)
        print(f"| {Path(tree).name} | {mine[0]['texts']:,} | {seconds} ({middle:.1f}) | {mine[0]['file_mb']:.0f} MB "
              f"| {min(loads):.1f}-{max(loads):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
