"""Cached loaders: the same file is read once, the same data encoded once, the same evaluation run once.

Keys are content, never objects: the sha256 of the uploaded bytes, ``Comments.fingerprint()`` and the
frozen config. Heavy objects travel as ``_``-prefixed arguments, which Streamlit does not hash. Work that
reports progress (encoding, evaluation) runs *outside* the cached function, in a per-key slot, because
Streamlit would record and replay the progress-bar updates made inside a cached function.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from segmentation.cluster.base import K
from segmentation.core.errors import DamagedWorkspaceError, SegmentationError
from segmentation.core.paths import workspace_dir
from segmentation.embed import throughput
from segmentation.embed.base import get_encoder
from segmentation.embed.cache import EmbeddingCache
from segmentation.embed.estimate import EncodeEstimate, cpu_share, current_load
from segmentation.ingest.io import Comments, from_frame, read_table
from segmentation.pipeline.config import SegmentConfig
from segmentation.pipeline.segment import Prepared, StageProgress, cluster_prepared, prepare, sweep
from segmentation.runs import warmup
from segmentation.runs.workspace import WORKSPACE_FILE, Workspace
from ui.text import show_error


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_key(*parts: Any) -> str:
    """A fingerprint of ``parts`` (tables, arrays, and values with a stable ``repr``: numbers, strings, mappings,
    dataclasses), for a cache whose heavy inputs travel unhashed.

    Every value of a table or an array counts (each hashed to 64 bits, the whole then to sha256), unlike
    Streamlit's own hashing of large ones, which samples them (see the module docstring).
    """
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, pd.DataFrame):
            digest.update(repr((list(part.columns), part.dtypes.astype(str).tolist(), part.shape)).encode())
            # Each value hashed as it is (categorize=False): sorting unique strings into categories first made
            # the map's 5,000 drawn rows take 28 ms instead of 9.
            digest.update(pd.util.hash_pandas_object(part, index=True, categorize=False).to_numpy().tobytes())
        elif isinstance(part, np.ndarray):
            digest.update(repr((part.dtype.str, part.shape)).encode())
            digest.update(np.ascontiguousarray(part).tobytes() if part.dtype != object
                          else pd.util.hash_array(part.ravel(), categorize=False).tobytes())
        else:
            digest.update(repr(part).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def kept(draw: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``draw(*args, **kwargs)``, made once per function and content of its arguments, and shared after.

    For the pages' figures: a rerun that changes none of a chart's inputs (a page switch, a search that leaves
    the other charts alone) gets the figure it had instead of building it again; building the Segment page's
    four charts was about a third of its run on 13,811 real users (profiled). The arguments are all the figure
    depends on, and every value of them goes into the key (:func:`content_key`). The result is shared by every
    session: never change it (``st.plotly_chart`` only reads a figure).
    """
    key = content_key(draw.__module__, draw.__qualname__, len(args), *args, sorted(kwargs), *kwargs.values())
    return _kept(key, lambda: draw(*args, **kwargs))


@st.cache_resource(max_entries=32, show_spinner=False)
def _kept(key: str, _build: Callable[[], Any]) -> Any:
    return _build()


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Once per server process, in the background: put the bundled demo vectors into the embedding cache
    and compile UMAP's numba code, so the first Run on the demo encodes nothing and compiles nothing, then
    distil the fast encoder if the workspace lacks it (``segmentation.runs.warmup.warm_up``)."""
    thread = threading.Thread(target=warmup.warm_up, name="start-up-warm-up", daemon=True)
    thread.start()
    return thread


def setup_note(spec: str) -> str | None:
    """What the Segment page says about the encoder's one-off preparation before Run; None when none is due."""
    try:
        encoder = get_encoder(spec)
    except SegmentationError:
        return None
    if not encoder.needs_setup():
        return None
    about = f"about {encoder.setup_s / cpu_share(current_load()):.0f} s of both cores"
    if warmup.preparing(encoder):
        return (f"This encoder is being prepared in the background since the app started (once per workspace, "
                f"{about} in all); Run waits for it and shows the time left.")
    return f"This encoder is prepared once per workspace before its first run: {about}, shown as its own step."


def encode_estimate(spec: str, comments: Comments) -> EncodeEstimate | None:
    """How long encoding ``comments`` with ``spec`` will take (only what the embedding cache lacks, at the
    speed measured here and the current load); looked up in the cache once per file, encoder and cache size.

    The load is applied afresh on each call rather than keyed: keyed by the load (rounded to a half), the
    lookup ran again whenever the load moved, 0.6 s of a new k's redraw on 18,177 real comments at load 8.
    """
    cache = EmbeddingCache()
    todo = _texts_to_encode(comments.fingerprint(), spec, cache.count(), _comments=comments, _cache=cache)
    return None if todo is None else throughput.estimate_pending(spec, todo)


