"""A stand-in model: a server speaking Ollama's API that answers at once, deterministically.

``POST /api/generate`` answers from :mod:`autosolve.demo.analyst`: with a
``format`` (Ollama's structured outputs: ``"json"`` or a JSON schema) the
``response`` is the JSON analysis, else the same analysis as prose.
``GET /api/tags`` lists the models it "has", ``GET /`` says it is running,
as Ollama does. Like Ollama it streams NDJSON unless the request says
``"stream": false``, and answers 404 for a model it does not have.

Example::

    with StandInModel() as model:
        client = OllamaClient(model.url, STAND_IN_MODEL, timeout=5)
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from autosolve.demo import analyst
from autosolve.demo.server import LoopbackServer, Request, Response

__all__ = ["GENERATE", "STAND_IN_MODEL", "StandInModel"]

STAND_IN_MODEL = "autosolve-stand-in"
"""The model the stand-in answers as, unless told other names."""

GENERATE = "/api/generate"


class StandInModel(LoopbackServer):
    """Ollama's API on loopback, answering as :data:`STAND_IN_MODEL` (or ``models``)."""

    server_software = "ollama-stand-in"

    def __init__(self, models: tuple[str, ...] | list[str] = (STAND_IN_MODEL,), port: int = 0):
        super().__init__(port)
        self.models: set[str] = set(models)
        """The models it answers as (``GET /api/tags``); others are 404."""

    def pull(self, model: str) -> None:
        """Have ``model`` from now on."""
        with self._lock:
            self.models.add(model)

    def compose(self, prompt: str, structured: bool) -> str:
        """The ``response`` text for ``prompt``: the JSON analysis when ``structured``."""
        facts = analyst.read_prompt(prompt)
        if structured:
            return json.dumps(analyst.analyse(facts))
        return analyst.plain_text(facts)

    def route(self, request: Request) -> Response:
        if request.path == "/" and request.method in ("GET", "HEAD"):
            return Response(200, b"Ollama is running", {"Content-Type": "text/plain"})
        if request.path == "/api/tags" and request.method == "GET":
            with self._lock:
                names = sorted(self.models)
            return Response.json(200, {"models": [_tag(name) for name in names]})
        if request.path == GENERATE and request.method == "POST":
            return self._generate(request)
        return Response(404, b"404 page not found", {"Content-Type": "text/plain"})

    def _generate(self, request: Request) -> Response:
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
        text = self.compose(str(data.get("prompt") or ""), bool(data.get("format")))
        final: dict[str, Any] = {
            "model": model,
            "created_at": datetime.now(UTC).isoformat(),
            "response": text,
            "done": True,
            "done_reason": "stop",
        }
        if data.get("stream", True) is not False:
            return _streamed(final)
        return Response.json(200, final)


def _tag(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "size": 0,
        "details": {"format": "none", "family": "stand-in", "parameter_size": "0B"},
    }


def _streamed(final: dict[str, Any]) -> Response:
    """Ollama's NDJSON stream of one answer: the text, then the closing record."""
    chunks = [{**final, "done": False}, {**final, "response": ""}]
    del chunks[0]["done_reason"]
    body = "".join(json.dumps(chunk) + "\n" for chunk in chunks).encode()
    return Response(200, body, {"Content-Type": "application/x-ndjson"})
