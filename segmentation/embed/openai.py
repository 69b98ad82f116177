"""The OpenAI-compatible encoder: embeddings from a ``/v1/embeddings`` endpoint (OpenAI, vLLM, Ollama, ...),
and where its endpoint and key come from (:func:`openai_settings`)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from segmentation.core.errors import EncoderError
from segmentation.core.http import Retry, post_json
from segmentation.embed.base import EncoderBase, Progress, _batches, _report, l2_normalise, register

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"


def openai_settings() -> tuple[str | None, str | None]:
    """Return the configured ``(base_url, api_key)``; each None when not set in the environment."""
    base = os.environ.get("SEGMENT_STUDIO_OPENAI_BASE_URL") or os.environ.get("OPENAI_BASE_URL") or None
    key = os.environ.get("SEGMENT_STUDIO_OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY") or None
    return base, key


@register("openai")
class OpenAIEncoder(EncoderBase):
    """Embeddings from an OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, vLLM, Ollama, ...).

    Parameters
    ----------
    model : str
        Model name sent to the endpoint.
    base_url, api_key : str, optional
        Default to ``SEGMENT_STUDIO_OPENAI_BASE_URL`` / ``OPENAI_BASE_URL`` (else the OpenAI API) and
        ``SEGMENT_STUDIO_OPENAI_API_KEY`` / ``OPENAI_API_KEY``.
    batch_size : int
        Inputs per request.
    max_retries : int, optional
        Further attempts after a 429, a 5xx or a connection error, with exponential backoff; defaults to
        ``SEGMENT_STUDIO_OPENAI_MAX_RETRIES`` or 5.
    backoff : float
        First wait in seconds; doubles each retry (a ``Retry-After`` header wins, capped at 60 s).
    timeout : float
        Seconds one attempt at a batch may take, from connecting to the last byte of the answer.
    deadline : float
        Seconds one batch may take with all its retries and waits; past it the encoding fails.
    """

    label = "OpenAI-compatible embeddings endpoint"
    requires = ()
    argument = "model"
    corpus_dependent = False

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        batch_size: int = 128,
        max_retries: int | None = None,
        backoff: float = 1.0,
        timeout: float = 60.0,
        deadline: float = 300.0,
    ) -> None:
        if not model:
            raise EncoderError("openai needs a model name, e.g. 'openai:text-embedding-3-small'")
        env_base, env_key = openai_settings()
        self.model = model
        self.base_url = (base_url or env_base or OPENAI_DEFAULT_BASE_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else env_key
        self.batch_size = batch_size
        self.retry = Retry.from_env(backoff=backoff, timeout=timeout, deadline=deadline,
                                    **({} if max_retries is None else {"max_retries": max_retries}))
        self.name = f"openai:{model}@{self.base_url}"

    @classmethod
    def unavailable_reason(cls) -> str:
        """Empty when an endpoint or key is configured; otherwise what to set."""
        base, key = openai_settings()
        if base or key:
            return ""
        # Shown in the app: plain words; the README's "OpenAI-compatible encoders" names the settings.
        return "no OpenAI-compatible server or API key is set up on this server (the README says how)"

    @property
    def url(self) -> str:
        """The embeddings endpoint."""
        return f"{self.base_url}/embeddings"

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Encode in requests of ``batch_size`` inputs; see :class:`Encoder`."""
        n = len(texts)
        parts = []
        _report(progress, 0, n)
        for start, stop in _batches(n, self.batch_size):
            parts.append(self._embed(list(texts[start:stop])))
            _report(progress, stop, n)
        if not parts:
            return np.zeros((0, 0), dtype=np.float32)
        return l2_normalise(np.vstack(parts))

    def _embed(self, batch: list[str]) -> np.ndarray:
        payload = post_json(self.url, {"model": self.model, "input": batch, "encoding_format": "float"},
                            api_key=self.api_key, retry=self.retry, error=EncoderError, what="embedding endpoint")
        try:
            rows = sorted(payload["data"], key=lambda row: row["index"])
            vectors = np.asarray([row["embedding"] for row in rows], dtype=np.float32)
        except (KeyError, TypeError, ValueError):
            # Not the exception's text: it can quote the answer, and answers are never echoed.
            raise EncoderError(
                f"unexpected response from {self.url}: no usable 'data' (rows of 'index' and 'embedding')"
            ) from None
        if vectors.ndim != 2 or len(vectors) != len(batch):
            raise EncoderError(
                f"unexpected response from {self.url}: {len(vectors)} embeddings for {len(batch)} inputs"
            )
        return vectors
