"""The work of each Ray stage on one batch or one group, as plain pandas/NumPy functions.

The engine (:mod:`segmentation.scale.engine`) only moves data between these: a group is every row of one
text bucket (all copies of a text meet there) or of one user bucket (all comments of a user meet there),
so each function sees complete keys and computes exactly what the local engine computes for them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from segmentation.core.labels import NOISE
from segmentation.core.text import tokenize
from segmentation.embed.base import get_encoder
from segmentation.embed.profiles import build_profiles
from segmentation.ingest.io import Comments
from segmentation.scale import store

# Representative-comment candidates kept per segment and group: enough to survive de-duplication.
REPRESENTATIVE_CANDIDATES = 30


def sample_key(user_ids: np.ndarray, seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per user, fixed by the user id and the seed.

    Users whose key is below ``n / n_users`` form a uniform sample of about ``n`` users that every worker
    agrees on without talking to the others, and a larger sample contains a smaller one.
    """
    heads = [hashlib.sha256(f"{seed}\x00{u}".encode()).digest()[:8] for u in user_ids]
    return np.frombuffer(b"".join(heads), dtype=">u8").astype(np.float64) / 2.0**64


# -- encode --------------------------------------------------------------------------------------------


class EncodeBucket:
    """An actor of the encode pool: loads its encoder once; per text bucket, encodes what the store lacks.

    Each call gets every comment text of one bucket, so duplicates meet and the store's bucket is read
    once; the new vectors (encoded ``batch_size`` texts at a time) go to the store as one file per bucket.
    A many-bucket batch would instead write a small file into every bucket it touches: at 256 texts a
    batch that cost ~30 s of file writes per batch on the loaded test machine.
    """

    def __init__(
        self, encoder_spec: str, root: str, encoder_name: str, batch_size: int, use_gpu: bool = False
    ) -> None:
        self.encoder = get_encoder(encoder_spec)
        self.root = Path(root)
        self.encoder_name = encoder_name
        self.batch_size = batch_size
        if use_gpu:
            _to_gpu(self.encoder)

    def __call__(self, group: pd.DataFrame) -> pd.DataFrame:
        if group.empty:
            return pd.DataFrame({"encoded": np.zeros(0, dtype=np.int64)})
        bucket = int(group["text_bucket"].iloc[0])
        distinct = group.drop_duplicates("text_hash")
        known, _ = store.read_bucket(self.root, self.encoder_name, bucket)
        missing = distinct[~distinct["text_hash"].isin(known)]
        if len(missing):
            texts = missing["text"].tolist()
            vectors = np.vstack(
                [self.encoder.encode(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
            )
            store.write_bucket(self.root, self.encoder_name, bucket, missing["text_hash"].tolist(), vectors)
        return pd.DataFrame({"encoded": [len(missing)]})


def _to_gpu(encoder: Any) -> None:
    """Move a sentence-transformers model to the actor's GPU (encoders load on the CPU by default)."""
    load = getattr(encoder, "_load", None)
    if load is not None:
        load().to("cuda")


def attach_embeddings(group: pd.DataFrame, root: str, encoder_name: str) -> dict[str, np.ndarray]:
    """Every comment of one text bucket with its vector from the store (complete after the encode stage)."""
    bucket = int(group["text_bucket"].iloc[0])
    hashes, vectors = store.read_bucket(Path(root), encoder_name, bucket)
    rows = hashes.get_indexer(group["text_hash"])
    if (rows < 0).any():
        raise RuntimeError(f"embedding store bucket {bucket} lacks {(rows < 0).sum()} texts after encoding")
    out = {column: group[column].to_numpy() for column in group.columns if column != "text_bucket"}
    out["embedding"] = vectors[rows]
    return out


# -- profiles ------------------------------------------------------------------------------------------


def user_profiles(group: dict[str, np.ndarray], half_life_days: float | None, seed: int) -> dict[str, np.ndarray]:
    """One profile per user of one user bucket, by :func:`segmentation.embed.profiles.build_profiles` itself.

    Every comment of a user is in the group, so the vectors equal the local engine's (recency weighting
    included: it is relative to each user's own latest comment). ``raw_sum`` is the unweighted sum of the
    user's comment vectors, from which segment centroids of comments are summed later.
    """
    # The local engine's row order, so each user's vectors are summed in the same order: k-means on
    # profiles that differ in the last bits (another summation order) found another optimum (ARI 0.94).
    order = np.argsort(group["row_id"], kind="stable")
    columns = {"user_id": pd.Series(group["user_id"][order], dtype=str)}
    if "time" in group:
        columns["time"] = pd.to_datetime(group["time"][order], utc=True)
    comments = Comments(frame=pd.DataFrame(columns), roles={})
    embeddings = np.asarray(group["embedding"], dtype=np.float32)[order]
    profiles = build_profiles(comments, embeddings, half_life_days=half_life_days)
    n_users = len(profiles.user_ids)
    raw = np.zeros((n_users, embeddings.shape[1]), dtype=np.float64)
    np.add.at(raw, profiles.comment_user, embeddings)
    user_ids = np.asarray(profiles.user_ids, dtype=object)
    return {
        "user_id": user_ids,
        "vector": profiles.vectors,
        "raw_sum": raw.astype(np.float32),
        "n_comments": profiles.n_comments.astype(np.int64),
        "user_bucket": np.full(n_users, group["user_bucket"][0], dtype=np.int32),
        "sample_key": sample_key(user_ids, seed),
    }


# -- fit and assign ------------------------------------------------------------------------------------


@dataclass
class SpaceReducer:
    """The local engine's clustering space (:func:`segmentation.embed.projection.reduce`), fitted on a sample and
    applied to everyone: plain PCA, or the profiles themselves."""

    method: str
    n_components: int
    seed: int = 0

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """Fit on ``X`` and return its space exactly as the local engine computes it.

        A PCA's ``transform`` can come out with some components' signs flipped against the
        ``fit_transform`` that ``reduce`` uses, so the signs are matched to ``reduce``'s output and
        everyone else lands in the same space.
        """
        from sklearn.decomposition import PCA

        from segmentation.embed.projection import reduce

        space = reduce(X, self.method, self.n_components, seed=self.seed)
        self.pca_ = None
        self.signs_ = np.ones(self.n_components, dtype=np.float32)
        if self.method == "pca":
            n, d = X.shape
            fitted = min(self.n_components, n, d)
            if n >= 2 and fitted >= 1:
                self.pca_ = PCA(n_components=fitted, random_state=self.seed).fit(np.asarray(X, np.float32))
                agreement = (self.transform(X) * space).sum(axis=0)
                self.signs_ = np.where(agreement < 0, -1.0, 1.0).astype(np.float32)
        return space

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if self.method == "none":
            return X.copy()
        out = np.zeros((len(X), self.n_components), dtype=np.float32)
        if self.pca_ is not None:
            out[:, : self.pca_.n_components_] = self.pca_.transform(X)
        return out * self.signs_


def margin(distances: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Confidence of each assignment: ``1 - d(nearest segment) / d(second nearest)``.

    ``distances`` is the clusterer's ``segment_distances`` (users × segments). 1 for a user on a segment's
    centre, 0 for one halfway between two segments; 0 for noise and when there is one segment.
    """
    out = np.zeros(len(distances))
    if distances.ndim != 2 or distances.shape[1] < 2 or not len(distances):
        return out
    two = np.sort(distances, axis=1)[:, :2]
    out = 1.0 - two[:, 0] / np.maximum(two[:, 1], 1e-12)
    out[labels < 0] = 0.0
    return out


def assign_batch(batch: dict[str, np.ndarray], reducer: SpaceReducer, clusterer: Any) -> dict[str, np.ndarray]:
    """Segment and confidence of a batch of users, in the space and with the clusterer fitted on the sample."""
    space = reducer.transform(batch["vector"])
    labels = np.asarray(clusterer.predict(space), dtype=np.int64)
    distances = np.asarray(clusterer.segment_distances(space), dtype=np.float64)
    return {
        "user_id": batch["user_id"],
        "segment": labels,
        "confidence": margin(distances, labels).astype(np.float32),
        "n_comments": batch["n_comments"],
        "user_bucket": batch["user_bucket"],
        "raw_sum": batch["raw_sum"],
    }


def segment_sums(batch: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per segment of a batch of assigned users: users, comments and the sum of comment vectors."""
    labels = batch["segment"]
    rows = []
    for segment in np.unique(labels):
        mine = labels == segment
        rows.append(
            {
                "segment": int(segment),
                "users": int(mine.sum()),
                "comments": int(batch["n_comments"][mine].sum()),
                "vector_sum": batch["raw_sum"][mine].astype(np.float64).sum(axis=0),
            }
        )
    return pd.DataFrame(rows, columns=["segment", "users", "comments", "vector_sum"])


# -- describe ------------------------------------------------------------------------------------------

DESCRIBE_COLUMNS = ("kind", "segment", "key", "value", "row_id", "text")


def describe_group(
    group: dict[str, np.ndarray], assign_root: str, centroids: dict[int, np.ndarray]
) -> pd.DataFrame:
    """What one user bucket adds to the segment descriptions, as a long table to be summed.

    Rows of ``kind`` ``term`` and ``item`` count a term or item per segment; ``rating_sum`` and
    ``rating_n`` add up ratings; ``representative`` rows are the group's comments nearest to their
    segment's centroid of comment vectors (``value`` the cosine, ``row_id`` the tie-break of the local
    engine), of which the engine keeps the best over all groups.
    """
    bucket = int(group["user_bucket"][0])
    assigned = pq.read_table(Path(assign_root) / f"user_bucket={bucket}", columns=["user_id", "segment"])
    segment_of = pd.Series(
        assigned.column("segment").to_numpy(), index=pd.Index(assigned.column("user_id").to_pylist())
    )
    labels = segment_of.reindex(pd.Index(group["user_id"])).to_numpy().astype(np.int64)
    texts = group["text"]
    rows: list[tuple] = []
    for segment in np.unique(labels):
        mine = np.flatnonzero(labels == segment)
        counts: Counter[str] = Counter()
        for text in texts[mine]:
            counts.update(tokenize(str(text)))
        rows.extend(("term", segment, term, float(n), 0, "") for term, n in counts.items())
        if "item_id" in group:
            items = Counter(str(i) for i in group["item_id"][mine] if i is not None and i == i)
            rows.extend(("item", segment, item, float(n), 0, "") for item, n in items.items())
        if "rating" in group:
            ratings = np.asarray(group["rating"][mine], dtype=float)
            ratings = ratings[~np.isnan(ratings)]
            rows.append(("rating_sum", segment, "", float(ratings.sum()), 0, ""))
            rows.append(("rating_n", segment, "", float(len(ratings)), 0, ""))
        rows.extend(_nearest(group, mine, segment, centroids.get(int(segment))))
    return pd.DataFrame(rows, columns=list(DESCRIBE_COLUMNS)).astype({"segment": np.int64, "row_id": np.int64})


def _nearest(group: dict[str, np.ndarray], mine: np.ndarray, segment: int, centroid: np.ndarray | None) -> list:
    if centroid is None or not len(mine):
        return []
    vectors = np.asarray(group["embedding"][mine], dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1) * max(float(np.linalg.norm(centroid)), 1e-12)
    similarity = vectors @ centroid.astype(np.float32) / np.maximum(norms, 1e-12)
    row_ids = group["row_id"][mine]
    best = np.lexsort((row_ids, -similarity))[:REPRESENTATIVE_CANDIDATES]
    return [
        ("representative", segment, "", float(similarity[i]), int(row_ids[i]), str(group["text"][mine[i]]))
        for i in best
    ]


def segment_order(segments: list[int]) -> list[int]:
    """Segments by ascending id with the noise group last, as the local engine lists them."""
    return sorted(segments, key=lambda s: (s == NOISE, s))