@st.cache_resource(max_entries=16, show_spinner=False)
def _texts_to_encode(fingerprint: str, spec: str, cached: int, _comments: Comments,
                     _cache: EmbeddingCache) -> list[str] | None:
    # A shared list, never changed: estimate_pending only reads it.
    return throughput.texts_to_encode(spec, _comments.frame["text"].tolist(), _cache)


@st.cache_data(max_entries=4, show_spinner="Reading the file…")
def read_upload(digest: str, name: str, _data: bytes) -> pd.DataFrame:
    """The table in an uploaded file, read once per content (``digest`` = sha256 of ``_data``)."""
    return read_table(_data, name=name)


@st.cache_resource(max_entries=4, show_spinner="Cleaning the comments…")
def comments_for(digest: str, name: str, roles: tuple[tuple[str, str], ...], _raw: pd.DataFrame) -> Comments:
    """The cleaned comments of a read table under one column mapping (``""`` = no such column)."""
    mapping = {f"{role}_col": column for role, column in roles}
    return from_frame(_raw, source=name, **mapping)


def workspace() -> Workspace:
    """The workspace (runs and names) in the current workspace folder.

    A damaged workspace file stops the page with the library's message and a button that keeps the
    file as a backup and starts a fresh workspace; nothing is deleted.
    """
    try:
        return _workspace(str(workspace_dir()))
    except DamagedWorkspaceError as error:
        show_error(error)
        if st.button("Start a fresh workspace", key="fresh_workspace", type="primary"):
            _, backup = Workspace.start_fresh(error.path)
            _workspace.clear()
            st.toast(f"Started a fresh workspace; the damaged one is kept as {backup.name}")
            st.rerun()
        st.stop()


@st.cache_resource(max_entries=4, show_spinner=False)
def _workspace(folder: str) -> Workspace:
    # A Workspace holds only a path and opens a connection per call, so one object serves every session.
    return Workspace(Path(folder) / WORKSPACE_FILE)


@dataclass
class _Slot:
    lock: threading.Lock = field(default_factory=threading.Lock)
    value: Any = None


@st.cache_resource(max_entries=3, show_spinner=False)
def _prepared_slot(fingerprint: str, prepare_key: tuple) -> _Slot:
    return _Slot()


@st.cache_resource(max_entries=4, show_spinner=False)
def _evaluation_slot(fingerprint: str, config: SegmentConfig, top_n: int) -> _Slot:
    return _Slot()


@st.cache_resource(max_entries=4, show_spinner=False)
def _recommenders_slot(fingerprint: str, config: SegmentConfig, labels_key: str, method: str) -> _Slot:
    return _Slot()


def is_prepared(comments: Comments, config: SegmentConfig) -> bool:
    """Whether encoding, profiles and the map for this data and config are already in memory."""
    return _prepared_slot(comments.fingerprint(), config.prepare_key()).value is not None


def run_segmentation(comments: Comments, config: SegmentConfig, progress: StageProgress):
    """Cluster the comments with ``config``, re-using embeddings, profiles and the map when cached.

    Returns
    -------
    (Prepared, SegmentResult, bool)
        The bool says whether the prepared data came from the cache.
    """
    slot = _prepared_slot(comments.fingerprint(), config.prepare_key())
    with slot.lock:
        reused = slot.value is not None
        if not reused:
            slot.value = prepare(comments, config, progress=progress)
        prepared: Prepared = slot.value
        # Under the lock: the prepared object memoises reduced spaces, shared by every session.
        result = cluster_prepared(prepared, config, progress=progress)
    return prepared, result, reused


def prepared_for(comments: Comments, config: SegmentConfig) -> Prepared | None:
    """The cached prepared data of a run, if still in memory."""
    return _prepared_slot(comments.fingerprint(), config.prepare_key()).value


def sweep_for(fingerprint: str, config: SegmentConfig, prepared: Prepared, max_k: int) -> pd.DataFrame:
    """Quality and stability against k = 2..max_k (the slider's range), or against min cluster size.

    Runs that differ only in k share one sweep: it fits every k of the range itself, whatever k the run
    took. Keyed by the run's own k, a new k on 13,811 real users swept again and its page came back 95 s
    after its 8 s computation (``benchmarks/controls.py``).
    """
    if not config.clusterer.chooses_k:
        config = replace(config, k=K.default)
    return _sweep_for(fingerprint, config, prepared, max_k)


@st.cache_data(max_entries=16, show_spinner="Sweeping k…")
def _sweep_for(fingerprint: str, config: SegmentConfig, _prepared: Prepared, max_k: int) -> pd.DataFrame:
    return sweep(_prepared, config, range(2, max_k + 1))


