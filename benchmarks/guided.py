"""How well do personas written from the label names recover the labels? (issue 23, item 4)

    python benchmarks/guided.py                     # forum and newsgroup sets, fast encoder, seeds 0-2
    python benchmarks/guided.py --encoder minilm    # the same with MiniLM (slow on two cores)
    python benchmarks/guided.py --table             # the README tables from the JSON

The personas below were written from the label names alone (and, for the forum set, the site names its README
gives), before looking at any comment. For each labelled set:

- **all personas**: accuracy of the placed users (their persona is their label), the share placed, and NMI of
  the guided segments (personas and discovered) against the labels, at several similarity thresholds;
- **one persona left out**, in turn for every label: the share of that label's users sent to the discovered
  segments (they should be, as no persona describes them) against the share of the other users placed. Their
  mean (balanced accuracy) over the left-out labels is what the default threshold is chosen on;
- **discovered segments**, per seed of the run (k-means, automatic k, the defaults): NMI against the labels of
  the far users under the run's own segments restricted to them, and under k-means again on them alone (same
  number of segments as they span, ten starts);
- the time of placing 10,000 users against 20 personas.

The real sets are read in place from ``../shared/data`` (never copied).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.metrics import normalized_mutual_info_score as nmi  # noqa: E402
from stamp import load, stamp  # noqa: E402  (benchmarks/, the script's own folder)

from segmentation.cluster.guided import MIN_SIMILARITY, guide, parse_personas, persona_similarity  # noqa: E402
from segmentation.ingest.io import load_comments  # noqa: E402
from segmentation.pipeline.config import SegmentConfig  # noqa: E402
from segmentation.pipeline.segment import cluster_prepared, prepare  # noqa: E402
from segmentation.runs.guided import encode_personas  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
THRESHOLDS = (-1.0, 0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)

# label -> persona, written from the label names only.
PERSONAS = {
    "se_closed_sites": {
        "atheism": "atheism: atheists, religion, God, belief, faith and its critics",
        "economics": "economics: markets, prices, inflation, money, trade, economic theory",
        "firearms": "firearms: guns, rifles, pistols, ammunition, shooting, gun laws",
        "gadgets": "gadgets: phones, tablets, laptops, headphones, chargers, which device to buy",
        "htw": "how things work: how machines, devices and everyday things work, physics explained",
    },
    "newsgroups_users": {
        "alt.atheism": "atheism: atheists, arguments about God and religion, belief and morality",
        "comp.graphics": "computer graphics: 3D rendering, image formats, graphics software and algorithms",
        "comp.os.ms-windows.misc": "Windows: Microsoft Windows, drivers, setting up and running Windows programs",
        "comp.sys.ibm.pc.hardware": "PC hardware: IBM PC compatibles, motherboards, hard disks, controllers, memory",
        "comp.sys.mac.hardware": "Mac hardware: Apple Macintosh computers, monitors, upgrades, Mac models",
        "comp.windows.x": "X Window System: X11, Motif, window managers, X servers and clients on Unix",
        "misc.forsale": "for sale: items for sale, prices, shipping, offers to buy",
        "rec.autos": "cars: automobiles, engines, driving, car models and dealers",
        "rec.motorcycles": "motorcycles: bikes, riding, motorcycle models, helmets",
        "rec.sport.baseball": "baseball: baseball teams, pitchers, hitters, games and the season",
        "rec.sport.hockey": "hockey: ice hockey, NHL teams, players, playoffs",
        "sci.crypt": "cryptography: encryption, keys, ciphers, privacy and security",
        "sci.electronics": "electronics: circuits, components, voltage, building electronic devices",
        "sci.med": "medicine: health, diseases, symptoms, doctors and treatments",
        "sci.space": "space: spaceflight, NASA, rockets, satellites, orbits",
        "soc.religion.christian": "Christianity: Christian faith, the Bible, Jesus, the church",
        "talk.politics.guns": "gun politics: gun control, firearms laws, the right to bear arms",
        "talk.politics.mideast": "Middle East politics: Israel, Palestinians, Arab countries, the conflicts there",
        "talk.politics.misc": "politics: government, taxes, laws, political debate",
        "talk.religion.misc": "religion: religious debate, faith, morality, beliefs and churches",
    },
}


def accuracy_rows(similarity: np.ndarray, truth_index: np.ndarray) -> dict:
    """Placed accuracy, share placed and NMI of nearest-persona labels at each threshold (all personas)."""
    nearest = similarity.argmax(axis=1)
    best = similarity.max(axis=1)
    correct = nearest == truth_index
    out = {}
    for cut in THRESHOLDS:
        placed = best >= cut
        out[f"{cut:.2f}"] = {
            "placed": round(float(placed.mean()), 3),
            "accuracy_placed": round(float(correct[placed].mean()), 3) if placed.any() else None,
            "accuracy_all": round(float((correct & placed).mean()), 3),
        }
    return out


def left_out(similarity: np.ndarray, truth_index: np.ndarray) -> dict:
    """With each label's persona left out in turn: its users discovered against the others placed."""
    out = {}
    for cut in THRESHOLDS:
        found, kept = [], []
        for label in range(similarity.shape[1]):
            others = np.delete(similarity, label, axis=1).max(axis=1)
            mine = truth_index == label
            found.append(float((others[mine] < cut).mean()))
            kept.append(float((others[~mine] >= cut).mean()))
        out[f"{cut:.2f}"] = {"left_out_discovered": round(float(np.mean(found)), 3),
                             "others_placed": round(float(np.mean(kept)), 3),
                             "balanced": round(float((np.mean(found) + np.mean(kept)) / 2), 3)}
    return out


