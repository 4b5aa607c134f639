"""The Ollama client, spoken to over real HTTP against the loopback FakeOllama."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests

from autosolve.infra.ollama import (
    ModelNotFoundError,
    OllamaClient,
    OllamaError,
    OllamaMalformedResponseError,
    OllamaServerError,
)
from tests.fakes.ollama import DEFAULT_MODEL, FakeOllama

CAPABILITIES = ("wait_seconds", "is_service_pressure", "is_retryable")


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama() as fake:
        yield fake
    assert not fake.route_errors, "the fake itself failed"


@pytest.fixture
def client(ollama: FakeOllama) -> OllamaClient:
    return OllamaClient(ollama.url, DEFAULT_MODEL, timeout=5)


def test_generate_posts_model_and_prompt_without_streaming(ollama, client):
    assert client.generate("Crash on start\nTraceback ...") == "Analysis of: Crash on start"
    request = ollama.requests_for("/api/generate")[-1]
    assert request.method == "POST"
    assert request.json() == {
        "model": DEFAULT_MODEL,
        "prompt": "Crash on start\nTraceback ...",
        "stream": False,
    }


def test_unknown_model_is_permanent_and_says_how_to_pull_it(ollama: FakeOllama):
    client = OllamaClient(ollama.url, "llama9:70b", timeout=5)
    with pytest.raises(ModelNotFoundError) as info:
        client.generate("hi")
    message = str(info.value)
    assert f"model 'llama9:70b' is not available on {ollama.url}" in message
    assert "run `ollama pull llama9:70b`" in message
    assert not any(hasattr(info.value, c) for c in CAPABILITIES)


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_is_retryable_service_pressure(ollama, client, status):
    ollama.fail_next(1, "server_error", status=status)
    with pytest.raises(OllamaServerError) as info:
        client.generate("hi")
    assert info.value.is_retryable()
    assert info.value.is_service_pressure()
    assert "llama runner process has terminated" in str(info.value)
    assert client.generate("again") == "Analysis of: again"


def test_other_client_error_is_a_permanent_ollama_error(ollama, client):
    ollama.fail_next(1, "status", status=400, body={"error": "invalid options"})
    with pytest.raises(OllamaError) as info:
        client.generate("hi")
    assert type(info.value) is OllamaError
    assert "invalid options" in str(info.value)
    assert not any(hasattr(info.value, c) for c in CAPABILITIES)


def test_body_of_the_wrong_shape_is_malformed(ollama, client):
    ollama.fail_next(1, "malformed")
    with pytest.raises(OllamaMalformedResponseError, match="response"):
        client.generate("hi")


def test_body_that_is_not_json_is_malformed(ollama, client):
    ollama.fail_next(1, "malformed", raw=b"<html>gateway</html>")
    with pytest.raises(OllamaMalformedResponseError, match="not JSON"):
        client.generate("hi")


def test_ollama_down_raises_connection_refused_until_it_comes_back(ollama, client):
    ollama.go_down()
    with pytest.raises(requests.ConnectionError):
        client.generate("hi")
    ollama.come_up()
    assert client.generate("back") == "Analysis of: back"


def test_dropped_connection_raises_the_raw_requests_error(ollama, client):
    ollama.fail_next(1, "drop")
    with pytest.raises(requests.ConnectionError):
        client.generate("hi")


def test_held_generate_waits_for_release(ollama: FakeOllama, client: OllamaClient):
    ollama.hold()
    answers: list[str] = []
    caller = threading.Thread(target=lambda: answers.append(client.generate("slow one")))
    caller.start()
    assert ollama.wait_for_requests(1, "/api/generate")
    assert answers == []
    ollama.release()
    caller.join(timeout=5)
    assert answers == ["Analysis of: slow one"]


def test_going_down_cuts_a_held_call(ollama: FakeOllama, client: OllamaClient):
    ollama.hold()
    errors: list[Exception] = []

    def call() -> None:
        try:
            client.generate("long")
        except Exception as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    assert ollama.wait_for_requests(1, "/api/generate")
    ollama.go_down()
    caller.join(timeout=5)
    assert isinstance(errors[0], requests.ConnectionError)
    ollama.release()


def test_client_repr_names_url_and_model(client: OllamaClient, ollama: FakeOllama):
    assert repr(client) == f"OllamaClient(url={ollama.url!r}, model={DEFAULT_MODEL!r}, timeout=5)"
