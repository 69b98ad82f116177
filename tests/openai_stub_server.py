"""A small real HTTP server speaking the OpenAI ``/v1/embeddings`` and ``/v1/chat/completions`` API.

Tests start it on 127.0.0.1 with a free port. Embeddings are hashed bag-of-words vectors (English words
and Chinese characters), so texts sharing words are similar; chat completions answer with a JSON
``{"name": ..., "description": ...}`` derived deterministically from the last user message. Knobs for
failure tests: ``fail_next`` (answer the next that many embedding requests with HTTP 503),
``fail_after`` (answer HTTP 503 after that many embedding requests) and ``die_after`` (after that many,
drop the connection and stop listening). Knobs for hostile endpoints, which apply to every request:
``redirect_to`` (answer with that redirect, status ``redirect_status``), ``page`` (answer with this
``(status, content type, body)`` instead of the API), ``trickle_s`` (send the answer one byte every that
many seconds) and ``hang`` (read the request, then never answer). Every request's ``Authorization``
header is recorded in ``authorizations``, whatever its method or path.

Run by hand: ``python tests/openai_stub_server.py --port 8765``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

TOKEN = re.compile(r"[a-z0-9]+|[\u4e00-\u9fff]")
STOP = frozenset(
    (
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "so",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "with",
        "you",
        "your",
        "they",
        "we",
        "our",
        "not",
        "very",
        "just",
    )
)


def tokens(text: str) -> list[str]:
    """Lower-case words and single CJK characters, minus a few English stop words."""
    return [t for t in TOKEN.findall(text.lower()) if t not in STOP]


def hashed_embedding(text: str, dim: int = 64) -> list[float]:
    """A unit bag-of-words vector: each token adds ±1 at a position given by its hash."""
    vector = np.zeros(dim)
    for token in tokens(text) or [text]:
        digest = hashlib.sha256(token.encode()).digest()
        vector[int.from_bytes(digest[:4], "little") % dim] += 1.0 if digest[4] & 1 else -1.0
    norm = np.linalg.norm(vector)
    return (vector / norm if norm else vector).tolist()


def segment_name(prompt: str) -> dict[str, str]:
    """Name and description from the prompt's most frequent content words."""
    common = [w for w, _ in Counter(t for t in tokens(prompt) if len(t) > 2).most_common(3)] or ["general"]
    name = " ".join(w.title() for w in common[:2]) + " fans"
    return {"name": name, "description": f"Users who mostly talk about {', '.join(common)}."}


class StubServer:
    """The server, run in a background thread; use as a context manager or call start/stop.

    Attributes
    ----------
    base_url : str
        ``http://127.0.0.1:<port>/v1`` once started.
    embedding_requests, chat_requests : int
        Requests answered so far (failed ones included).
    authorizations : list of (str or None)
        The ``Authorization`` header of every request received, in order.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        dim: int = 64,
        api_key: str | None = None,
        fail_after: int | None = None,
        die_after: int | None = None,
        redirect_to: str | None = None,
        redirect_status: int = 302,
        page: tuple[int, str, str] | None = None,
        trickle_s: float | None = None,
        hang: bool = False,
    ) -> None:
        self.port = port
        self.dim = dim
        self.api_key = api_key
        self.fail_after = fail_after
        self.fail_next = 0
        self.die_after = die_after
        self.embedding_requests = 0
        self.chat_requests = 0
        self.redirect_to = redirect_to
        self.redirect_status = redirect_status
        self.page = page
        self.trickle_s = trickle_s
        self.hang = hang
        self.authorizations: list[str | None] = []
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> StubServer:
        """Listen (on the same port as before after a stop) and serve in a daemon thread."""
        self._stopped.clear()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket, so new connections are refused."""
        httpd, self._httpd = self._httpd, None
        self._stopped.set()  # ends hanging and trickling answers
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Trickle:
    """A writer that sends one byte every ``seconds``, from the status line on, until the server stops."""

    def __init__(self, raw, seconds: float, stopped: threading.Event) -> None:
        self.raw, self.seconds, self.stopped = raw, seconds, stopped

    def write(self, data: bytes) -> int:
        for byte in data:
            if self.stopped.wait(self.seconds):
                raise ConnectionAbortedError("the stub server stopped")
            self.raw.write(bytes([byte]))
            self.raw.flush()
        return len(data)

    def flush(self) -> None:
        self.raw.flush()

    @property
    def closed(self) -> bool:
        return self.raw.closed

    def close(self) -> None:
        self.raw.close()