def one_set(name: str, encoder: str, seeds: range) -> dict:
    comments = load_comments(DATA / name / "comments.csv.gz")
    personas = parse_personas("\n".join(PERSONAS[name].values()))
    label_names = list(PERSONAS[name])
    config = SegmentConfig(encoder=encoder)
    started = time.perf_counter()
    prepared = prepare(comments, config, with_map=False)
    encode_s = time.perf_counter() - started
    truth = comments.frame.groupby("user_id")["label"].first().loc[prepared.profiles.user_ids].to_numpy()
    truth_index = np.array([label_names.index(t) for t in truth])
    vectors = encode_personas(personas, encoder)
    profiles = prepared.profiles.vectors
    similarity = persona_similarity(profiles, vectors)
    text = profiles[:, : vectors.shape[1]]
    raw = (text / np.linalg.norm(text, axis=1, keepdims=True)) @ (
        vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).T
    best = similarity.max(axis=1)
    row = {
        "users": int(len(truth)),
        "encode_s": round(encode_s, 1),
        "best_similarity_quartiles": [round(float(q), 3) for q in np.quantile(best, [0.25, 0.5, 0.75])],
        "raw_cosine_accuracy": round(float((raw.argmax(axis=1) == truth_index).mean()), 3),
        "all_personas": accuracy_rows(similarity, truth_index),
        "left_out": left_out(similarity, truth_index),
        "seeds": [],
    }
    for seed in seeds:
        seeded = SegmentConfig(encoder=encoder, seed=seed)
        # The seed is part of what is prepared (the map's layout): the embeddings come from the cache.
        run = cluster_prepared(prepared if seed == config.seed else prepare(comments, seeded, with_map=False), seeded)
        guided = guide(profiles, vectors, personas, run.labels)
        far = ~guided.placed
        entry = {"seed": seed, "k": int(run.metrics["n_segments"]), "far_users": int(far.sum()),
                 "nmi_guided": round(float(nmi(truth, guided.labels)), 3),
                 "nmi_run": round(float(nmi(truth, run.labels)), 3)}
        if far.sum() >= 2 and len(set(run.labels[far].tolist())) >= 2:
            k = len(set(run.labels[far].tolist()))
            again = KMeans(k, n_init=10, random_state=seed).fit_predict(profiles[far])
            entry.update(discovered_k=k, nmi_far_run_segments=round(float(nmi(truth[far], run.labels[far])), 3),
                         nmi_far_reclustered=round(float(nmi(truth[far], again)), 3))
        row["seeds"].append(entry)
        print(f"  seed {seed}: {entry}", flush=True)
    return row


def timing(n_users: int = 10_000, n_personas: int = 20, dims: int = 256, repeats: int = 5) -> float:
    """Median seconds to place ``n_users`` profiles against ``n_personas`` (vectors given; encoding 20 short
    texts is a few milliseconds with the fast encoder)."""
    rng = np.random.default_rng(0)
    profiles = rng.normal(size=(n_users, dims)).astype(np.float32)
    centres = rng.normal(size=(n_personas, dims)).astype(np.float32)
    personas = parse_personas("\n".join(f"p{i}: persona number {i}" for i in range(n_personas)))
    labels = rng.integers(0, 8, n_users)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        guide(profiles, centres, personas, labels)
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def table(results: dict) -> str:
    lines = [f"Encoder {results['encoder']}; default threshold {results['min_similarity']}.", "",
             "| set | threshold | placed | accuracy of placed | left-out users discovered | others placed | "
             "balanced |", "|---|---|---|---|---|---|---|"]
    for name, row in results["sets"].items():
        for cut in THRESHOLDS:
            a, b = row["all_personas"][f"{cut:.2f}"], row["left_out"][f"{cut:.2f}"]
            mark = " **(default)**" if abs(cut - results["min_similarity"]) < 1e-9 else ""
            lines.append(f"| {name} | {cut:.2f}{mark} | {a['placed']:.0%} | {a['accuracy_placed']} | "
                         f"{b['left_out_discovered']:.0%} | {b['others_placed']:.0%} | {b['balanced']:.3f} |")
    lines += ["", "| set | seed | run k | far users | NMI run | NMI guided | far users: NMI of run's segments | "
              "of k-means again |", "|---|---|---|---|---|---|---|---|"]
    for name, row in results["sets"].items():
        for s in row["seeds"]:
            lines.append(f"| {name} | {s['seed']} | {s['k']} | {s['far_users']} | {s['nmi_run']} | {s['nmi_guided']} "
                         f"| {s.get('nmi_far_run_segments', '—')} | {s.get('nmi_far_reclustered', '—')} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="fast")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    parser.add_argument("--table", action="store_true", help="print the README tables from the JSON and stop")
    args = parser.parse_args()
    out = RESULTS / f"guided-{args.encoder}.json"
    if args.table:
        print(table(json.loads(out.read_text(encoding="utf-8"))))
        return 0
    load_start = load()
    results = {
        **stamp(),
        "encoder": args.encoder,
        "min_similarity": MIN_SIMILARITY,
        "personas": PERSONAS,
        "sets": {},
    }
    for name in PERSONAS:
        if not (DATA / name / "comments.csv.gz").is_file():
            print(f"{name}: not found under {DATA}, skipped", file=sys.stderr)
            continue
        print(name, flush=True)
        results["sets"][name] = one_set(name, args.encoder, range(args.seeds))
    results["seconds_at_10k_users_20_personas"] = round(timing(), 4)
    results["load"] = f"{load_start} → {load()}"
    out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
