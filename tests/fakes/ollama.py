"""A fake Ollama server: ``/api/generate`` with deterministic answers.

Besides fault injection it can *hold* generate calls until released (a long
model call in flight, e.g. while the daemon gets SIGTERM) and really go down
and come back on the same port (clients get "connection refused" meanwhile).

Example::

    with FakeOllama() as ollama:
        client = OllamaClient(ollama.url, "qwen2.5-coder:7b", timeout=5)
        assert client.generate("Crash\\ndetails") == "Analysis of: Crash"
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.fakes import FakeHTTPServer, Fault, RequestRecord, Response

__all__ = ["DEFAULT_MODEL", "FakeOllama"]

DEFAULT_MODEL = "qwen2.5-coder:7b"
GENERATE = "/api/generate"


class FakeOllama(FakeHTTPServer):
    """Fake Ollama on loopback; answers ``"Analysis of: <first line of prompt>"``."""

    fault_kinds = ("server_error", "drop", "malformed", "status")

    def __init__(self, models: tuple[str, ...] | list[str] = (DEFAULT_MODEL,)) -> None:
        super().__init__()
        self.models: set[str] = set(models)
        self.answer: Callable[[str], str] | None = None
        """Replaces :meth:`answer_for` when set: ``prompt -> response text``."""
        self.trickle_seconds = 0.0
        """> 0: answers are sent one byte every that many seconds (see :meth:`trickle`)."""

    @staticmethod
    def answer_for(prompt: str) -> str:
        """The text the fake generates for ``prompt`` (for assertions)."""
        first = prompt.splitlines()[0] if prompt else ""
        return f"Analysis of: {first}"

    # -- controls ------------------------------------------------------------

    def trickle(self, seconds_per_byte: float) -> None:
        """Send every answer one byte at a time, ``seconds_per_byte`` apart."""
        self.trickle_seconds = seconds_per_byte

    def hold(self) -> None:
        """Make generate calls block until :meth:`release` (or :meth:`stop`)."""
        self.slow(None, GENERATE)

    def go_down(self) -> None:
        """Close the listening socket and cut open connections: clients get refused."""
        self._shutdown_listener()

    def come_up(self) -> None:
        """Listen again on the same port (SO_REUSEADDR)."""
        self.start()

    def pull(self, model: str) -> None:
        with self._lock:
            self.models.add(model)

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

    def route(self, request: RequestRecord) -> Response:
        if request.path == "/" and request.method in ("GET", "HEAD"):
            return Response(200, b"Ollama is running", {"Content-Type": "text/plain"})
        if request.path == "/api/tags" and request.method == "GET":
            with self._lock:
                names = sorted(self.models)
            return Response.json(200, {"models": [{"name": n, "model": n} for n in names]})
        if request.path == GENERATE and request.method == "POST":
            return self._generate(request)
        return Response(404, b"404 page not found", {"Content-Type": "text/plain"})

    def _generate(self, request: RequestRecord) -> Response:
        try:
            data = request.json()
        except ValueError:
            return Response.json(400, {"error": "invalid character in request body"})
        if not isinstance(data, dict) or not isinstance(data.get("model"), str):
            return Response.json(400, {"error": "model is required"})
        model = data["model"]
        with self._lock:
            known = model in self.models
        if not known:
            return Response.json(404, {"error": f"model '{model}' not found"})
        prompt = data.get("prompt") or ""
        final: dict[str, Any] = {
            "model": model,
            "created_at": datetime.now(UTC).isoformat(),
            "response": (self.answer or self.answer_for)(prompt),
            "done": True,
            "done_reason": "stop",
        }
        if data.get("stream", True) is not False:
            # Real Ollama streams NDJSON unless told otherwise.
            chunks = [{**final, "done": False}, {**final, "response": ""}]
            del chunks[0]["done_reason"]
            body = "".join(json.dumps(c) + "\n" for c in chunks).encode()
            return Response(200, body, {"Content-Type": "application/x-ndjson"})
        response = Response.json(200, final)
        response.trickle = self.trickle_seconds
        return response
