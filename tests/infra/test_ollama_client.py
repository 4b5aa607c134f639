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
    OllamaTimeoutError,
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


def test_dropped_connection_raises_a_requests_error_with_a_short_reason(ollama, client):
    ollama.fail_next(1, "drop")
    with pytest.raises(requests.ConnectionError) as info:
        client.generate("hi")
    assert str(info.value) == (
        f"the server closed the connection without answering to 127.0.0.1:{ollama.port} "
        "(POST /api/generate)"
    )


def test_a_refused_connection_is_one_short_line(ollama, client):
    ollama.go_down()
    with pytest.raises(requests.ConnectionError) as info:
        client.generate("hi")
    assert str(info.value) == f"connection refused to 127.0.0.1:{ollama.port} (POST /api/generate)"


def test_the_timeout_bounds_the_whole_request_even_when_the_model_trickles(ollama):
    ollama.answer = lambda prompt: "x" * 400  # 400 bytes at 10 per second: 40 s and more
    ollama.trickle(0.1)
    client = OllamaClient(ollama.url, DEFAULT_MODEL, timeout=1.0)

    with pytest.raises(OllamaTimeoutError) as info:
        client.generate("hi")

    assert isinstance(info.value, requests.Timeout)  # the runtime's node category
    assert "no complete answer within ollama.timeout (1 s, connect to last byte)" in str(info.value)
    [request] = ollama.requests_for("/api/generate")
    assert request.status == 200 and not request.answered


def test_a_model_that_answers_nothing_in_time_times_out(ollama):
    ollama.hold()
    client = OllamaClient(ollama.url, DEFAULT_MODEL, timeout=0.5)
    with pytest.raises(OllamaTimeoutError):
        client.generate("hi")
    ollama.release()


def test_every_request_reports_its_duration_failures_included(ollama):
    durations: list[float] = []
    client = OllamaClient(ollama.url, DEFAULT_MODEL, timeout=5, on_request=durations.append)
    client.generate("one")
    ollama.fail_next(1, "server_error")
    with pytest.raises(OllamaServerError):
        client.generate("two")
    ollama.go_down()
    with pytest.raises(requests.ConnectionError):
        client.generate("three")
    assert len(durations) == 3 and all(isinstance(d, float) and d >= 0 for d in durations)


def test_a_failing_duration_hook_never_fails_the_request(ollama, caplog):
    def broken(seconds: float) -> None:
        raise RuntimeError("metrics are down")

    client = OllamaClient(ollama.url, DEFAULT_MODEL, timeout=5, on_request=broken)
    assert client.generate("hi") == "Analysis of: hi"
    assert "on_request hook of the Ollama client failed" in caplog.text


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


def test_a_schema_is_sent_as_the_format(ollama, client):
    schema = {"type": "object", "properties": {"summary": {"type": "string"}}}
    client.generate("hi", schema=schema)
    assert ollama.requests_for("/api/generate")[-1].json()["format"] == schema


def test_the_check_finds_a_pulled_model_and_names_the_missing_one(ollama, client):
    assert client.check().ok
    missing = OllamaClient(ollama.url, "llama9:70b", timeout=5).check()
    assert not missing.ok and "run `ollama pull llama9:70b` there" in missing.detail
