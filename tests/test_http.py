"""The one OpenAI-compatible HTTP client: settings from the environment, retries, the caller's error."""

from __future__ import annotations

import pytest

from segmentation.core.errors import EncoderError, SegmentationError
from segmentation.core.http import ENV_MAX_RETRIES, Retry, post_json
from segmentation.describe.naming import NamingError
from tests.openai_stub_server import StubServer


def test_retries_come_from_the_documented_variable_unless_given():
    assert Retry.from_env({ENV_MAX_RETRIES: "2"}).max_retries == 2
    assert Retry.from_env({ENV_MAX_RETRIES: "2"}, max_retries=0).max_retries == 0
    assert Retry.from_env({}).max_retries == Retry().max_retries
    with pytest.raises(SegmentationError, match="must be a whole number"):
        Retry.from_env({ENV_MAX_RETRIES: "many"})


def test_overloaded_endpoint_is_retried_then_answers():
    with StubServer() as server:
        server.fail_next = 2
        payload = post_json(f"{server.base_url}/embeddings", {"model": "m", "input": ["tea"]},
                            retry=Retry(max_retries=2, backoff=0.01, timeout=5))
    assert len(payload["data"]) == 1 and server.embedding_requests == 3


@pytest.mark.parametrize("error", [EncoderError, NamingError])
def test_an_unreachable_endpoint_raises_the_callers_error_in_one_line(error):
    server = StubServer().start()
    server.stop()
    with pytest.raises(error, match=r"^cannot reach the test endpoint http://127\.0\.0\.1:\d+/v1/embeddings: "):
        post_json(f"{server.base_url}/embeddings", {"input": []}, retry=Retry(max_retries=1, backoff=0.01, timeout=2),
                  error=error, what="the test endpoint")
