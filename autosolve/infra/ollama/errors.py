"""Errors of the Ollama client, declaring their nature by capability methods.

Connection errors and timeouts stay ``requests`` exceptions (with a short
message), which the runtime classifies as node errors.
"""

from __future__ import annotations

import requests

__all__ = [
    "ModelNotFoundError",
    "OllamaError",
    "OllamaMalformedResponseError",
    "OllamaServerError",
    "OllamaTimeoutError",
]


class OllamaError(Exception):
    """Base of the Ollama client's errors; raised as-is for unexpected 4xx (permanent)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class OllamaServerError(OllamaError):
    """Ollama answered 5xx (out of memory, model failed to load, ...): retry later."""

    def is_retryable(self) -> bool:
        return True

    def is_service_pressure(self) -> bool:
        return True


class ModelNotFoundError(OllamaError):
    """The configured model is not pulled on the Ollama server: a human must pull it."""


class OllamaMalformedResponseError(OllamaError):
    """A 2xx body that is not the expected JSON; unknown to the classifier."""


class OllamaTimeoutError(requests.Timeout):
    """The whole model request outlasted ``ollama.timeout``: a node error, like any timeout."""
