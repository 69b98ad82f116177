"""One client for OpenAI-compatible HTTP endpoints (embeddings and chat): JSON in, JSON out, with retries.

Standard library only. A 408/409/429/5xx answer, a refused or dropped connection and a timeout are retried
with exponential backoff (a ``Retry-After`` header wins, capped at 60 s); any other HTTP error fails at
once. Every failure is raised as the caller's error class with one line naming the endpoint.

What an endpoint can do to the caller is bounded:

- Redirects are never followed. The bearer key must reach only the address the operator configured, and a
  redirect to an internal address must not turn this client into a way to read it. A 3xx answer is an
  error naming the redirect's target host only.
- A response body never reaches a message: only the HTTP status and a short ``error.message`` from the
  endpoint's own JSON error body, control characters removed. Raw bodies (an HTML page, a proxy's error)
  are never shown.
- Each attempt has a total deadline, and the whole call (retries and waits included) another. The socket
  timeout alone cannot do this: an endpoint sending a byte every few seconds never trips it. When time is
  up the attempt's socket is shut down, which ends any read in progress.
- An answer larger than ``MAX_RESPONSE_BYTES`` is refused instead of filling memory.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import json
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from segmentation.core.errors import SegmentationError

ENV_MAX_RETRIES = "SEGMENT_STUDIO_OPENAI_MAX_RETRIES"
RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 60.0
# 128 inputs of 3,072 floats written as JSON take about 8 MB; eight times that is no honest answer.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
# An error body is read only for its short message.
MAX_ERROR_BODY_BYTES = 64 * 1024
MAX_DETAIL_LENGTH = 160

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


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
        Seconds one attempt may take, from connecting to the last byte of the answer.
    deadline : float
        Seconds the whole call may take: every attempt and every wait between them. The default leaves
        room for a few slow attempts and rate-limit waits on a batch of embeddings.
    """

    max_retries: int = 5
    backoff: float = 1.0
    timeout: float = 60.0
    deadline: float = 300.0

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
        Sent as a bearer token, to ``url`` only: redirects are not followed.
    retry : Retry, optional
        ``Retry.from_env()`` when None.
    error : subclass of SegmentationError
        What to raise.
    what : str
        The endpoint's name in messages ("embedding endpoint", "chat endpoint").

    Raises
    ------
    error
        When the endpoint refuses the request, redirects, keeps failing, cannot be reached, answers no JSON
        or too much, or gives no complete answer within ``retry.deadline`` seconds (that error's
        ``__cause__`` is a ``TimeoutError``, so that a caller can tell running out of time from a refusal).
    """
    retry = retry if retry is not None else Retry.from_env()
    shown = _shown(url)
    data = json.dumps(dict(body)).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    end = time.monotonic() + retry.deadline
    problem = ""
    wait = 0.0
    attempts = 0
    for attempt in range(retry.max_retries + 1):
        if time.monotonic() + wait >= end:
            break
        time.sleep(wait)
        wait = retry.backoff * 2**attempt
        attempts += 1
        limit = max(min(retry.timeout, end - time.monotonic()), 0.01)
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        watchdog = _Watchdog(limit)
        try:
            with _opener(watchdog).open(request, timeout=limit) as response:
                raw = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            with exc:
                if watchdog.expired:
                    problem = f"no complete answer within {limit:.3g} s"
                    continue
                if 300 <= exc.code < 400:
                    raise error(_redirect_message(what, shown, url, exc)) from None
                detail = _error_detail(exc)
            if exc.code not in RETRY_STATUS:
                raise error(f"{what} {shown} refused the request: HTTP {exc.code} {detail}".rstrip()) from None
            problem = f"HTTP {exc.code} {detail}".strip()
            wait = _retry_after(exc, default=wait)
            continue
        # Refused, reset, timed out, unknown host, or a half-sent answer: all worth another try.
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            problem = f"no complete answer within {limit:.3g} s" if watchdog.expired else _connection_problem(exc)
            continue
        finally:
            watchdog.cancel()
        if watchdog.expired:
            # The socket was shut down mid-answer; what was read may look complete but is not.
            problem = f"no complete answer within {limit:.3g} s"
            continue
        if len(raw) > MAX_RESPONSE_BYTES:
            raise error(f"{what} {shown} answered more than {MAX_RESPONSE_BYTES:,} bytes; refused")
        try:
            return json.loads(raw)
        except ValueError:
            raise error(f"{what} {shown} answered something that is not JSON ({len(raw)} bytes)") from None
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    if time.monotonic() >= end or attempts < retry.max_retries + 1:
        last = f"; last: {problem}" if problem else ""
        raise error(f"{what} {shown} gave no answer within the {retry.deadline:g} s deadline ({tries}{last})"
                    ) from TimeoutError(retry.deadline)
    if problem.startswith("HTTP"):
        raise error(f"{what} {shown} kept failing ({problem}) in {tries}")
    raise error(f"cannot reach {what} {shown}: {problem}")


class _Watchdog:
    """Shuts down an attempt's sockets once its time is up, so that a trickling answer cannot hold it."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shutdown(sock)

    def cancel(self) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    # Already closed by the client: nothing left to end.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _watched(base: type[http.client.HTTPConnection]) -> type[http.client.HTTPConnection]:
    class Watched(base):
        def __init__(self, *args: Any, watchdog: _Watchdog, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._watchdog = watchdog

        def connect(self) -> None:
            super().connect()
            self._watchdog.watch(self.sock)

    return Watched


_WatchedHTTP = _watched(http.client.HTTPConnection)
_WatchedHTTPS = _watched(http.client.HTTPSConnection)


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """No new request for a 3xx: the answer surfaces as an ``HTTPError`` with its own status."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _WatchedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self._watchdog = watchdog

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_WatchedHTTP, watchdog=self._watchdog), req)


class _WatchedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self._watchdog = watchdog

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_WatchedHTTPS, watchdog=self._watchdog), req, context=self._context)


def _opener(watchdog: _Watchdog) -> urllib.request.OpenerDirector:
    # Handlers given here replace the default handlers of the same kind.
    return urllib.request.build_opener(_RefuseRedirects, _WatchedHTTPHandler(watchdog), _WatchedHTTPSHandler(watchdog))


def _shown(url: str) -> str:
    """The URL for messages: without a user name, password or query, which may hold credentials."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        netloc = host if parts.port is None else f"{host}:{parts.port}"
    except ValueError:  # a port that is no number: the request fails on it anyway
        netloc = host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _redirect_message(what: str, shown: str, url: str, exc: urllib.error.HTTPError) -> str:
    target = exc.headers.get("Location") or exc.headers.get("URI") or ""
    try:
        host = urllib.parse.urlsplit(urllib.parse.urljoin(url, target)).hostname or ""
    except ValueError:
        host = ""
    host = _CONTROL.sub("", host)[:100]
    where = f"host {host}" if host else "an address with no host"
    return (f"{what} {shown} redirected (HTTP {exc.code}) to {where}; redirects are not followed, "
            "so set the endpoint's final address")


def _error_detail(exc: urllib.error.HTTPError) -> str:
    """The ``error.message`` of the endpoint's JSON error body, short and printable; else nothing."""
    try:
        payload = json.loads(exc.read(MAX_ERROR_BODY_BYTES))
    except Exception:  # not JSON, cut short, or unreadable: the status alone will do
        return ""
    message = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(message, dict):
        message = message.get("message")
    if not isinstance(message, str):
        return ""
    return _CONTROL.sub(" ", message).strip()[:MAX_DETAIL_LENGTH]


def _retry_after(exc: urllib.error.HTTPError, default: float) -> float:
    try:
        return min(float(exc.headers.get("Retry-After", "")), MAX_RETRY_AFTER_S)
    except (TypeError, ValueError):
        return default


def _connection_problem(exc: BaseException) -> str:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return _CONTROL.sub(" ", str(reason))[:MAX_DETAIL_LENGTH] or type(reason).__name__
