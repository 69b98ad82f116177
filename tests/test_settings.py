"""ui/settings.py: the widget values a saved run restores, derived from the parameters' declarations."""

from __future__ import annotations

from typing import Any

import pytest

from segmentation.pipeline.config import SegmentConfig
from ui.settings import segment_widgets


def written_by_hand(config: dict[str, Any]) -> dict[str, Any]:
    """segment_widgets as it was written before the declarations (commit 77ee56d), kept as the reference."""
    encoder, _, argument = str(config.get("encoder", "")).partition(":")
    values: dict[str, Any] = {
        "seg_encoder": encoder,
        "seg_algorithm": config.get("algorithm", "kmeans"),
        "seg_linkage": config.get("linkage", "ward"),
        "seg_noise": config.get("noise", "keep"),
        "seg_selection": config.get("cluster_selection", "eom"),
        "seg_seed": int(config.get("seed", 0)),
        "seg_half_life": float(config.get("half_life_days") or 0.0),
        "seg_attributes": list(config.get("attributes") or ()),
    }
    if argument:
        values[f"seg_encoder_arg_{encoder}"] = argument
    size = config.get("min_cluster_size", 10)
    values["seg_auto_mcs"] = size == "auto"
    if size != "auto":
        values["seg_mcs"] = int(size)
    k = config.get("k", "auto")
    values["seg_auto_k"] = k == "auto"
    if k != "auto":
        values["seg_k"] = int(k)
    return values


CONFIGS = [
    SegmentConfig(),
    SegmentConfig(encoder="sentence-transformers:/models/x", algorithm="agglomerative", k=4, linkage="average",
                  seed=3, half_life_days=30.0, attributes=("plan", "age")),
    SegmentConfig(algorithm="hdbscan", min_cluster_size="auto", noise="nearest", cluster_selection="leaf"),
    SegmentConfig(algorithm="hdbscan", min_cluster_size=25, min_samples=4),
]


@pytest.mark.parametrize("config", CONFIGS, ids=["defaults", "agglomerative", "hdbscan_auto", "hdbscan_sized"])
def test_derived_widget_values_equal_the_hand_written_ones_plus_min_samples(config: SegmentConfig) -> None:
    derived = segment_widgets(config.to_dict())
    new = {key: derived.pop(key) for key in ("seg_auto_min_samples", "seg_min_samples") if key in derived}
    assert derived == written_by_hand(config.to_dict())
    assert new == ({"seg_auto_min_samples": True} if config.min_samples is None
                   else {"seg_auto_min_samples": False, "seg_min_samples": config.min_samples})


def test_a_saved_config_missing_newer_keys_restores_their_defaults() -> None:
    saved = {"encoder": "tfidf", "algorithm": "kmeans", "k": 5}
    assert segment_widgets(saved) == {**written_by_hand(saved), "seg_auto_min_samples": True}
