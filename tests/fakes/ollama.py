"""The fake Ollama: the product's stand-in model with the test controls in front.

It answers ``"Analysis of: <first line of prompt>"`` (:meth:`FakeOllama.answer_for`),
or what :attr:`FakeOllama.answer` says. Besides fault injection it can *hold*
generate calls until released (a long model call in flight, e.g. while the
daemon gets SIGTERM), trickle answers, and really go down and come back on
the same port (clients get "connection refused" meanwhile).

Example::

    with FakeOllama() as ollama:
        client = OllamaClient(ollama.url, "qwen2.5-coder:7b", timeout=5)
        assert client.generate("Crash\\ndetails") == "Analysis of: Crash"
"""

from __future__ import annotations

from collections.abc import Callable

from autosolve.demo import server
from autosolve.demo.model import GENERATE, StandInModel
from tests.fakes import FakeHTTPServer, Fault, RequestRecord, Response

__all__ = ["DEFAULT_MODEL", "FakeOllama"]

DEFAULT_MODEL = "qwen2.5-coder:7b"


class FakeOllama(FakeHTTPServer, StandInModel):
    """Fake Ollama on loopback; answers ``"Analysis of: <first line of prompt>"``."""

    fault_kinds = ("server_error", "drop", "malformed", "status")

    def __init__(self, models: tuple[str, ...] | list[str] = (DEFAULT_MODEL,)) -> None:
        super().__init__(models)
        self.answer: Callable[[str], str] | None = None
        """Replaces :meth:`answer_for` when set: ``prompt -> response text``."""
        self.trickle_seconds = 0.0
        """> 0: answers are sent one byte every that many seconds (see :meth:`trickle`)."""

    @staticmethod
    def answer_for(prompt: str) -> str:
        """The text the fake generates for ``prompt`` (for assertions)."""
        first = prompt.splitlines()[0] if prompt else ""
        return f"Analysis of: {first}"

    def compose(self, prompt: str, structured: bool) -> str:
        return (self.answer or self.answer_for)(prompt)

    # -- controls ------------------------------------------------------------

    def trickle(self, seconds_per_byte: float) -> None:
        """Send every answer one byte at a time, ``seconds_per_byte`` apart."""
        self.trickle_seconds = seconds_per_byte

    def hold(self) -> None:
        """Make generate calls block until :meth:`release` (or :meth:`stop`)."""
        self.slow(None, GENERATE)

    def go_down(self) -> None:
        """Close the listening socket and cut open connections: clients get refused."""
        self._close_listener()

    def come_up(self) -> None:
        """Listen again on the same port (SO_REUSEADDR)."""
        self.start()

    # -- serving -------------------------------------------------------------

    def fault_response(self, fault: Fault, request: RequestRecord) -> Response:
        if fault.kind == "server_error":
            status = int(fault.params.get("status", 500))
            return Response.json(status, {"error": "llama runner process has terminated"})
        if fault.kind == "malformed":
            if "raw" in fault.params:
                return Response(200, fault.params["raw"], {"Content-Type": "application/json"})
            return Response.json(200, fault.params.get("body", {"unexpected": "shape"}))
        return super().fault_response(fault, request)

    def route(self, request: server.Request) -> server.Response:
        answer = super().route(request)
        generated = request.path == GENERATE and answer.status == 200
        streamed = answer.headers.get("Content-Type") != "application/json"
        if not generated or streamed or self.trickle_seconds <= 0:
            return answer
        return Response(answer.status, answer.body, answer.headers, self.trickle_seconds)
