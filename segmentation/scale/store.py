"""The embedding store: Parquet files keyed by encoder and text hash, the distributed SQLite cache.

Layout: ``ROOT/<encoder>/bucket=NNN/<uuid>.parquet`` with columns ``text_hash`` (the SQLite cache's
sha256 key) and ``embedding`` (fixed-size list of float32). A text lives in bucket
``int(text_hash[:8], 16) % BUCKETS``, so a task that handles one bucket reads only that bucket's files.
Files are only ever added (written under a temporary name, then renamed), never rewritten: a re-run or a
grown input encodes only the texts no file holds yet, and Spark or DuckDB can read the store as it is.
A task retried after a crash may add a vector twice; readers keep the first.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

# Fixed for the life of a store: the bucket of a text must not change between runs.
BUCKETS = 256
STORE_DIR = "embedding-store"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def encoder_dir(root: Path, encoder_name: str) -> Path:
    """The folder of one encoder's vectors (the encoder name made safe as a folder name)."""
    return Path(root) / _UNSAFE.sub("_", encoder_name)


def bucket_dir(root: Path, encoder_name: str, bucket: int) -> Path:
    return encoder_dir(root, encoder_name) / f"bucket={int(bucket):03d}"


def read_bucket(root: Path, encoder_name: str, bucket: int) -> tuple[pd.Index, np.ndarray]:
    """All vectors of one bucket: (text hashes, float32 matrix with one row per hash), duplicates dropped."""
    folder = bucket_dir(root, encoder_name, bucket)
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    if not files:
        return pd.Index([], dtype=object), np.zeros((0, 0), dtype=np.float32)
    table = pa.concat_tables([pq.read_table(f) for f in files])
    hashes = pd.Index(table.column("text_hash").to_pylist())
    vectors = _matrix(table.column("embedding"))
    keep = ~hashes.duplicated()
    return hashes[keep], vectors[keep]


def write_bucket(root: Path, encoder_name: str, bucket: int, hashes: list[str], vectors: np.ndarray) -> Path:
    """Add one file of vectors to a bucket, atomically (a reader never sees half a file)."""
    folder = bucket_dir(root, encoder_name, bucket)
    folder.mkdir(parents=True, exist_ok=True)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    embedding = pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), vectors.shape[1])
    table = pa.table({"text_hash": pa.array(hashes, pa.string()), "embedding": embedding})
    name = uuid.uuid4().hex
    scratch = folder / f".{name}.tmp"
    pq.write_table(table, scratch)
    final = folder / f"{name}.parquet"
    os.replace(scratch, final)
    return final


def count(root: Path, encoder_name: str) -> int:
    """Vectors stored for an encoder (duplicates from retried tasks included)."""
    folder = encoder_dir(root, encoder_name)
    if not folder.is_dir():
        return 0
    return sum(pq.ParquetFile(f).metadata.num_rows for f in folder.glob("bucket=*/*.parquet"))


def _matrix(column: pa.ChunkedArray) -> np.ndarray:
    array = column.combine_chunks()
    width = array.type.list_size
    return array.flatten().to_numpy(zero_copy_only=False).reshape(-1, width).astype(np.float32, copy=False)
