"""Segment quality on real labelled data: every encoder, algorithm, clustering space and k-choice rule.

    python benchmarks/quality.py                         # every set, encoder, algorithm, space, rule
    python benchmarks/quality.py --sets se_closed_sites --encoders fast --algorithms kmeans
    python benchmarks/quality.py --table benchmarks/results/quality.json   # the README table

The real sets come from ``../shared/data`` (never copied into the project; see its README): forum users
labelled by Stack Exchange site (easy), newsgroup authors by newsgroup (medium), bloggers by industry (hard).
The generated demo (labelled by its latent taste) runs last: it flatters every method, so no default is
chosen on it. The product never sees the labels; they only score what it found.

Per set, encoder, algorithm, clustering space and k rule, the JSON rows hold:

* ``nmi_true_k`` / ``ari_true_k``: agreement with the labels at the true number of groups;
* ``k``, ``nmi_chosen`` / ``ari_chosen``: the k the rule chose and the agreement there;
* ``stability``: mean pairwise ARI of the chosen segmentation over 5 seeds (the full fit, not resamples);
* ``silhouette`` (in the clustering space), ``largest_share``, ``noise_share`` at the chosen k;
* ``keyword_distinctness``: share of each segment's top-8 keywords in no other segment's top-8 (k = 8;
  label fidelity is in ``benchmarks/keywords.py``, which compares keyword methods on the same segments);
* ``seconds``: the sweep and the fits of that row.

``baseline_nmi`` per set and encoder is scikit-learn ``KMeans(true k, n_init=10)`` on the raw profiles, the
reference the issue set: the product's defaults must be no worse.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: E402

from segmentation.cluster.base import clusterer_class, from_settings  # noqa: E402
from segmentation.cluster.metrics import quality  # noqa: E402
from segmentation.cluster.selection import (  # noqa: E402
    K_MAX,
    K_MIN,
    choose_k,
    choose_min_cluster_size,
    k_sweep,
    min_cluster_size_sweep,
)
from segmentation.describe.fidelity import keyword_distinctness  # noqa: E402
from segmentation.describe.segments import describe_segments  # noqa: E402
from segmentation.ingest.io import load_comments  # noqa: E402
from segmentation.pipeline.config import SegmentConfig  # noqa: E402
from segmentation.pipeline.segment import prepare  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "quality.json"
SETS = {
    "se_closed_sites": ("se_closed_sites/comments.csv.gz", "label", "easy"),
    "newsgroups_users": ("newsgroups_users/comments.csv.gz", "label", "medium"),
    "blog_industry": ("blog_industry/comments.csv.gz", "label", "hard"),
    "demo": (str(ROOT / "segmentation" / "data" / "demo_reviews.csv"), "true_taste", "generated"),
    "demo_zh": (str(ROOT / "segmentation" / "data" / "demo_reviews_zh.csv"), "true_taste", "generated"),
}
ENCODERS = ("minilm", "fast", "tfidf")
CHINESE_ENCODERS = ("multilingual", "tfidf")
ALGORITHMS = ("kmeans", "agglomerative", "bisecting", "hdbscan")
# "pca+sphere" is the space before this harness (PCA rows put back on the unit sphere), kept to show the loss.
SPACES = ("pca", "pca+sphere", "none", "umap")
K_RULES = ("stability", "silhouette")
SEEDS = 5
KEYWORD_K = 8


def load(name: str):
    path, label, _ = SETS[name]
    full = Path(path) if Path(path).is_absolute() else DATA / path
    comments = load_comments(full, max_bytes=None)
    truth = comments.frame.groupby("user_id")[label].agg(lambda s: s.mode().iloc[0])
    return comments, truth


def space_of(prepared, name: str) -> np.ndarray:
    if name == "pca+sphere":
        reduced = prepared.space("pca", 50)
        norms = np.linalg.norm(reduced, axis=1, keepdims=True)
        return reduced / np.where(norms > 0, norms, 1.0)
    method, dims = ("pca", 50) if name == "pca" else (name, 5 if name == "umap" else 0)
    return prepared.space(method, dims)


def scores(truth: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    return (
        round(float(normalized_mutual_info_score(truth, labels)), 4),
        round(float(adjusted_rand_score(truth, labels)), 4),
    )


def distinctness_at(prepared, labels: np.ndarray) -> float:
    """Keyword distinctness of the segments the product describes for ``labels`` (no encoder re-ranking)."""
    segments = describe_segments(prepared.comments, prepared.profiles, labels, prepared.embeddings,
                                 terms=prepared.terms)
    return round(float(keyword_distinctness([s for s in segments if s.id >= 0])), 4)


def run_row(prepared, truth, algorithm: str, space_name: str, rule: str, true_k: int) -> dict:
    X = space_of(prepared, space_name)
    started = time.perf_counter()
    cls = clusterer_class(algorithm)
    row = {"algorithm": algorithm, "space": space_name, "rule": rule}
    if cls.chooses_k:
        settings = {"min_cluster_size": 10, "noise": "keep", "cluster_selection": rule}
        table = min_cluster_size_sweep(X, cls, [5, 10, 15, 20, 30, 50], settings=settings)
        chosen = choose_min_cluster_size(table).k if (table["n_segments"] >= 2).any() else 10
        fit = lambda seed: from_settings(cls, {**settings, "min_cluster_size": chosen}).fit(X)  # noqa: E731
        row.update(min_cluster_size=chosen)
        labels = fit(0).labels_
        row["nmi_true_k"], row["ari_true_k"] = float("nan"), float("nan")
        seeds_labels = [labels]  # hdbscan is deterministic
    else:
        settings = {"seed": 0, "linkage": "ward"}
        at_true = from_settings(cls, {**settings, "k": true_k}).fit(X).labels_
        row["nmi_true_k"], row["ari_true_k"] = scores(truth, at_true)
        table = k_sweep(X, cls, range(2, K_MAX + 1), seed=0, settings=settings,
                        n_resamples=5 if rule == "stability" else 0)
        if rule == "stability":
            chosen = choose_k(table, k_min=K_MIN, k_max=K_MAX).k
        else:  # the rule before this harness: best silhouette over 2..k_max
            scored = table.dropna(subset=["silhouette"])
            chosen = int(scored.sort_values(["silhouette", "k"], ascending=[False, True]).iloc[0]["k"])
        seeds_labels = [from_settings(cls, {**settings, "k": chosen, "seed": s}).fit(X).labels_
                        for s in range(SEEDS)]
        labels = seeds_labels[0]
    row["seconds"] = round(time.perf_counter() - started, 2)
    kept = labels[labels >= 0]
    row.update(
        k=int(len(np.unique(kept))),
        stability=round(float(np.mean([adjusted_rand_score(a, b) for a, b in combinations(seeds_labels, 2)]))
                        if len(seeds_labels) > 1 else 1.0, 4),
        silhouette=round(float(quality(X, labels)["silhouette"]), 4),
        largest_share=round(float(np.bincount(kept).max() / len(labels)), 4) if len(kept) else 1.0,
        noise_share=round(float((labels < 0).mean()), 4),
    )
    row["nmi_chosen"], row["ari_chosen"] = scores(truth, labels)
    if not cls.chooses_k:
        at_eight = from_settings(cls, {**settings, "k": KEYWORD_K}).fit(X).labels_
        row["keyword_distinctness"] = distinctness_at(prepared, at_eight)
    return row


def run_set(name: str, encoders, algorithms, spaces, rules) -> list[dict]:
    comments, truth_by_user = load(name)
    chinese = name.endswith("_zh")
    rows = []
    for encoder in encoders:
        if (encoder in CHINESE_ENCODERS) != chinese and encoder != "tfidf":
            continue
        started = time.perf_counter()
        prepared = prepare(comments, SegmentConfig(encoder=encoder), with_map=False)
        encode_s = time.perf_counter() - started
        truth = truth_by_user.loc[prepared.profiles.user_ids].to_numpy()
        true_k = len(np.unique(truth))
        baseline = KMeans(true_k, n_init=10, random_state=0).fit(prepared.profiles.vectors).labels_
        base_nmi, base_ari = scores(truth, baseline)
        print(f"{name} {encoder}: {prepared.n_users} users, {true_k} groups, baseline NMI {base_nmi} "
              f"(prepare {encode_s:.0f} s)", file=sys.stderr, flush=True)
        for algorithm in algorithms:
            cls = clusterer_class(algorithm)
            for space_name in spaces:
                if cls.chooses_k and space_name not in ("umap", "pca"):
                    continue
                for rule in (("eom", "leaf") if cls.chooses_k else rules):
                    row = run_row(prepared, truth, algorithm, space_name, rule, true_k)
                    row.update(set=name, encoder=encoder, users=prepared.n_users, true_k=true_k,
                               baseline_nmi=base_nmi, baseline_ari=base_ari)
                    print(json.dumps(row), file=sys.stderr, flush=True)
                    rows.append(row)
    return rows


TABLE_COLUMNS = [
    ("set", "set"), ("encoder", "encoder"), ("algorithm", "algorithm"), ("space", "space"), ("rule", "k rule"),
    ("nmi_true_k", "NMI true k"), ("ari_true_k", "ARI true k"), ("baseline_nmi", "KMeans raw NMI"),
    ("k", "chosen k"), ("nmi_chosen", "NMI chosen"), ("ari_chosen", "ARI chosen"), ("stability", "stability"),
    ("silhouette", "silhouette"), ("largest_share", "largest"), ("noise_share", "noise"),
    ("keyword_distinctness", "kw distinct"), ("seconds", "s"),
]


def table(rows: list[dict]) -> str:
    head = "| " + " | ".join(title for _, title in TABLE_COLUMNS) + " |"
    lines = [head, "|" + "---|" * len(TABLE_COLUMNS)]
    for row in rows:
        cells = []
        for key, _ in TABLE_COLUMNS:
            value = row.get(key, "")
            cells.append(f"{value:.3f}" if isinstance(value, float) and key != "seconds" else str(value))
        lines.append("| " + " | ".join(cells).replace("nan", "–") + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--encoders", default=",".join(ENCODERS + ("multilingual",)))
    parser.add_argument("--algorithms", default=",".join(ALGORITHMS))
    parser.add_argument("--spaces", default=",".join(SPACES))
    parser.add_argument("--rules", default=",".join(K_RULES))
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--table", default=None, help="print the markdown table of a results JSON and exit")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(Path(args.table).read_text())["rows"]))
        return
    rows = []
    for name in args.sets.split(","):
        if not name.startswith("demo") and not (DATA / SETS[name][0]).exists():
            print(f"skipped {name}: {DATA / SETS[name][0]} is absent", file=sys.stderr)
            continue
        rows += run_set(name, args.encoders.split(","), args.algorithms.split(","), args.spaces.split(","),
                        args.rules.split(","))
    out = Path(args.out)
    previous = json.loads(out.read_text())["rows"] if out.exists() else []
    fresh = {(r["set"], r["encoder"], r["algorithm"], r["space"], r["rule"]) for r in rows}
    kept = [r for r in previous if (r["set"], r["encoder"], r["algorithm"], r["space"], r["rule"]) not in fresh]
    record = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "load": os.getloadavg()[0],
        "rows": kept + rows,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1))
    print(table(rows))


if __name__ == "__main__":
    main()