def _handler(server: StubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            # A followed 301/302/303 arrives as a GET: answer it like anything else, after recording it.
            self._hostile()

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            if self._hostile():
                return
            if self.path.rstrip("/").endswith("/embeddings"):
                self._embeddings(body)
            elif self.path.rstrip("/").endswith("/chat/completions"):
                self._chat(body)
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def _hostile(self) -> bool:
            """Record the request; answer it here when a hostile knob is set (True when answered)."""
            with server._lock:
                server.authorizations.append(self.headers.get("Authorization"))
            if server.hang:
                server._stopped.wait()
                self.close_connection = True
            elif server.redirect_to is not None:
                self._send(server.redirect_status, {"moved": True}, headers={"Location": server.redirect_to})
            elif server.page is not None:
                status, content_type, text = server.page
                self._send(status, text.encode(), content_type=content_type)
            elif server.trickle_s is not None:
                self._send(200, {"data": [], "object": "list"})
            elif self.command == "GET":
                self._send(404, {"error": {"message": "GET is not served"}})
            else:
                return False
            return True

        def _embeddings(self, body: dict) -> None:
            with server._lock:
                server.embedding_requests += 1
                count = server.embedding_requests
                flaky = server.fail_next > 0
                server.fail_next -= flaky
            if not self._authorised():
                return
            if server.die_after is not None and count > server.die_after:
                # Hang up without an answer, then stop listening: the client sees a dead endpoint.
                self.close_connection = True
                threading.Thread(target=server.stop, daemon=True).start()
                return
            if flaky or (server.fail_after is not None and count > server.fail_after):
                self._send(503, {"error": {"message": "stub is overloaded"}})
                return
            inputs = body.get("input", [])
            inputs = [inputs] if isinstance(inputs, str) else inputs
            data = [
                {"object": "embedding", "index": i, "embedding": hashed_embedding(text, server.dim)}
                for i, text in enumerate(inputs)
            ]
            # Real servers may answer out of order; clients must sort by index.
            self._send(
                200,
                {
                    "object": "list",
                    "data": data[::-1],
                    "model": body.get("model", ""),
                    "usage": {"prompt_tokens": 0, "total_tokens": 0},
                },
            )

        def _chat(self, body: dict) -> None:
            with server._lock:
                server.chat_requests += 1
            if not self._authorised():
                return
            messages = body.get("messages") or [{}]
            prompt = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
            content = json.dumps(segment_name(str(prompt)))
            self._send(
                200,
                {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion",
                    "model": body.get("model", ""),
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": content},
                        }
                    ],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                },
            )

        def _authorised(self) -> bool:
            if server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                self._send(401, {"error": {"message": "Incorrect API key provided"}})
                return False
            return True

        def _send(
            self,
            status: int,
            payload: dict | bytes,
            *,
            content_type: str = "application/json",
            headers: dict[str, str] | None = None,
        ) -> None:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # a trickled answer the client gave up on, as it should
                self.close_connection = True

        def setup(self) -> None:
            super().setup()
            if server.trickle_s is not None:
                self.wfile = _Trickle(self.wfile, server.trickle_s, server._stopped)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    server = StubServer(port=args.port).start()
    print(f"serving on {server.base_url}; Ctrl-C to stop")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
