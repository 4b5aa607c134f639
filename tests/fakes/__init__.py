"""Fake HTTP services for the test-suite: the product's simulations, plus test controls.

The simulations themselves are product code (:mod:`autosolve.demo`: the
simulated GitHub, the stand-in model, the loopback server they stand on).
:class:`FakeHTTPServer` adds what only tests need, around the server's
extension points: a request log with arrival times and answers, fault
injection, a ``before_request`` hook and event-released holds. The concrete
fakes (:mod:`tests.fakes.github`, :mod:`tests.fakes.ollama`) are a
simulation with these controls mixed in front.

Nothing here ever sleeps on a timer a test must wait out: holds are released by
an :class:`threading.Event`, and waiting helpers take a timeout.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from autosolve.demo import server

__all__ = ["DROP", "FakeHTTPServer", "Fault", "RequestRecord", "Response"]


@dataclass
class RequestRecord(server.Request):
    """One request as the fake saw it; ``status`` is ``None`` until answered (or if dropped)."""

    monotonic: float = field(default_factory=time.monotonic)
    wall: float = field(default_factory=time.time)
    status: int | None = None
    answered: bool = False
    """True once the whole response body went out (False while trickling, or if cut off)."""


@dataclass
class Response(server.Response):
    trickle: float = 0.0
    """Seconds between body bytes: > 0 sends the body one byte at a time (a stuck peer)."""


DROP = Response(0)
"""Close the connection without sending any response."""


@dataclass
class Fault:
    remaining: int
    kind: str
    path_prefix: str | None
    params: dict[str, Any]

    def matches(self, request: RequestRecord) -> bool:
        method = self.params.get("method")
        if method is not None and method.upper() != request.method:
            return False
        return self.path_prefix is None or request.path.startswith(self.path_prefix)


@dataclass
class _Hold:
    release: threading.Event
    seconds: float | None
    path_prefix: str | None


class FakeHTTPServer(server.LoopbackServer):
    """Test controls for a simulation; put it first among the bases (see the module)."""

    fault_kinds: tuple[str, ...] = ("drop", "status")
    request_class = RequestRecord

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._changed = threading.Condition(self._lock)
        self._log: list[RequestRecord] = []
        self._faults: list[Fault] = []
        self._holds: list[_Hold] = []
        self.before_request: Callable[[RequestRecord], None] | None = None
        """Called with each parsed request before it is served, outside the lock."""
        self.hook_errors: list[BaseException] = []
        self.server_errors: list[str] = []

    def stop(self) -> None:
        """Stop listening, cut open connections and release every hold."""
        self.release()
        super().stop()

    # -- test controls -------------------------------------------------------

    def fail_next(self, n: int, kind: str, path_prefix: str | None = None, **params: Any) -> None:
        """Answer the next ``n`` matching requests with fault ``kind``.

        ``path_prefix`` limits the fault to paths starting with it; ``method=``
        limits it to one HTTP method. Faults queue up in the order given.
        """
        if kind not in self.fault_kinds:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {self.fault_kinds}")
        if n < 1:
            raise ValueError("n must be >= 1")
        with self._lock:
            self._faults.append(Fault(n, kind, path_prefix, params))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def slow(self, seconds: float | None = None, path_prefix: str | None = None) -> None:
        """Delay matching requests by ``seconds`` (``None``: until :meth:`release`).

        :meth:`release` ends every delay at once, so a test never waits longer
        than it needs to.
        """
        with self._lock:
            self._holds.append(_Hold(threading.Event(), seconds, path_prefix))

    def release(self) -> None:
        """End all delays and holds, including requests already waiting."""
        with self._lock:
            holds, self._holds = self._holds, []
        for hold in holds:
            hold.release.set()

    # -- request log ---------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def requests_for(
        self, path_prefix: str | None = None, method: str | None = None
    ) -> list[RequestRecord]:
        with self._lock:
            return [
                r
                for r in self._log
                if (path_prefix is None or r.path.startswith(path_prefix))
                and (method is None or r.method == method.upper())
            ]

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def wait_for_requests(
        self, count: int = 1, path_prefix: str | None = None, timeout: float = 5.0
    ) -> bool:
        """Block until ``count`` matching requests have *arrived* (answered or not)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.requests_for(path_prefix)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    # -- serving (the loopback server's extension points) --------------------

    def fault_response(self, fault: Fault, request: RequestRecord) -> Response:
        """Kinds every fake understands; subclasses extend this."""
        if fault.kind == "drop":
            return DROP
        if fault.kind == "status":
            status = int(fault.params.get("status", 500))
            payload = fault.params.get("body", {"message": f"injected status {status}"})
            return Response.json(status, payload, fault.params.get("headers"))
        raise ValueError(f"unhandled fault kind {fault.kind!r}")

    def read_request(self, handler: BaseHTTPRequestHandler) -> RequestRecord:
        record = super().read_request(handler)
        assert isinstance(record, RequestRecord)
        with self._changed:
            self._log.append(record)
            self._changed.notify_all()
        return record

    def serve(self, request: RequestRecord) -> server.Response | None:  # type: ignore[override]
        hook = self.before_request
        if hook is not None:
            try:
                hook(request)
            except Exception as exc:
                self.hook_errors.append(exc)
                return Response.json(500, {"message": f"before_request hook failed: {exc!r}"})
        self._wait_if_held(request)
        fault = self._take_fault(request)
        if fault is None:
            return super().serve(request)
        try:
            response = self.fault_response(fault, request)
        except Exception:
            self.route_errors.append(traceback.format_exc())
            return Response.json(500, {"message": "fake server bug", "error": "fake server bug"})
        return None if response is DROP else response

    def write_response(
        self,
        handler: BaseHTTPRequestHandler,
        request: RequestRecord,  # type: ignore[override]
        response: server.Response,
    ) -> None:
        request.status = response.status
        super().write_response(handler, request, response)
        request.answered = True

    def write_body(self, handler: BaseHTTPRequestHandler, response: server.Response) -> None:
        trickle = response.trickle if isinstance(response, Response) else 0.0
        if trickle <= 0 or not response.body:
            super().write_body(handler, response)
            return
        handler.wfile.flush()
        pause = threading.Event()
        for index in range(len(response.body)):
            handler.wfile.write(response.body[index : index + 1])
            handler.wfile.flush()
            pause.wait(trickle)

    def connection_error(self, text: str) -> None:
        # Clients hanging up (drops, go_down, stop) are expected; keep them for inspection.
        self.server_errors.append(text)

    def _take_fault(self, request: RequestRecord) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(request):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _wait_if_held(self, request: RequestRecord) -> None:
        with self._lock:
            holds = [
                h
                for h in self._holds
                if h.path_prefix is None or request.path.startswith(h.path_prefix)
            ]
        for hold in holds:
            hold.release.wait(hold.seconds)
