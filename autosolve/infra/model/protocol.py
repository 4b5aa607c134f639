"""What the domain needs of a language model, whoever serves it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from autosolve.settings.limits import MAX_CONCURRENCY

__all__ = ["MAX_CONCURRENCY", "Availability", "Model"]


@dataclass(frozen=True)
class Availability:
    """Whether the model can be asked, as one line for ``check --online`` and the start log."""

    ok: bool
    detail: str
    """Where it is available, or why it is not (naming the setting to change)."""


class Model(Protocol):
    """A language model that answers a prompt (Ollama, any OpenAI-compatible server)."""

    @property
    def name(self) -> str:
        """The model's name, as the comment's header shows it."""
        ...

    def generate(self, prompt: str, schema: Mapping[str, Any] | None = None) -> str:
        """The model's whole answer to ``prompt``; with ``schema``, constrained to that JSON schema.

        Raises:
            ModelError and its subclasses, ModelTimeoutError, requests.RequestException:
                see :mod:`autosolve.infra.model.errors`.
        """
        ...

    def check(self) -> Availability:
        """Whether the server answers and has the model (never raises)."""
        ...
