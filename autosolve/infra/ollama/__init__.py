"""Ollama client: non-streaming text generation with errors that declare their nature."""

from autosolve.infra.ollama.client import OllamaClient
from autosolve.infra.ollama.errors import (
    ModelNotFoundError,
    OllamaError,
    OllamaMalformedResponseError,
    OllamaServerError,
    OllamaTimeoutError,
)

__all__ = [
    "ModelNotFoundError",
    "OllamaClient",
    "OllamaError",
    "OllamaMalformedResponseError",
    "OllamaServerError",
    "OllamaTimeoutError",
]