def evaluation_for(comments: Comments, config: SegmentConfig, top_n: int, progress: StageProgress | None):
    """The recommendation evaluation of a run, computed once per data, config and list length."""
    from segmentation.recommend.evaluate import evaluate_pipeline
    from segmentation.runs.service import keep_evaluation

    slot = _evaluation_slot(comments.fingerprint(), config, top_n)
    with slot.lock:
        if slot.value is None:
            slot.value = evaluate_pipeline(comments, config, top_n=top_n, progress=progress)
            # Kept with the runs of this data and config: their shareable report gives the answer.
            keep_evaluation(comments, config, slot.value, workspace())
    return slot.value


def cached_evaluation(comments: Comments, config: SegmentConfig, top_n: int):
    """The evaluation if it was computed already, else None."""
    return _evaluation_slot(comments.fingerprint(), config, top_n).value


def recommenders_for(prepared: Prepared, result, method: str) -> Any:
    """A run's recommenders (``method`` beside popularity), fitted once per data, config, segments and method."""
    from segmentation.present.views import UserRecommendations
    from segmentation.recommend.service import fit_run_recommenders

    # Keyed by the labels too: hand edits change the segments without changing the config.
    slot = _recommenders_slot(prepared.comments.fingerprint(), result.config,
                              hashlib.sha256(result.labels.tobytes()).hexdigest()[:16], method)
    with slot.lock:
        if slot.value is None:
            fitted = fit_run_recommenders(prepared.comments, prepared.profiles.user_ids, prepared.profiles.vectors,
                                          result.labels, prepared.embeddings, method=method, seed=result.config.seed,
                                          item_labels=prepared.item_labels)
            slot.value = UserRecommendations(fitted, prepared.item_labels)
    return slot.value


@st.cache_data(max_entries=8, show_spinner=False)
def snippets_for(fingerprint: str, _comments: Comments, _user_ids) -> np.ndarray:
    """One short comment per user for the map's hover text (an object array), computed once per data set."""
    from segmentation.present.views import user_snippets

    return user_snippets(_comments, _user_ids)


@st.cache_data(max_entries=16, show_spinner="Searching by meaning…")
def nearest_for(fingerprint: str, config: SegmentConfig, query: str, _prepared: Prepared) -> pd.DataFrame:
    """The comments closest in meaning to ``query`` in a run's data (see ``maps.MeaningSearch``)."""
    return _meaning_search(fingerprint, config.prepare_key(), _prepared).nearest(query)


@st.cache_resource(max_entries=3, show_spinner=False)
def word_search_for(fingerprint: str, run_key: str, _comments: Comments, _user_ids) -> Any:
    """One ``WordSearch`` per data and run (its users): the comments casefolded once for every search."""
    from segmentation.present.maps import WordSearch

    return WordSearch(_comments, _user_ids)


@st.cache_resource(max_entries=3, show_spinner="Preparing the search by meaning…")
def _meaning_search(fingerprint: str, prepare_key: tuple, _prepared: Prepared) -> Any:
    """One ``MeaningSearch`` per data and embeddings (``prepare_key``): its normalised vectors serve every query."""
    from segmentation.present.maps import MeaningSearch

    return MeaningSearch(_prepared)


@st.cache_resource(max_entries=8, show_spinner="Applying the segment edits…")
def edited_for(run_key: str, edits_key: str, _edits: tuple, _prepared: Prepared, _result) -> Any:
    """A run's result with its hand edits applied (``edits_key`` = ``segmentation.runs.edits.edits_key``)."""
    from segmentation.runs.edits import apply_edits, edited_result

    labels = apply_edits(_result.labels, _result.user_ids, _edits)
    return edited_result(_prepared, _result, labels)


@st.cache_data(max_entries=8, show_spinner="Describing the selection…")
def selection_for(fingerprint: str, selection_key: str, _prepared: Prepared, _users: tuple) -> Any:
    """What a map selection is about against the rest (``selection_key`` identifies ``_users``)."""
    from segmentation.runs.edits import selection_description

    return selection_description(_prepared, _users)


@st.cache_resource(max_entries=4, show_spinner="Measuring the segments' silhouette…")
def silhouette_sums_for(run_key: str, labels_key: str, _space, _labels, seed: int) -> Any:
    """The silhouette sums of a run's labels (``labels_key`` identifies ``_labels``), kept for the edit previews
    (``segmentation.runs.edits.preview``): each preview then costs the distances of the users it moves."""
    from segmentation.cluster.metrics import SILHOUETTE_SAMPLE, silhouette_sums

    return silhouette_sums(_space, _labels, max_points=SILHOUETTE_SAMPLE, seed=seed)


def edit_log() -> Any:
    """The hand edits of runs, kept in the workspace file."""
    from segmentation.runs.edits import EditLog

    return EditLog(workspace().path)
