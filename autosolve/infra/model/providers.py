"""The model the settings choose, built from plain values (infra never reads the settings).

The wiring passes the two sections as they are::

    new_model(settings.model.provider, ollama=settings.ollama, openai=settings.openai,
              on_request=metrics.on_model_request)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from autosolve.infra.model.protocol import Model
from autosolve.infra.ollama import OllamaClient
from autosolve.infra.openai import OpenAIClient

__all__ = ["PROVIDERS", "OllamaEndpoint", "OpenAIEndpoint", "new_model"]

PROVIDERS = ("ollama", "openai")
"""The values of ``model.provider``."""


class OllamaEndpoint(Protocol):
    """Where a model is served and how long one request may take."""

    @property
    def url(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def timeout(self) -> float: ...


class OpenAIEndpoint(OllamaEndpoint, Protocol):
    """An endpoint that wants a key."""

    @property
    def api_key(self) -> str: ...


def new_model(
    provider: str,
    *,
    ollama: OllamaEndpoint,
    openai: OpenAIEndpoint,
    on_request: Callable[[float], None] | None = None,
) -> Model:
    """The client of ``provider``'s endpoint.

    Raises:
        ValueError: ``provider`` is none of :data:`PROVIDERS`.
    """
    if provider == "ollama":
        return OllamaClient(ollama.url, ollama.model, ollama.timeout, on_request=on_request)
    if provider == "openai":
        return OpenAIClient(
            openai.url, openai.model, openai.timeout, openai.api_key, on_request=on_request
        )
    raise ValueError(f"`model.provider` must be one of {', '.join(PROVIDERS)}, got {provider!r}")
