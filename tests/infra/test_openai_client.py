"""The OpenAI-compatible client, spoken to over real HTTP against the loopback FakeOpenAI."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from autosolve.domain.answer import ANSWER_SCHEMA
from autosolve.infra.model import (
    MAX_CONCURRENCY,
    ModelAccessError,
    ModelError,
    ModelMalformedResponseError,
    ModelNotFoundError,
    ModelServerError,
    ModelTimeoutError,
)
from autosolve.infra.model.providers import new_model
from autosolve.infra.ollama import OllamaClient
from autosolve.infra.openai import OpenAIClient
from autosolve.runtime import Category
from autosolve.schedule.classifier import infra_classifier
from tests.fakes.openai import COMPLETIONS, DEFAULT_MODEL, FakeOpenAI

KEY = "sk-test-0123456789abcdef"
CAPABILITIES = ("wait_seconds", "is_service_pressure", "is_retryable")


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=KEY) as fake:
        yield fake
    assert not fake.route_errors, "the fake itself failed"


@pytest.fixture
def client(server: FakeOpenAI) -> OpenAIClient:
    return OpenAIClient(server.api_url, DEFAULT_MODEL, timeout=5, api_key=KEY)


def test_generate_sends_one_user_message_with_the_bearer_key(server, client):
    assert client.generate("Crash on start\nTraceback") == "Analysis of: Crash on start"
    [request] = server.requests_for(COMPLETIONS)
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.json() == {
        "model": DEFAULT_MODEL,
        "messages": [{"role": "user", "content": "Crash on start\nTraceback"}],
        "stream": False,
    }


def test_a_schema_is_asked_for_as_a_strict_json_schema_response_format(server, client):
    client.generate("hi", schema=ANSWER_SCHEMA)
    [request] = server.requests_for(COMPLETIONS)
    assert request.json()["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": ANSWER_SCHEMA["title"], "schema": ANSWER_SCHEMA, "strict": True},
    }


def test_a_server_refusing_json_schema_is_asked_for_json_object_from_then_on(server, client):
    server.refuse_json_schema()
    assert client.generate("one", schema=ANSWER_SCHEMA) == "Analysis of: one"
    assert client.generate("two", schema=ANSWER_SCHEMA) == "Analysis of: two"
    formats = [r.json()["response_format"]["type"] for r in server.requests_for(COMPLETIONS)]
    assert formats == ["json_schema", "json_object", "json_object"]


def test_without_a_key_no_authorization_is_sent(server):
    server.api_key = ""
    OpenAIClient(server.api_url, DEFAULT_MODEL, timeout=5).generate("hi")
    assert "Authorization" not in server.requests_for(COMPLETIONS)[0].headers


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_permanent_and_names_the_setting_never_the_key(server, status):
    wrong = "sk-wrong-key-fedcba9876543210"
    client = OpenAIClient(server.api_url, DEFAULT_MODEL, timeout=5, api_key=wrong)
    if status == 403:
        server.fail_next(1, "status", status=403, body={"error": {"message": f"no: {wrong}"}})
    with pytest.raises(ModelAccessError) as info:
        client.generate("hi")
    message = str(info.value)
    assert "openai.api_key" in message and "AUTOSOLVE_OPENAI__API_KEY" in message
    assert wrong not in message and wrong not in repr(info.value)
    assert infra_classifier(info.value) is None  # permanent: no capability declared


def test_an_unknown_model_is_permanent_and_names_the_setting(server):
    client = OpenAIClient(server.api_url, "gpt-9", timeout=5, api_key=KEY)
    with pytest.raises(ModelNotFoundError) as info:
        client.generate("hi")
    assert "model 'gpt-9' is not available" in str(info.value) and "openai.model" in str(info.value)
    assert not any(hasattr(info.value, c) for c in CAPABILITIES)


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_is_retryable_service_pressure(server, client, status):
    server.fail_next(1, "server_error", status=status)
    with pytest.raises(ModelServerError) as info:
        client.generate("hi")
    assert infra_classifier(info.value).category is Category.SERVICE
    assert client.generate("again") == "Analysis of: again"


def test_a_rate_limit_waits_as_long_as_the_server_asks(server, client):
    server.fail_next(1, "rate_limit", retry_after=7)
    with pytest.raises(ModelServerError) as info:
        client.generate("hi")
    verdict = infra_classifier(info.value)
    assert (verdict.category, verdict.wait) == (Category.SERVICE, 7.0)


def test_another_client_error_is_permanent(server, client):
    server.fail_next(1, "status", status=400, body={"error": {"message": "max_tokens too big"}})
    with pytest.raises(ModelError) as info:
        client.generate("hi")
    assert type(info.value) is ModelError and "max_tokens too big" in str(info.value)


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ({"raw": b"<html>gateway</html>"}, "not JSON"),
        ({"body": {"object": "list", "data": []}}, "not a chat completion"),
        ({"body": {"choices": []}}, "not a chat completion"),
    ],
    ids=["not-json", "other-object", "no-choice"],
)
def test_a_body_that_is_no_chat_completion_is_malformed(server, client, fault, said):
    server.fail_next(1, "malformed", **fault)
    with pytest.raises(ModelMalformedResponseError, match=said):
        client.generate("hi")


def test_a_completion_without_content_is_an_empty_answer(server, client):
    server.answer = lambda prompt: None
    assert client.generate("hi") == ""


def test_a_refused_connection_is_a_short_node_error(server, client):
    server.stop()
    with pytest.raises(requests.ConnectionError) as info:
        client.generate("hi")
    assert str(info.value) == (
        f"connection refused to 127.0.0.1:{server.port} (POST /v1/chat/completions)"
    )


def test_the_timeout_bounds_the_whole_request_even_when_the_server_trickles(server):
    server.answer = lambda prompt: "x" * 400
    server.trickle(0.1)
    client = OpenAIClient(server.api_url, DEFAULT_MODEL, timeout=1.0, api_key=KEY)
    with pytest.raises(ModelTimeoutError) as info:
        client.generate("hi")
    assert isinstance(info.value, requests.Timeout)
    assert "no complete answer within openai.timeout (1 s, connect to last byte)" in str(info.value)


def test_every_request_reports_its_duration_failures_included(server):
    durations: list[float] = []
    client = OpenAIClient(server.api_url, DEFAULT_MODEL, 5, KEY, on_request=durations.append)
    client.generate("one")
    server.fail_next(1, "server_error")
    with pytest.raises(ModelServerError):
        client.generate("two")
    assert len(durations) == 2 and all(d >= 0 for d in durations)


# -- the model check -----------------------------------------------------------------


def test_the_check_finds_the_model_listed(server, client):
    availability = client.check()
    assert availability.ok and availability.detail == f"available on {server.api_url}"
    assert server.requests_for("/v1/models")[0].headers["Authorization"] == f"Bearer {KEY}"


def test_the_check_names_the_models_there_when_the_model_is_not(server):
    availability = OpenAIClient(server.api_url, "gpt-9", timeout=5, api_key=KEY).check()
    assert not availability.ok
    assert f"(it has: {DEFAULT_MODEL}); change openai.model" in availability.detail


def test_the_check_names_the_key_setting_when_the_key_is_refused(server):
    availability = OpenAIClient(server.api_url, DEFAULT_MODEL, 5, "sk-wrong").check()
    assert not availability.ok and "openai.api_key" in availability.detail


def test_the_check_says_in_a_few_words_when_the_server_is_down(server, client):
    server.stop()
    availability = client.check()
    assert not availability.ok and availability.detail.startswith("connection refused to")


# -- the key stays secret --------------------------------------------------------------


def test_the_key_is_in_no_repr(client):
    assert KEY not in repr(client) and "api_key=<set>" in repr(client)


def test_a_key_a_server_echoes_in_any_answer_never_reaches_a_message(server, client):
    echoes = [
        ("status", {"status": 400, "body": {"error": {"message": f"bad {KEY}"}}}),
        ("status", {"status": 500, "body": {"error": f"died with {KEY}"}}),
        ("malformed", {"raw": f"Bearer {KEY}".encode()}),
        ("malformed", {"body": {"choices": KEY}}),
    ]
    for kind, params in echoes:
        server.fail_next(1, kind, **params)
        with pytest.raises(ModelError) as info:
            client.generate("hi")
        assert KEY not in str(info.value), kind


# -- one pool size, one choice of provider -----------------------------------------------


@pytest.mark.parametrize("client_class", [OllamaClient, OpenAIClient])
def test_each_client_pools_a_connection_for_every_request_allowed_in_flight(client_class):
    client = client_class("http://127.0.0.1:9", "m", 5)
    adapter = client._exchange.session.get_adapter("http://127.0.0.1:9")
    assert adapter._pool_maxsize == MAX_CONCURRENCY


@dataclass(frozen=True)
class Endpoint:
    url: str = "http://127.0.0.1:9"
    model: str = "m"
    timeout: float = 5.0
    api_key: str = KEY


@pytest.mark.parametrize(
    ("provider", "expected"), [("ollama", OllamaClient), ("openai", OpenAIClient)]
)
def test_the_provider_chooses_the_client(provider, expected):
    model = new_model(provider, ollama=Endpoint(), openai=Endpoint())
    assert type(model) is expected and model.name == "m"


def test_an_unknown_provider_is_refused_naming_the_key():
    with pytest.raises(ValueError, match=r"`model.provider` must be one of ollama, openai"):
        new_model("claude", ollama=Endpoint(), openai=Endpoint())
