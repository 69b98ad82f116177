"""Guided segments as the Segments page and the command line show them: one row per persona and discovered
segment (users, share, how well they fit), a sentence, and the JSON the ``guided`` command prints."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from segmentation.cluster.guided import Guided
from segmentation.runs.guided import segment_names

FIT_COLUMNS = ("segment", "name", "kind", "users", "share", "mean_similarity", "mean_confidence")


def fit_table(guided: Guided, run_names: Mapping[int, str]) -> pd.DataFrame:
    """Per persona (every one, those that found nobody too) and per discovered segment: users, share, mean
    similarity to the nearest persona and mean confidence (the margin to the next persona), in that order.

    Parameters
    ----------
    guided : Guided
    run_names : mapping of int to str
        The run's segment names (saved, else suggested), for the discovered segments.

    Returns
    -------
    DataFrame
        ``FIT_COLUMNS``; the figures of a persona that found nobody are NaN.
    """
    names = segment_names(guided, dict(run_names))
    n = len(guided.labels)
    ids = list(range(guided.n_personas)) + [guided.n_personas + i for i in range(len(guided.discovered))]
    if (guided.labels < 0).any():
        ids.append(-1)
    rows = []
    for segment in ids:
        members = guided.labels == segment
        rows.append({
            "segment": segment,
            "name": names.get(segment, "Far from every persona, noise in the run"),
            "kind": "persona" if 0 <= segment < guided.n_personas else "discovered",
            "users": int(members.sum()),
            "share": round(float(members.mean()), 4) if n else 0.0,
            "mean_similarity": _mean(guided.similarity[members]),
            "mean_confidence": _mean(guided.confidence[members]),
        })
    return pd.DataFrame(rows, columns=list(FIT_COLUMNS))


def _mean(values: np.ndarray) -> float:
    return round(float(values.mean()), 4) if len(values) else float("nan")


def summary_sentence(guided: Guided) -> str:
    """One plain sentence: how many users the personas took and how many were left to discovered segments."""
    n = len(guided.labels)
    placed = int(guided.placed.sum())
    empty = [p.name for i, p in enumerate(guided.personas) if not (guided.labels == i).any()]
    sentence = (f"{placed:,} of {n:,} users ({placed / max(n, 1):.0%}) placed against {guided.n_personas} personas; "
                f"{n - placed:,} far from every persona (similarity under {guided.min_similarity:g}) are in "
                f"{len(guided.discovered)} discovered segments of the run.")
    if empty:
        sentence += f" No user is near {', '.join(f'“{name}”' for name in empty)}."
    return sentence


def for_json(guided: Guided, run_names: Mapping[int, str]) -> dict:
    """The ``guided`` command's output: the personas, the threshold and the fit table (NaN as null)."""
    table = fit_table(guided, run_names).astype(object)
    table = table.where(pd.notna(table), None)
    return {
        "min_similarity": guided.min_similarity,
        "personas": [{"name": p.name, "description": p.description} for p in guided.personas],
        "placed": int(guided.placed.sum()),
        "discovered": int((~guided.placed).sum()),
        "sentence": summary_sentence(guided),
        "segments": table.to_dict(orient="records"),
    }


__all__ = ["FIT_COLUMNS", "fit_table", "for_json", "summary_sentence"]
