"""The gevent backend's request handler: ``gevent.pywsgi``'s, with deadlines.

pywsgi reads a request in the connection's own greenlet, so a slow client
costs a greenlet, not the endpoint; what it lacks are the deadlines of
:mod:`autosolve.http.limits` (its reads only time out per ``recv``, so a
client trickling a byte at a time is served forever) and a 400 for a target
that does not parse (it passes ``//[x`` on to the application).
"""

from __future__ import annotations

import time
from typing import Any

import gevent
from gevent.pywsgi import WSGIHandler

from autosolve.http.limits import BODY_TIMEOUT, HEAD_TIMEOUT, early_answer, target_problem

__all__ = ["DeadlineHandler"]


class DeadlineHandler(WSGIHandler):
    """Request line and headers within ``head_timeout``, the body within ``body_timeout``."""

    head_timeout = HEAD_TIMEOUT
    body_timeout = BODY_TIMEOUT

    _head_deadline: Any = None

    def handle_one_request(self) -> Any:
        deadline = gevent.Timeout(self.head_timeout, _TooSlow("request line and headers"))
        self._head_deadline = deadline
        deadline.start()
        try:
            return super().handle_one_request()
        finally:
            deadline.close()

    def read_request(self, raw_requestline: str) -> Any:
        read = super().read_request(raw_requestline)
        problem = target_problem(self.path or "")
        if problem is not None:
            raise ValueError(problem)  # pywsgi answers 400 and logs it (at DEBUG: ours)
        return read

    def get_environ(self) -> dict[str, Any]:
        self._head_deadline.close()  # the headers are in: the body's deadline starts
        environ: dict[str, Any] = super().get_environ()
        environ["wsgi.input"] = _DeadlineInput(
            environ["wsgi.input"], time.monotonic() + self.body_timeout
        )
        return environ

    def _handle_client_error(self, ex: BaseException) -> Any:
        if isinstance(ex, _TooSlow):  # not a bug: pywsgi would print its traceback
            self.log_error("(from %s) %s", self.client_address, ex)
            self.close_connection = True
            return ("408", early_answer("408 Request Timeout", str(ex)))
        return super()._handle_client_error(ex)  # type: ignore[misc]


class _TooSlow(TimeoutError):
    def __init__(self, part: str) -> None:
        super().__init__(f"the {part} came too slowly")


class _DeadlineInput:
    """``wsgi.input`` whose reads end at ``deadline`` (monotonic seconds)."""

    def __init__(self, wrapped: Any, deadline: float) -> None:
        self._wrapped = wrapped
        self._deadline = deadline

    def read(self, length: int | None = None) -> bytes:
        return self._call("read", length)

    def readline(self, size: int | None = None) -> bytes:
        return self._call("readline", size)

    def _call(self, method: str, argument: int | None) -> bytes:
        left = max(0.0, self._deadline - time.monotonic())
        with gevent.Timeout(left, _TooSlow("body")):
            data: bytes = getattr(self._wrapped, method)(argument)
            return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)
