"""Errors of the Ollama client: the model clients' errors, named for Ollama.

Connection errors and timeouts stay ``requests`` exceptions (with a short
message), which the runtime classifies as node errors. An unknown model is
:class:`~autosolve.infra.model.errors.ModelNotFoundError`, as for any provider.
"""

from __future__ import annotations

from autosolve.infra.model.errors import (
    ModelError,
    ModelMalformedResponseError,
    ModelNotFoundError,
    ModelServerError,
    ModelTimeoutError,
)

__all__ = [
    "ModelNotFoundError",
    "OllamaError",
    "OllamaMalformedResponseError",
    "OllamaServerError",
    "OllamaTimeoutError",
]


class OllamaError(ModelError):
    """Base of the errors Ollama's answers cause; raised as-is for unexpected 4xx (permanent)."""


class OllamaServerError(OllamaError, ModelServerError):
    """Ollama answered 5xx (out of memory, model failed to load, ...): retry later."""


class OllamaMalformedResponseError(OllamaError, ModelMalformedResponseError):
    """A 2xx body that is not the expected JSON; unknown to the classifier."""


class OllamaTimeoutError(ModelTimeoutError):
    """The whole model request outlasted ``ollama.timeout``: a node error, like any timeout."""
