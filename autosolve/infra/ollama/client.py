"""Minimal Ollama client: one non-streaming ``/api/generate`` call, bounded as a whole."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from marshmallow import EXCLUDE, Schema, ValidationError, fields

from autosolve.infra.model.client import HTTPModelClient
from autosolve.infra.model.exchange import NOT_JSON, Reply, timed
from autosolve.infra.model.protocol import Availability
from autosolve.infra.ollama.errors import (
    ModelNotFoundError,
    OllamaError,
    OllamaMalformedResponseError,
    OllamaServerError,
    OllamaTimeoutError,
)

__all__ = ["OllamaClient"]


class _GenerateResponseSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    response = fields.String(required=True)


_generate_schema = _GenerateResponseSchema()


class OllamaClient(HTTPModelClient):
    """Asks one model of an Ollama server for a completion; thread-safe (one shared session).

    Built as :class:`~autosolve.infra.model.client.HTTPModelClient` is
    (``ollama.url``, ``ollama.model``, ``ollama.timeout``).
    """

    provider = "ollama"
    timeout_error = OllamaTimeoutError

    def __repr__(self) -> str:
        return f"OllamaClient(url={self.url!r}, model={self.model!r}, timeout={self.timeout!r})"

    def generate(self, prompt: str, schema: Mapping[str, Any] | None = None) -> str:
        """The model's whole answer to ``prompt`` (``stream: false``).

        Args:
            schema: a JSON schema the answer must follow (sent as ``format``).

        Raises:
            OllamaTimeoutError: the answer was not complete within ``timeout``.
            requests.ConnectionError: Ollama cannot be reached (a short message).
            ModelNotFoundError, OllamaServerError, OllamaError,
            OllamaMalformedResponseError: see :mod:`.errors`.
        """
        request: dict[str, Any] = {"model": self.model, "prompt": prompt, "stream": False}
        if schema is not None:
            request["format"] = schema
        with timed(self.on_request, "the Ollama client"):
            reply = self._exchange.request("POST", f"{self.url}/api/generate", json=request)
        return self._answer(reply)

    def _answer(self, reply: Reply) -> str:
        where = f"POST {self.url}/api/generate"
        said = _error_text(reply)
        said = f" (Ollama says: {said})" if said else ""
        status = reply.status
        if status == 404:
            raise ModelNotFoundError(
                f"{where}: 404{said}: model {self.model!r} is not available on {self.url}; "
                f"run `ollama pull {self.model}` there or change ollama.model",
                status=status,
            )
        if status >= 500:
            raise OllamaServerError(
                f"{where}: {status}{said}: Ollama failed; will retry", status=status
            )
        if status >= 400:
            raise OllamaError(f"{where}: {status}{said}: request refused by Ollama", status=status)
        if status != 200:
            raise OllamaMalformedResponseError(
                f"{where}: unexpected status {status}", status=status
            )
        if reply.payload is NOT_JSON:
            raise OllamaMalformedResponseError(
                f"{where}: 200 body is not JSON (starts with {reply.text[:120]!r}); "
                "is ollama.url really an Ollama server?",
                status=status,
            )
        try:
            answer: str = _generate_schema.load(reply.payload)["response"]
        except ValidationError as exc:
            raise OllamaMalformedResponseError(
                f"{where}: 200 body does not have the expected shape: {exc.messages}",
                status=status,
            ) from None
        return answer

    def check(self) -> Availability:
        """``GET /api/tags``: is the model among those the server has?"""
        url = f"{self.url}/api/tags"
        try:
            reply = self._exchange.request("GET", url)
        except requests.RequestException as error:
            return Availability(False, str(error))
        if reply.status != 200:
            return Availability(False, f"GET {url}: {reply.status}")
        models = reply.payload.get("models") if isinstance(reply.payload, dict) else None
        names = sorted(
            str(m.get("name")) for m in models or () if isinstance(m, dict) and m.get("name")
        )
        wanted = {self.model} if ":" in self.model else {self.model, f"{self.model}:latest"}
        if wanted & set(names):
            return Availability(True, f"available on {self.url}")
        return Availability(
            False,
            f"not on {self.url} (it has: {', '.join(names[:10]) or 'none'}); "
            f"run `ollama pull {self.model}` there or change ollama.model",
        )


def _error_text(reply: Reply) -> str:
    if reply.status < 400:
        return ""
    if reply.payload is NOT_JSON:
        return reply.text[:200].strip()
    if isinstance(reply.payload, dict) and reply.payload.get("error"):
        return str(reply.payload["error"])[:300]
    return ""
