"""Minimal Ollama client: one non-streaming ``/api/generate`` call."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from marshmallow import EXCLUDE, Schema, ValidationError, fields

from autosolve.infra.ollama.errors import (
    ModelNotFoundError,
    OllamaError,
    OllamaMalformedResponseError,
    OllamaServerError,
)

__all__ = ["OllamaClient"]


class _GenerateResponseSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    response = fields.String(required=True)


_generate_schema = _GenerateResponseSchema()


class OllamaClient:
    """Asks one model for a completion; thread-safe (one shared session)."""

    def __init__(
        self,
        url: str,
        model: str,
        timeout: float,
        session: requests.Session | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"ollama url must be an http(s) URL, got {url!r}")
        self.url = url.rstrip("/")
        self.model = model
        self.timeout = timeout
        self._session = session if session is not None else requests.Session()

    def __repr__(self) -> str:
        return f"OllamaClient(url={self.url!r}, model={self.model!r}, timeout={self.timeout!r})"

    def generate(self, prompt: str) -> str:
        """The model's whole answer to ``prompt`` (``stream: false``)."""
        where = f"POST {self.url}/api/generate"
        response = self._session.post(
            f"{self.url}/api/generate",
            json={"model": self.model, "prompt": prompt, "stream": False},
            timeout=self.timeout,
        )
        status = response.status_code
        said = _error_text(response)
        said = f" (Ollama says: {said})" if said else ""
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
        try:
            payload: Any = response.json()
        except ValueError:
            raise OllamaMalformedResponseError(
                f"{where}: 200 body is not JSON (starts with {response.text[:120]!r}); "
                "is ollama.url really an Ollama server?",
                status=status,
            ) from None
        try:
            return _generate_schema.load(payload)["response"]
        except ValidationError as exc:
            raise OllamaMalformedResponseError(
                f"{where}: 200 body does not have the expected shape: {exc.messages}",
                status=status,
            ) from None


def _error_text(response: requests.Response) -> str:
    if response.status_code < 400:
        return ""
    try:
        payload = response.json()
    except ValueError:
        return response.text[:200].strip()
    if isinstance(payload, dict) and payload.get("error"):
        return str(payload["error"])[:300]
    return ""
