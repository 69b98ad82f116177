"""Keyword quality on real data: distinctness and label fidelity, before and after, on one segmentation.

Every set is segmented once (user profiles from the ``fast`` encoder, or ``--encoder``; scikit-learn
``KMeans(k, n_init=10)`` on the raw profiles), then described by each keyword method on those same labels:

- ``before``: the describer at commit 4b3741a (BERTopic's c-TF-IDF over single words, CJK bigrams),
  read from git so the comparison needs no copy of the old code;
- ``ctfidf``: distinctive c-TF-IDF with word pairs, lexical diversity and one segment per keyword: the
  default without an encoder;
- ``keybert``: the same candidates re-ranked by the encoder (KeyBERTInspired, one segment per keyword,
  MMR): the default when the describer gets the run's encoder.

Figures per method: keyword distinctness (share of each segment's top-8 keywords in no other segment's
top-8) and label fidelity (held-out users whose nearest segment by its encoded "name: keywords" is their
own; :func:`segmentation.describe.fidelity.held_out_label_fidelity`, 20% of users held out, mean over 3 splits).

    python benchmarks/keywords.py                      # the real sets and both demos; JSON + table
    python benchmarks/keywords.py --sets recipe_reviews --k 8
    python benchmarks/keywords.py --table benchmarks/results/keywords.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import types
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402

from segmentation.describe.fidelity import held_out_label_fidelity, keyword_distinctness  # noqa: E402
from segmentation.describe.keywords import CachedEncoder, default_rerankers, term_counts  # noqa: E402
from segmentation.describe.segments import describe_labelled_comments  # noqa: E402
from segmentation.embed.base import get_encoder  # noqa: E402
from segmentation.embed.cache import EmbeddingCache, encode_texts  # noqa: E402
from segmentation.embed.profiles import build_profiles  # noqa: E402
from segmentation.ingest.io import from_frame  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
BEFORE_COMMIT = "4b3741a"
# Real sets first (the single-category recipe reviews are the issue's target set), then the demos.
SETS = {
    "recipe_reviews": DATA / "recipe_reviews" / "recipe_reviews_full.csv.gz",
    "se_closed_sites": DATA / "se_closed_sites" / "comments.csv.gz",
    "newsgroups_users": DATA / "newsgroups_users" / "comments.csv.gz",
    "blog_industry": DATA / "blog_industry" / "comments.csv.gz",
    "demo": ROOT / "segmentation" / "data" / "demo_reviews.csv",
    "demo_zh": ROOT / "segmentation" / "data" / "demo_reviews_zh.csv",
}
ENCODER_FOR = {"demo_zh": "multilingual"}
# Users sampled where a set's long texts would make tokenising take minutes (blog posts).
MAX_USERS = {"blog_industry": 1000}


def before_describer():
    """The describe module as it was at BEFORE_COMMIT, loaded from git into a throwaway module."""
    source = subprocess.run(
        ["git", "show", f"{BEFORE_COMMIT}:segmentation/describe/segments.py"], cwd=ROOT, capture_output=True, text=True,
        check=True,
    ).stdout
    module = types.ModuleType("describe_before")
    sys.modules[module.__name__] = module  # its dataclasses look their module up there
    exec(compile(source, "describe_before.py", "exec"), module.__dict__)  # noqa: S102 - our own file from git
    return module


def load(name: str, max_users: int, seed: int):
    frame = pd.read_csv(SETS[name], dtype=str, keep_default_na=False)
    users = frame["user_id"].unique()
    if len(users) > max_users:
        keep = set(np.random.default_rng(seed).choice(users, max_users, replace=False))
        frame = frame[frame["user_id"].isin(keep)]
    # Only the roles the product reads; labels and personal fields stay out.
    columns = [c for c in ("user_id", "item_id", "rating", "text") if c in frame.columns]
    return from_frame(frame[columns].reset_index(drop=True), source=name, max_rows=None)


def run_set(name: str, args, before, cache: EmbeddingCache) -> dict:
    spec = ENCODER_FOR.get(name, args.encoder)
    comments = load(name, args.max_users or MAX_USERS.get(name, 10**9), args.seed)
    texts = comments.frame["text"].to_numpy()
    encoder = CachedEncoder(get_encoder(spec))
    started = time.perf_counter()
    embeddings = encode_texts(list(texts), encoder.encoder, cache).embeddings
    encode_s = time.perf_counter() - started
    profiles = build_profiles(comments, embeddings)
    labels = KMeans(args.k, n_init=10, random_state=args.seed).fit_predict(profiles.vectors)
    common = {"texts": texts, "comment_user": np.asarray(profiles.comment_user), "user_labels": labels,
              "embeddings": embeddings}
    methods = {
        "before": ({"describer": before.describe_labelled_comments}, before.term_counts),
        "ctfidf": ({"rerankers": default_rerankers(None)}, term_counts),
        "keybert": ({"encoder": encoder}, term_counts),
    }
    out = {"set": name, "encoder": spec, "users": int(len(labels)), "comments": int(len(texts)), "k": args.k,
           "encode_s": round(encode_s, 1), "methods": {}}
    counted = {}
    for method, (options, counter) in methods.items():
        describer = options.get("describer", describe_labelled_comments)
        kwargs = {k: v for k, v in options.items() if k != "describer"}
        started = time.perf_counter()
        if counter not in counted:  # tokenising is done once per data set (the pipeline keeps it)
            counted[counter] = counter(texts)
        terms_s = time.perf_counter() - started
        kwargs["terms"] = counted[counter]
        started = time.perf_counter()
        segments = describer(**common, **kwargs)
        describe_s = time.perf_counter() - started
        fidelity = [
            # The scoring encoder is also the describing one where a method uses one (keybert).
            held_out_label_fidelity(**common, encoder=encoder, seed=split, describer=describer,
                                    **{k: v for k, v in kwargs.items() if k != "encoder"})
            for split in range(args.splits)
        ]
        out["methods"][method] = {
            "distinctness": round(keyword_distinctness(segments), 3),
            "label_fidelity": round(float(np.mean(fidelity)), 3),
            "label_fidelity_splits": [round(f, 3) for f in fidelity],
            "terms_s": round(terms_s, 2),
            "describe_s": round(describe_s, 2),
            "keywords": {s.id: s.keywords for s in segments},
            "names": {s.id: s.name for s in segments},
        }
        print(f"{name:17s} {method:8s} distinct {out['methods'][method]['distinctness']:.3f}  "
              f"fidelity {out['methods'][method]['label_fidelity']:.3f}  terms {terms_s:.1f}s  "
              f"describe {describe_s:.1f}s", flush=True)
    return out


def table(results: list[dict]) -> str:
    lines = [
        "| set | encoder | users | k | distinctness before → c-TF-IDF → + encoder | "
        "label fidelity before → c-TF-IDF → + encoder | tokenise s before / now | describe s before / + encoder |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        m = r["methods"]
        lines.append(
            f"| {r['set']} | {r['encoder']} | {r['users']:,} | {r['k']} | "
            + " → ".join(f"{m[x]['distinctness']:.2f}" for x in ("before", "ctfidf", "keybert"))
            + " | "
            + " → ".join(f"{m[x]['label_fidelity']:.2f}" for x in ("before", "ctfidf", "keybert"))
            + f" | {m['before']['terms_s']:.1f} / {m['ctfidf']['terms_s']:.1f}"
            + f" | {m['before']['describe_s']:.1f} / {m['keybert']['describe_s']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=list(SETS))
    parser.add_argument("--encoder", default="fast")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--max-users", type=int, help="sample of users per set (default: all; blogs 1,000)")
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "keywords.json")
    parser.add_argument("--table", type=Path, help="print the table of an earlier JSON and stop")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(args.table.read_text())["results"]))
        return
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
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                 text=True).stdout.strip(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "results": results,
    }, ensure_ascii=False, indent=1))
    print(table(results))


if __name__ == "__main__":
    main()
