"""Suggested names and top items on real data, before and after issue 20's item 5, over several seeds.

Each set is segmented per seed (user profiles from the ``fast`` encoder, or ``--encoder``; scikit-learn
``KMeans(k, n_init=10, random_state=seed)`` on the raw profiles), then described twice on the same labels:

- ``before``: the describer at commit b465807 (names from the most distinctive keywords, top items by count),
  read from git so the comparison needs no copy of the old code;
- ``after``: the describer now (names skip each language's name stop words and the data's evenly spread
  words; top items by lift over their overall popularity, with a minimum support).

Figures per seed: names holding a word issue 20 quoted as filler ("like", "little", "using", "good", "works",
"sm", 一种), names holding a word every segment uses alike (``keywords.evenly_spread``, judged the same way for
both), the most segments one item is a top item of, and the mean lift of the items shown. The names and items
themselves are written to the JSON and printed.

    python benchmarks/names.py                          # recipe reviews and the Chinese demo, seeds 0-2
    python benchmarks/names.py --sets recipe_reviews --seeds 0 1 2 --k 8
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import types
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402

from segmentation.describe.keywords import evenly_spread, term_counts  # noqa: E402
from segmentation.describe.segments import describe_labelled_comments  # noqa: E402
from segmentation.embed.base import get_encoder  # noqa: E402
from segmentation.embed.cache import EmbeddingCache, encode_texts  # noqa: E402
from segmentation.embed.profiles import build_profiles  # noqa: E402
from segmentation.ingest.io import from_frame  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
BEFORE_COMMIT = "b465807"
SETS = {
    "recipe_reviews": DATA / "recipe_reviews" / "recipe_reviews_full.csv.gz",
    "demo_zh": ROOT / "segmentation" / "data" / "demo_reviews_zh.csv",
}
ENCODER_FOR = {"demo_zh": "multilingual"}
K_FOR = {"demo_zh": 4}
ISSUE_FILLER = {"like", "little", "using", "good", "works", "sm", "一种"}


def before_describer():
    """The describe module as it was at BEFORE_COMMIT, loaded from git into a throwaway module."""
    source = subprocess.run(
        ["git", "show", f"{BEFORE_COMMIT}:segmentation/describe/segments.py"], cwd=ROOT, capture_output=True,
        text=True, check=True,
    ).stdout
    module = types.ModuleType("describe_before")
    sys.modules[module.__name__] = module  # its dataclasses look their module up there
    exec(compile(source, "describe_before.py", "exec"), module.__dict__)  # noqa: S102 - our own file from git
    return module


def load(name: str):
    frame = pd.read_csv(SETS[name], dtype=str, keep_default_na=False)
    columns = [c for c in ("user_id", "item_id", "item_name", "rating", "text") if c in frame.columns]
    return from_frame(frame[columns].reset_index(drop=True), source=name, max_rows=None)


def name_words(name: str) -> set[str]:
    return {w for part in name.casefold().split(" · ") for w in part.split()}


def figures(segments, spread: set[str], items: np.ndarray | None, comment_labels: np.ndarray) -> dict:
    named = [s for s in segments if s.id >= 0]
    out = {
        "names": {s.id: s.name for s in named},
        "issue_filler_names": sum(bool(name_words(s.name) & ISSUE_FILLER) for s in named),
        "evenly_spread_names": sum(bool(name_words(s.name) & spread) for s in named),
    }
    if items is not None:
        shared = Counter(i for s in named for i in s.top_item_ids)
        known = pd.Series(items).value_counts(normalize=True)
        lifts = []
        for s in named:
            mine = pd.Series(items[comment_labels == s.id]).value_counts(normalize=True)
            lifts += [float(mine[i] / known[i]) for i in s.top_item_ids]
        out |= {"top_items": {s.id: s.top_items for s in named},
                "most_segments_per_item": max(shared.values()) if shared else 0,
                "mean_item_lift": round(float(np.mean(lifts)), 2) if lifts else None}
    return out


def run_set(name: str, args, before, cache: EmbeddingCache) -> dict:
    spec = ENCODER_FOR.get(name, args.encoder)
    k = K_FOR.get(name, args.k)
    comments = load(name)
    frame = comments.frame
    texts = frame["text"].to_numpy()
    embeddings = encode_texts(list(texts), get_encoder(spec), cache).embeddings
    profiles = build_profiles(comments, embeddings)
    terms = term_counts(texts)
    old_terms = before.term_counts(texts)
    items = frame["item_id"].to_numpy(dtype=object) if "item_id" in frame.columns else None
    extra = {"items": items, "item_names": frame["item_name"].to_numpy(dtype=object)} if items is not None else {}
    runs = []
    for seed in args.seeds:
        labels = KMeans(k, n_init=10, random_state=seed).fit_predict(profiles.vectors)
        comment_labels = labels[np.asarray(profiles.comment_user)]
        spread = set(terms.vocabulary[evenly_spread(terms, comment_labels, list(range(k)))])
        common = {"texts": texts, "comment_user": np.asarray(profiles.comment_user), "user_labels": labels,
                  "embeddings": embeddings, **extra}
        old = before.describe_labelled_comments(**common, terms=old_terms)
        new = describe_labelled_comments(**common, terms=terms)
        run = {"seed": seed, "before": figures(old, spread, items, comment_labels),
               "after": figures(new, spread, items, comment_labels)}
        runs.append(run)
        for segment in sorted(run["after"]["names"]):
            print(f"{name} seed {seed} segment {segment}: {run['before']['names'][segment]!r} → "
                  f"{run['after']['names'][segment]!r}", flush=True)
    return {"set": name, "encoder": spec, "k": k, "users": int(len(labels)), "comments": int(len(texts)),
            "runs": runs}


def table(results: list[dict]) -> str:
    lines = ["| set | k | seed | names with the issue's filler before → after | names with an evenly spread word "
             "before → after | most segments sharing a top item before → after | mean lift of top items "
             "before → after |", "|---|---|---|---|---|---|---|"]
    for r in results:
        for run in r["runs"]:
            b, a = run["before"], run["after"]
            items = (f"{b['most_segments_per_item']} → {a['most_segments_per_item']} | "
                     f"{b['mean_item_lift']} → {a['mean_item_lift']}") if "top_items" in b else "— | —"
            lines.append(f"| {r['set']} | {r['k']} | {run['seed']} | {b['issue_filler_names']} → "
                         f"{a['issue_filler_names']} | {b['evenly_spread_names']} → {a['evenly_spread_names']} | "
                         f"{items} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=list(SETS))
    parser.add_argument("--encoder", default="fast")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "names.json")
    args = parser.parse_args()
    before = before_describer()
    cache = EmbeddingCache()
    results = []
    for name in args.sets:
        if not SETS[name].exists():
            print(f"{name}: {SETS[name]} not found, skipped", file=sys.stderr)
            continue
        results.append(run_set(name, args, before, cache))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "load_average": os.getloadavg(),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                 text=True).stdout.strip(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "results": results,
    }, ensure_ascii=False, indent=1))
    print(table(results))


if __name__ == "__main__":
    main()
