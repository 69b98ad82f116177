"""Guided segments of a run: personas encoded with the run's encoder, the run's users placed against them, and
the result saved as a run of its own whose segments carry the persona names.

The placing is :func:`segmentation.cluster.guided.guide`; this module brings it what it needs from a run (in
memory for the app, saved in the workspace for the command line) and keeps what it gives.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from segmentation.cluster.guided import MIN_SIMILARITY, Guided, Persona, check_language, guide
from segmentation.core.errors import ConfigError
from segmentation.core.labels import NOISE
from segmentation.embed.base import get_encoder
from segmentation.embed.cache import EmbeddingCache, encode_texts
from segmentation.embed.profiles import build_profiles
from segmentation.ingest.io import Comments
from segmentation.pipeline.config import PIPELINE_VERSION, SegmentConfig
from segmentation.runs.records import run_key
from segmentation.runs.service import labels_of, run_table, saved_run, saved_run_of
from segmentation.runs.workspace import Workspace

DISCOVERED_PREFIX = "Discovered: "


def encode_personas(personas: Sequence[Persona], encoder: str, cache: EmbeddingCache | None = None) -> np.ndarray:
    """The personas' vectors with the encoder ``encoder`` (a spec, as a run's config names it).

    Raises
    ------
    ConfigError
        When the encoder's vectors depend on the whole corpus (tfidf): a persona encoded alone would not
        live in the run's space.
    """
    model = get_encoder(encoder)
    if model.corpus_dependent:
        raise ConfigError(f"the run used the {encoder} encoder, whose vectors depend on the whole file: personas "
                          "cannot be placed among its users (segment with another encoder first)")
    return encode_texts([p.text for p in personas], model, cache).embeddings


def guide_users(
    comments: Comments,
    profiles: np.ndarray,
    run_labels: np.ndarray,
    personas: Sequence[Persona],
    encoder: str,
    *,
    min_similarity: float = MIN_SIMILARITY,
    cache: EmbeddingCache | None = None,
) -> Guided:
    """Check the personas against the comments' script, encode them and place the users (profiles row for row
    with ``run_labels``)."""
    check_language(personas, comments.frame["text"].tolist())
    vectors = encode_personas(personas, encoder, cache)
    return guide(profiles, vectors, personas, run_labels, min_similarity=min_similarity)


def guide_saved_run(
    comments: Comments,
    key: str,
    personas: Sequence[Persona],
    *,
    min_similarity: float = MIN_SIMILARITY,
    workspace: Workspace | None = None,
    cache: EmbeddingCache | None = None,
) -> tuple[np.ndarray, Guided]:
    """Guided segments of a saved run of ``comments``: the run's users (hand edits applied) and their placing.

    The users' profiles are built as the run built them, from the embedding cache (only what it lacks is
    encoded).

    Returns
    -------
    user_ids : ndarray of str
    guided : Guided

    Raises
    ------
    ConfigError
        When the run is unknown, of other data, or made with a corpus-dependent encoder, or the personas are
        refused.
    """
    workspace = workspace if workspace is not None else Workspace()
    info = saved_run_of(key, comments, workspace)
    config = SegmentConfig.from_dict(info.config)
    check_language(personas, comments.frame["text"].tolist())
    cache = cache if cache is not None else EmbeddingCache()
    vectors = encode_personas(personas, config.encoder, cache)
    encoded = encode_texts(comments.frame["text"].tolist(), get_encoder(config.encoder), cache)
    profiles = build_profiles(comments, encoded.embeddings, half_life_days=config.half_life_days,
                              attributes=config.attributes, attribute_weight=config.attribute_weight)
    labels = labels_of(run_table(info, workspace), profiles.user_ids)
    return profiles.user_ids, guide(profiles.vectors, vectors, personas, labels, min_similarity=min_similarity)


def segment_names(guided: Guided, run_names: dict[int, str]) -> dict[int, str]:
    """The guided segments' names: each persona's, and "Discovered: " with the run segment's name."""
    names = {i: p.name for i, p in enumerate(guided.personas)}
    for offset, segment in enumerate(guided.discovered.tolist()):
        names[guided.n_personas + offset] = DISCOVERED_PREFIX + run_names.get(segment, f"Segment {segment}")
    return names


def guided_table(user_ids: np.ndarray, guided: Guided, run_names: dict[int, str]) -> pd.DataFrame:
    """One row per user: ``user_id, segment, segment_name, persona`` (the nearest, placed or not),
    ``similarity``, ``confidence`` and ``placed``."""
    names = segment_names(guided, run_names)
    return pd.DataFrame({
        "user_id": np.asarray(user_ids).astype(str),
        "segment": guided.labels,
        "segment_name": [names.get(int(label), "Noise") for label in guided.labels],
        "persona": [guided.personas[i].name for i in guided.persona],
        "similarity": np.round(guided.similarity, 4),
        "confidence": np.round(guided.confidence, 4),
        "placed": guided.placed,
    })


def save_guided(
    from_key: str,
    user_ids: np.ndarray,
    guided: Guided,
    run_names: dict[int, str],
    *,
    workspace: Workspace | None = None,
) -> str:
    """Save the guided segments as a run of their own, named after the personas, and return its key.

    The run keeps the original run's data fingerprint and config (with the personas and threshold added, so
    that another set of personas is another run) and the table of :func:`guided_table`, whose
    ``segment_name`` is each persona's name (and "Discovered: " with the run segment's name): every view of a
    saved run reads its names from there where none was saved. They are not saved as names given by hand,
    because names saved on a run are carried to the next run of the same data: "Discovered: …" names would
    land on the segments of a fresh clustering.

    Raises
    ------
    ConfigError
        When ``from_key`` is not a saved run.
    """
    workspace = workspace if workspace is not None else Workspace()
    info = saved_run(from_key, workspace)
    personas = [{"name": p.name, "description": p.description} for p in guided.personas]
    config = {**info.config, "personas": personas, "min_similarity": guided.min_similarity}
    key = run_key(info.fingerprint, {**config, "pipeline_version": PIPELINE_VERSION})
    table = guided_table(user_ids, guided, run_names)
    placed = int(guided.placed.sum())
    record = {
        "source": info.record.get("source"),
        "n_users": len(table),
        "guided": {"from_run": from_key, "personas": personas, "min_similarity": guided.min_similarity,
                   "placed": placed, "discovered": len(table) - placed},
        "notes": [f"Guided segments of run {from_key}: {placed:,} users placed against "
                  f"{guided.n_personas} personas, the others in the run's own segments."],
        "metrics": {"n_segments": len(set(guided.labels.tolist()) - {NOISE})},
    }
    if info.record.get("file_sha256"):
        record["file_sha256"] = info.record["file_sha256"]
    workspace.save_run(key, info.fingerprint, config, dict(zip(table["user_id"], guided.labels.tolist(), strict=True)),
                       pipeline_version=PIPELINE_VERSION, record=record, table=table)
    return key


__all__ = ["DISCOVERED_PREFIX", "encode_personas", "guide_saved_run", "guide_users", "guided_table", "save_guided",
           "segment_names"]
