"""One client for OpenAI-compatible HTTP endpoints (embeddings and chat): JSON in, JSON out, with retries.

Standard library only. A 408/409/429/5xx answer, a refused or dropped connection and a timeout are retried
with exponential backoff (a ``Retry-After`` header wins, capped at 60 s); any other HTTP error fails at
once. Every failure is raised as the caller's error class with one line naming the endpoint.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from segmentation.errors import SegmentationError

ENV_MAX_RETRIES = "SEGMENT_STUDIO_OPENAI_MAX_RETRIES"
RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 60.0


@dataclass(frozen=True)
class Retry:
    """How long to wait for an answer and how often to try again.

    Parameters
    ----------
    max_retries : int
        Further attempts after a retryable failure.
    backoff : float
        First wait in seconds; doubles each retry.
    timeout : float
        Seconds per request.
    """

    max_retries: int = 5
    backoff: float = 1.0
    timeout: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **values: Any) -> Retry:
        """The settings with ``max_retries`` from ``SEGMENT_STUDIO_OPENAI_MAX_RETRIES`` where set.

        Raises
        ------
        SegmentationError
            When the variable is not a whole number.
        """
        env = os.environ if env is None else env
        text = env.get(ENV_MAX_RETRIES)
        if text is not None and "max_retries" not in values:
            if not text.strip().isdigit():
                raise SegmentationError(f"{ENV_MAX_RETRIES} must be a whole number ≥ 0, not {text!r}")
            values["max_retries"] = int(text)
        return cls(**values)


def post_json(
    url: str,
    body: Mapping[str, Any],
    *,
    api_key: str | None = None,
    retry: Retry | None = None,
    error: type[SegmentationError] = SegmentationError,
    what: str = "endpoint",
) -> Any:
    """POST ``body`` as JSON to ``url`` and return the decoded JSON answer.

    Parameters
    ----------
    url : str
    body : mapping
        JSON-serialisable.
    api_key : str, optional
        Sent as a bearer token.
    retry : Retry, optional
        ``Retry.from_env()`` when None.
    error : subclass of SegmentationError
        What to raise.
    what : str
        The endpoint's name in messages ("embedding endpoint", "chat endpoint").

    Raises
    ------
    error
        When the endpoint refuses the request, keeps failing, cannot be reached or answers no JSON.
    """
    retry = retry if retry is not None else Retry.from_env()
    data = json.dumps(dict(body)).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    problem = ""
    wait = 0.0
    for attempt in range(retry.max_retries + 1):
        time.sleep(wait)
        wait = retry.backoff * 2**attempt
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=retry.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc)
            if exc.code not in RETRY_STATUS:
                raise error(f"{what} {url} refused the request: HTTP {exc.code} {detail}".rstrip()) from None
            problem = f"HTTP {exc.code} {detail}".strip()
            wait = _retry_after(exc, default=wait)
            continue
        # Refused, reset, timed out, unknown host, or a half-sent answer: all worth another try.
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            problem = _connection_problem(exc)
            continue
        try:
            return json.loads(raw)
        except ValueError:
            raise error(f"unexpected response from {url}: not JSON ({raw[:200]!r})") from None
    if problem.startswith("HTTP"):
        raise error(f"{what} {url} kept failing ({problem}) in {retry.max_retries + 1} attempts")
    raise error(f"cannot reach {what} {url}: {problem}")


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read().decode("utf-8", "replace")
        message = json.loads(text).get("error", {})
        text = message.get("message", text) if isinstance(message, dict) else str(message)
    except Exception:  # the body is only a hint for the message
        text = exc.reason or ""
    return str(text)[:300]


def _retry_after(exc: urllib.error.HTTPError, default: float) -> float:
    try:
        return min(float(exc.headers.get("Retry-After", "")), MAX_RETRY_AFTER_S)
    except (TypeError, ValueError):
        return default


def _connection_problem(exc: BaseException) -> str:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return str(reason) or type(reason).__name__
