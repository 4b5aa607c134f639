"""Served endpoints over real runtimes, and clients that work on either backend."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from autosolve.control.commands import CommandTable, runtime_commands
from autosolve.http.app import make_app
from autosolve.http.metrics import Metrics, ScrapeSources
from autosolve.http.readiness import ReadinessRule
from autosolve.http.server import HttpServer
from autosolve.masking import Secrets
from autosolve.runtime import ChildState, RuntimeEvent, RuntimeHandle, Unit
from tests.http.daemon import HttpDaemon, running_daemon
from tests.runtime.harness import Harness

BACKENDS = ["threading", "gevent"]


def noop(ctx: object) -> None:
    pass


WORKERS = [Unit(f"worker:w{i}", noop, 10.0) for i in range(3)]


TOKEN = "s3cret-token"
"""The endpoint's token in these tests; :class:`Endpoint` sends it unless told not to."""


class Endpoint:
    """A served endpoint and an HTTP client for it, sending the token by default.

    On the gevent backend the runtime and the server live on this thread's
    hub, so the client runs each request on a real thread of gevent's pool
    while the test's greenlet waits without blocking the hub. Pass
    ``headers={"Authorization": None}`` to send a request without the token.
    """

    def __init__(
        self, server: HttpServer, handle: RuntimeHandle, metrics: Metrics, token: str
    ) -> None:
        self.server = server
        self.handle = handle
        self.metrics = metrics
        self.url = server.url
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        call = self._session.request
        if self.server.backend == "gevent":
            import gevent

            return gevent.get_hub().threadpool.apply(call, (method, self.url + path), kwargs)
        return call(method, self.url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def control(self, document: Any, **kwargs: Any) -> requests.Response:
        """POST /api/control as the dashboard does: JSON, same origin."""
        headers = {"Origin": self.url, **kwargs.pop("headers", {})}
        return self.request("POST", "/api/control", json=document, headers=headers, **kwargs)

    def close(self) -> None:
        self._session.close()


def socket_answer(handle: RuntimeHandle) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """The control socket's dispatch for ``handle``: its runtime commands."""
    return CommandTable(runtime_commands(handle)).answer


class HandleDaemon:
    """The endpoint's view of a bare runtime (an ``App`` without the pipeline).

    The dashboard's other documents are whatever ``views`` gives for
    ``repository``, ``analysis`` and ``history`` (by default: none found, an
    empty history).
    """

    def __init__(
        self,
        handle: RuntimeHandle,
        overview: Callable[[], dict[str, Any]],
        views: Mapping[str, Callable[..., Any]] | None = None,
    ) -> None:
        self._handle = handle
        self.answer = socket_answer(handle)
        self.overview = overview
        views = views or {}
        self.repository = views.get("repository", lambda name: None)
        self.analysis = views.get("analysis", lambda analysis_id: None)
        self.history = views.get("history", dict)

    @property
    def running(self) -> bool:
        return self._handle.result is None

    def status(self) -> dict[str, Any]:
        return self._handle.status()

    def status_in(self, states: frozenset[ChildState]) -> dict[str, Any]:
        return self._handle.status_in(states)


@pytest.fixture(scope="module")
def short_dir() -> Iterator[Path]:
    """A short directory for control sockets (sun_path holds 107 bytes), per module."""
    path = Path(tempfile.mkdtemp(prefix="as-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


class MeteredHarness(Harness):
    """The runtime harness, its events also counted by a :class:`Metrics` and judged
    by a :class:`ReadinessRule` on the harness's manual clock."""

    def __init__(self, backend_name: str) -> None:
        super().__init__(backend_name)
        self.metrics = Metrics()
        self.readiness = ReadinessRule(clock=self.clock)

    def _observe(self, event: RuntimeEvent) -> None:
        self.metrics.observe(event)
        self.readiness.observe(event)
        super()._observe(event)


@pytest.fixture
def harness(backend: str) -> Iterator[MeteredHarness]:
    h = MeteredHarness(backend)
    yield h
    h.stop()


@pytest.fixture
def serve(harness: MeteredHarness) -> Iterator[Callable[..., Endpoint]]:
    """``serve(workers=..., token=..., overview=..., views=...)``: a runtime on the harness,
    served."""
    endpoints: list[Endpoint] = []

    def start(
        *,
        preflights: tuple[Unit, ...] = (),
        workers: tuple[Unit, ...] | list[Unit] = tuple(WORKERS),
        token: str = TOKEN,
        overview: Callable[[], dict[str, Any]] = lambda: {"repositories": [], "jobs": {}},
        listen: str = "127.0.0.1:0",
        secrets: Secrets | None = None,
        views: Mapping[str, Callable[..., Any]] | None = None,
        **server_options: Any,
    ) -> Endpoint:
        metrics = harness.metrics
        handle = harness.start(preflights, workers)
        metrics.sources = ScrapeSources(status=handle.status, tick_lateness=handle.tick_lateness)
        daemon = HandleDaemon(handle, overview, views)
        server = HttpServer(listen, harness.backend.name, **server_options)
        app = make_app(daemon, metrics, token=token, secrets=secrets, readiness=harness.readiness)
        server.start(app)
        endpoint = Endpoint(server, handle, metrics, token)
        endpoints.append(endpoint)
        return endpoint

    yield start
    for endpoint in endpoints:
        endpoint.close()
        endpoint.server.close()


@pytest.fixture(scope="module", params=BACKENDS)
def http_daemon(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, short_dir: Path
) -> Iterator[HttpDaemon]:
    """``autosolve-supervisor start`` on each backend, shared by a module's tests."""
    backend = request.param
    directory = tmp_path_factory.mktemp(backend)
    with running_daemon(directory, short_dir / f"{backend}.sock", backend) as daemon:
        yield daemon
