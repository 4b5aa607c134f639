"""Errors of the model clients (Ollama, OpenAI-compatible), declaring their nature.

Like the GitHub client's, each class says what kind of trouble it is by the
capability methods the runtime's classifier reads:

* :class:`ModelServerError` - the server's trouble (5xx) or its pressure
  (429, with the wait it asked for): retryable service pressure;
* :class:`ModelNotFoundError`, :class:`ModelAccessError` and a bare
  :class:`ModelError` - no capability: retrying cannot help, a human must
  fix the settings (the message says which key);
* :class:`ModelMalformedResponseError` - no capability: an unexpected body is
  unknown trouble (the worker's *degraded* policy decides);
* :class:`ModelTimeoutError` - a ``requests.Timeout``, so a node error like
  any transport failure; connection errors stay ``requests`` exceptions.

No message ever holds an API key.
"""

from __future__ import annotations

import requests

__all__ = [
    "ModelAccessError",
    "ModelError",
    "ModelMalformedResponseError",
    "ModelNotFoundError",
    "ModelServerError",
    "ModelTimeoutError",
]


class ModelError(Exception):
    """Base of the model clients' errors; raised as-is for an unexpected 4xx (permanent)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ModelServerError(ModelError):
    """The server failed (5xx) or asked to slow down (429): retry later.

    Args:
        wait: seconds the server asked to wait (``Retry-After``), if it said.
    """

    def __init__(self, message: str, *, status: int | None = None, wait: float = 0.0) -> None:
        super().__init__(message, status=status)
        self.wait = wait

    def wait_seconds(self) -> float:
        return self.wait

    def is_retryable(self) -> bool:
        return True

    def is_service_pressure(self) -> bool:
        return True


class ModelNotFoundError(ModelError):
    """The configured model is not on the server: a human must fetch it or fix the name."""


class ModelAccessError(ModelError):
    """The server refuses the credentials (401/403): a human must fix the key."""


class ModelMalformedResponseError(ModelError):
    """A 2xx body that is not the expected JSON; unknown to the classifier."""


class ModelTimeoutError(requests.Timeout):
    """The whole model request outlasted its timeout: a node error, like any timeout."""
