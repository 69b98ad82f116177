"""Where the workspace lives: the embedding cache and the saved names share one folder."""

from __future__ import annotations

import os
from pathlib import Path

WORKSPACE_ENV = "SEGMENT_STUDIO_HOME"
DEFAULT_WORKSPACE = ".segment-studio"


def workspace_dir(create: bool = True) -> Path:
    """Return the workspace folder: ``$SEGMENT_STUDIO_HOME`` or ``./.segment-studio``."""
    path = Path(os.environ.get(WORKSPACE_ENV) or DEFAULT_WORKSPACE).expanduser()
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path
