"""Serving on each backend: binding, idle connections, closing."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from autosolve.http.server import HttpServer
from tests.http.conftest import BACKENDS


def hello(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


def on_backend(backend: str, call: Callable[..., Any], *args: Any) -> Any:
    """Run a blocking client call without blocking the hub the gevent server is on."""
    if backend == "gevent":
        import gevent

        return gevent.get_hub().threadpool.apply(call, args)
    return call(*args)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def servers() -> Iterator[list[HttpServer]]:
    started: list[HttpServer] = []
    yield started
    for server in started:
        server.close()


def test_it_serves_on_a_free_port_when_asked_for_port_0(
    backend: str, servers: list[HttpServer]
) -> None:
    server = HttpServer("127.0.0.1:0", backend).start(hello)
    servers.append(server)
    assert server.address.port != 0
    response = on_backend(backend, requests.get, server.url + "/", None)
    assert response.text == "hello"


def test_an_address_in_use_is_an_error_naming_it(backend: str, servers: list[HttpServer]) -> None:
    first = HttpServer("127.0.0.1:0", backend).bind()
    servers.append(first)
    taken = f"127.0.0.1:{first.address.port}"
    with pytest.raises(OSError, match=f"^http.listen {taken}: Address already in use$"):
        HttpServer(taken, backend).bind()


def test_an_idle_connection_is_closed_after_the_idle_timeout_quietly(
    backend: str, servers: list[HttpServer], caplog: pytest.LogCaptureFixture
) -> None:
    server = HttpServer("127.0.0.1:0", backend, idle_timeout=0.3).start(hello)
    servers.append(server)

    def connect_and_wait_for_hang_up() -> bytes:
        with socket.create_connection(tuple(server.address), timeout=20) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
            received = b""
            while chunk := client.recv(4096):  # b"" once the server hangs up
                received += chunk
            return received

    received = on_backend(backend, connect_and_wait_for_hang_up)
    assert b"hello" not in received  # hung up (cheroot says 408 first), never served
    assert [r.message for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_close_stops_serving_and_is_idempotent(backend: str) -> None:
    server = HttpServer("127.0.0.1:0", backend).start(hello)
    url = server.url
    server.close()
    server.close()
    with pytest.raises(requests.ConnectionError):
        on_backend(backend, requests.get, url, None)


def test_a_bound_server_never_started_closes_and_frees_its_port(backend: str) -> None:
    server = HttpServer("127.0.0.1:0", backend).bind()
    address = f"127.0.0.1:{server.address.port}"
    server.close()
    again = HttpServer(address, backend).bind()
    again.close()


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown backend 'asyncio'"):
        HttpServer("127.0.0.1:0", "asyncio")
