"""The Segment page's settings as widget values, so a restored run shows the settings that made it.

After a browser reload (a new session) the page restores the last run of the data; without this its
widgets would start at their defaults and the page would claim the settings had changed.
"""

from __future__ import annotations

from typing import Any

from segmentation.ingest.io import Comments
from ui import loaders


def segment_widgets(config: dict[str, Any]) -> dict[str, Any]:
    """Widget key → value on the Segment page for a saved config (``SegmentConfig.to_dict()``)."""
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


def last_settings(comments: Comments) -> dict[str, Any]:
    """The widget values of the last saved run of these comments (the one the page restores), or {}."""
    ws = loaders.workspace()
    latest = ws.latest_run(comments.fingerprint())
    info = ws.run(latest) if latest is not None else None
    return segment_widgets(dict(info.config)) if info is not None else {}
