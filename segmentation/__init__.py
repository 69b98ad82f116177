"""Segment studio's library: comments → embeddings → user profiles → segments → names → recommendations.

Importing the package is cheap: the public names below load their modules on first use, and encoders
and UMAP load their heavy dependencies only when they run.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_PUBLIC = {
    "SegmentationError": "segmentation.core.errors",
    "DataError": "segmentation.core.errors",
    "EncoderError": "segmentation.core.errors",
    "ConfigError": "segmentation.core.errors",
    "Comments": "segmentation.ingest.comments",
    "load_comments": "segmentation.ingest.io",
    "SegmentConfig": "segmentation.pipeline.config",
    "SegmentResult": "segmentation.pipeline.segment",
    "prepare": "segmentation.pipeline.segment",
    "cluster_prepared": "segmentation.pipeline.segment",
    "segment": "segmentation.pipeline.segment",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'segmentation' has no attribute {name!r}")
    return getattr(import_module(_PUBLIC[name]), name)
