"""LLM segment naming against a real local server speaking the OpenAI chat API."""

from __future__ import annotations

from pathlib import Path

import pytest

from segmentation.core.http import Retry
from segmentation.describe.naming import (
    DEFAULT_JOB_DEADLINE_S,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_DEADLINE,
    ENV_MODEL,
    ChatEndpoint,
    NamingError,
    build_messages,
    endpoint_from_settings,
    parse_suggestion,
    suggest,
    suggest_all,
)
from tests.openai_stub_server import StubServer


class Segment:
    def __init__(self, id: int, keywords: list[str], comments: list[str]) -> None:
        self.id, self.keywords, self.representative_comments = id, keywords, comments


def test_endpoint_missing_settings_gives_a_plain_reason_and_the_readme_names_the_variables():
    endpoint, reason = endpoint_from_settings(env={}, secrets={})
    assert endpoint is None
    assert "chat model" in reason and "README" in reason
    assert "SEGMENT_STUDIO" not in reason  # shown to a marketer in the app
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert ENV_BASE_URL in readme and ENV_MODEL in readme


def test_endpoint_read_from_secrets_when_the_environment_lacks_it():
    endpoint, reason = endpoint_from_settings(
        env={}, secrets={ENV_BASE_URL: "http://localhost:9/v1", ENV_MODEL: "m", ENV_API_KEY: "k"}
    )
    assert reason == "" and endpoint == ChatEndpoint("http://localhost:9/v1", "m", "k")


def test_endpoint_key_is_not_shown_in_its_repr():
    assert "s3cret" not in repr(ChatEndpoint("http://x/v1", "m", "s3cret"))


def test_job_deadline_comes_from_the_documented_setting_else_two_minutes():
    settings = {ENV_BASE_URL: "http://localhost:9/v1", ENV_MODEL: "m"}
    assert endpoint_from_settings(env=settings)[0].deadline == DEFAULT_JOB_DEADLINE_S == 120
    assert endpoint_from_settings(env={**settings, ENV_DEADLINE: "45"})[0].deadline == 45
    assert endpoint_from_settings(env={}, secrets={**settings, ENV_DEADLINE: "7.5"})[0].deadline == 7.5
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert ENV_DEADLINE in readme


@pytest.mark.parametrize("value", ["soon", "0", "-5", "inf", "nan"])
def test_job_deadline_that_is_not_a_positive_number_disables_naming_with_the_reason(value: str):
    endpoint, reason = endpoint_from_settings(env={ENV_BASE_URL: "http://h/v1", ENV_MODEL: "m", ENV_DEADLINE: value})
    assert endpoint is None
    assert reason == f"{ENV_DEADLINE} must be a number of seconds above 0, not {value!r}"


def test_endpoint_refuses_a_url_that_is_not_http():
    endpoint, reason = endpoint_from_settings(env={ENV_BASE_URL: "file:///etc/passwd", ENV_MODEL: "m"})
    assert endpoint is None and "http" in reason


@pytest.mark.parametrize(
    "base", ["http://h:1/v1", "http://h:1/v1/", "http://h:1", "http://h:1/v1/chat/completions"]
)
def test_endpoint_url_accepts_the_usual_base_url_spellings(base: str):
    assert ChatEndpoint(base, "m").url == "http://h:1/v1/chat/completions"


def test_prompt_holds_keywords_and_at_most_five_comments_without_control_characters():
    messages = build_messages(["espresso", "crema"], [f"comment {i}\x00" for i in range(9)])
    user = messages[-1]["content"]
    assert "espresso, crema" in user
    assert user.count("- comment") == 5 and "\x00" not in user


def test_parse_reads_json_wrapped_in_prose_and_caps_the_name_length():
    answer = 'Sure! {"name": "' + "Coffee lovers " * 10 + '", "description": "Drink espresso."} Bye'
    suggestion = parse_suggestion(answer)
    assert suggestion.name.startswith("Coffee lovers") and len(suggestion.name) <= 60
    assert suggestion.description == "Drink espresso."


def test_parse_falls_back_to_the_first_line_when_the_model_ignores_json():
    assert parse_suggestion("Trail runners\nPeople who run off-road.").name == "Trail runners"


def test_parse_without_a_name_raises_naming_error():
    with pytest.raises(NamingError, match="no segment name"):
        parse_suggestion('{"description": "only this"}')


def test_suggest_asks_the_server_with_model_and_bearer_key():
    with StubServer(api_key="sk-test") as server:
        suggestion = suggest(ChatEndpoint(server.base_url, "tiny-model", "sk-test"), ["espresso"],
                             ["The espresso is rich, the espresso crema thick."])
    assert "Espresso" in suggestion.name
    assert suggestion.description.startswith("Users who mostly talk about")
    assert server.chat_requests == 1


def test_suggest_all_names_every_segment_but_noise():
    segments = [Segment(-1, ["noise"], []), Segment(0, ["coffee"], ["coffee coffee beans"]),
                Segment(1, ["garden"], ["garden garden roses"])]
    with StubServer() as server:
        suggestions = suggest_all(ChatEndpoint(server.base_url, "m"), segments)
    assert sorted(suggestions) == [0, 1]
    assert "Coffee" in suggestions[0].name and "Garden" in suggestions[1].name
    assert server.chat_requests == 2


def test_wrong_key_becomes_a_naming_error_with_the_status():
    with StubServer(api_key="right") as server, pytest.raises(NamingError, match="HTTP 401"):
        suggest(ChatEndpoint(server.base_url, "m", "wrong"), ["x"], [])


def test_stopped_server_becomes_a_naming_error():
    server = StubServer().start()
    server.stop()
    with pytest.raises(NamingError, match="cannot reach"):
        suggest(ChatEndpoint(server.base_url, "m"), ["x"], [], retry=Retry(max_retries=1, backoff=0.01, timeout=5))
