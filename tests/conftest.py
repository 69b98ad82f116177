"""Shared test set-up: nothing reaches a model hub, and every test gets its own workspace."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI explores the same examples every run (a red CI blocks landing, so it must not depend on luck);
# runs elsewhere keep exploring new random examples.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The app distils the fast encoder at start; with a fresh workspace per test that would be one distillation
# per test (and per browser-test server) competing for the cores. Tests that need it distil explicitly.
os.environ.setdefault("SEGMENT_STUDIO_PREPARE_FAST", "0")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RECIPES = SHARED_DATA / "recipe_reviews"


@pytest.fixture(autouse=True)
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh workspace folder per test, so caches and saved names never leak between tests."""
    path = tmp_path / "workspace"
    monkeypatch.setenv("SEGMENT_STUDIO_HOME", str(path))
    return path


@pytest.fixture(scope="session")  # a path and no state: module fixtures that fit on the real data can use it
def recipes_dir() -> Path:
    if not RECIPES.is_dir():
        pytest.skip(f"real recipe reviews not found at {RECIPES} (the shared data folder is absent)")
    return RECIPES


@pytest.fixture(scope="session")
def fast_home(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace folder holding the fast encoder, distilled once for the whole run and kept in pytest's cache
    between runs where the cache is on (distilling takes 30 s on a quiet machine, minutes on a loaded one).

    The xdist workers share it: the first to get here distils under a lock while the others wait for it, where
    each used to distil its own copy (or race for the cache's) at the same time.
    """
    from segmentation.embed.fast import FastEncoder

    cache = getattr(request.config, "cache", None)
    if cache is not None:
        path = Path(cache.mkdir("segment-studio-fast-model"))
    elif hasattr(request.config, "workerinput"):  # an xdist worker: the run's temporary root is the workers' own
        path = tmp_path_factory.getbasetemp().parent / "segment-studio-fast-model"
    else:
        path = tmp_path_factory.mktemp("fast")
    path.mkdir(parents=True, exist_ok=True)
    # The lock lies beside the folder: tests use the folder itself as a workspace.
    with path.with_name(f"{path.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        FastEncoder(model_dir=path / FastEncoder.MODEL_SUBDIR).load()
    return path
