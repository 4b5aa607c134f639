"""Clients that are slow, idle, many or malformed cost the endpoint nothing others need.

Each test runs on both backends (cheroot behind the request gate; gevent.pywsgi
with deadlines). The figures (``/healthz`` within 100 ms with 256 such
connections open) are measured by ``bench/http_slowloris.py``; here the
property is functional: ``/healthz`` is answered at all, well before any of
the waiting clients would time out.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from autosolve.http.limits import ClientLimits
from tests.http.conftest import TOKEN, Endpoint, MeteredHarness

Serve = Callable[..., Endpoint]

ATTACKERS = [f"127.0.0.{n}" for n in range(2, 10)]
"""Loopback addresses the waiting clients come from: 8 × 32 = 256 connections."""
PER_ATTACKER = 32
ANSWERED_WITHIN = 4.0
"""Seconds: generous for a loaded machine, and less than the 5 s a waiting client is given."""
PARTIAL_HEAD = b"GET /status.json HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def on_backend(endpoint: Endpoint, call: Callable[..., Any], *args: Any) -> Any:
    """Run a blocking client call without blocking the hub the gevent server is on."""
    if endpoint.server.backend == "gevent":
        import gevent

        return gevent.get_hub().threadpool.apply(call, args)
    return call(*args)


class Clients:
    """Connections that never finish their request; trickling ones add a byte now and then."""

    def __init__(self, endpoint: Endpoint, sources: list[str], each: int, first: bytes) -> None:
        self.sockets: list[socket.socket] = on_backend(
            endpoint, _connect, endpoint, sources, each, first
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def trickle(self, period: float = 0.1) -> Clients:
        def send() -> None:
            while not self._stop.wait(period):  # the attack's pace, not a wait for a result
                for sock in self.sockets:
                    with contextlib.suppress(OSError):  # refused or timed out: as it should
                        sock.send(b"x")

        self._thread = threading.Thread(target=send, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        for sock in self.sockets:
            sock.close()


def _connect(
    endpoint: Endpoint, sources: list[str], each: int, first: bytes
) -> list[socket.socket]:
    opened = []
    for source in sources:
        for _ in range(each):
            sock = socket.socket()
            sock.bind((source, 0))
            sock.connect(tuple(endpoint.server.address))
            if first:
                sock.sendall(first)
            opened.append(sock)
    return opened


@pytest.fixture
def attack(serve: Serve, harness: MeteredHarness) -> Iterator[Callable[..., Clients]]:
    started: list[Clients] = []

    def start(endpoint: Endpoint, first: bytes = b"", **options: Any) -> Clients:
        clients = Clients(endpoint, options.get("sources", ATTACKERS), PER_ATTACKER, first)
        started.append(clients)
        expected = len(clients.sockets)
        harness.wait_for(
            lambda: endpoint.server.limits.open() >= expected, what="every connection accepted"
        )
        return clients

    yield start
    for clients in started:
        clients.close()


def healthz(endpoint: Endpoint) -> int:
    def get() -> int:
        return requests.get(endpoint.url + "/healthz", timeout=ANSWERED_WITHIN).status_code

    return int(on_backend(endpoint, get))


def test_healthz_answers_with_256_idle_connections_open(
    serve: Serve, attack: Callable[..., Clients]
) -> None:
    endpoint = serve()
    attack(endpoint)
    assert healthz(endpoint) == 200


def test_healthz_answers_with_256_trickling_connections_open(
    serve: Serve, attack: Callable[..., Clients]
) -> None:
    endpoint = serve()
    attack(endpoint, PARTIAL_HEAD).trickle()
    assert healthz(endpoint) == 200
    assert healthz(endpoint) == 200


def exchange(endpoint: Endpoint, payload: bytes, trickle: bytes = b"") -> bytes:
    """Send ``payload``, then ``trickle`` a byte at a time until the endpoint answers."""

    def run() -> bytes:
        with socket.create_connection(tuple(endpoint.server.address), timeout=10) as sock:
            sock.sendall(payload)
            stop = threading.Event()
            for byte in trickle:
                try:
                    sock.send(bytes([byte]))
                except OSError:
                    break
                if stop.wait(0.05):  # the client's pace, not a wait for a result
                    break
            received = b""
            while chunk := sock.recv(4096):
                received += chunk
            return received

    return bytes(on_backend(endpoint, run))


def test_headers_trickled_past_the_head_timeout_are_refused_and_closed(serve: Serve) -> None:
    endpoint = serve(head_timeout=0.3)
    answer = exchange(endpoint, PARTIAL_HEAD, trickle=b"x" * 200)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408")
    assert healthz(endpoint) == 200


def test_a_body_trickled_past_the_body_timeout_is_answered_408(serve: Serve) -> None:
    endpoint = serve(body_timeout=0.3)
    head = (
        "POST /api/control HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Length: 100\r\n\r\n"
    ).encode()
    answer = exchange(endpoint, head + b'{"command"', trickle=b" " * 200)
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"the body came too slowly" in answer


def test_connections_beyond_the_per_address_cap_are_refused_and_others_served(
    serve: Serve, harness: MeteredHarness
) -> None:
    endpoint = serve(limits=ClientLimits(per_address=4))
    held = on_backend(endpoint, _connect, endpoint, ["127.0.0.2"], 4, b"")
    try:
        harness.wait_for(lambda: endpoint.server.limits.open("127.0.0.2") == 4)
        answer = on_backend(endpoint, _answer_to_one_more, endpoint, "127.0.0.2")
        assert answer.startswith(b"HTTP/1.1 503")
        assert b"too many connections from 127.0.0.2 (4 open)" in answer
        assert healthz(endpoint) == 200  # from 127.0.0.1
    finally:
        for sock in held:
            sock.close()


def _answer_to_one_more(endpoint: Endpoint, source: str) -> bytes:
    with _connect(endpoint, [source], 1, b"")[0] as sock:
        sock.settimeout(10)
        return sock.recv(4096)


def test_a_malformed_request_target_is_400_and_a_debug_line_without_traceback(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="autosolve.http")
    endpoint = serve()
    answer = exchange(
        endpoint, b"GET //[x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 400")
    records = [r for r in caplog.records if "Invalid IPv6 URL" in r.getMessage()]
    assert records and all(r.levelno == logging.DEBUG and not r.exc_info for r in records)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_requests_sent_back_to_back_on_one_connection_are_all_answered(serve: Serve) -> None:
    endpoint = serve()
    one = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    last = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    answer = exchange(endpoint, one * 5 + last)
    assert answer.count(b"HTTP/1.1 200 OK") == 6
