"""What every model client over HTTP shares: its server, its model, its bounded exchange."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar
from urllib.parse import urlsplit

import requests

from autosolve.infra.model.errors import ModelTimeoutError
from autosolve.infra.model.exchange import BoundedExchange

__all__ = ["HTTPModelClient"]


class HTTPModelClient:
    """A model behind an HTTP server; subclasses speak its protocol.

    Args:
        url: the server, ``http(s)://host:port[/path]``.
        model: the model's name.
        timeout: seconds for the *whole* request, from connecting to the last
            byte of the answer (``<provider>.timeout``): a model that trickles
            its answer cannot hold a job past it.
        session: a ``requests`` session to use (tests, proxies).
        on_request: called after every model request, successful or not, with
            its duration in seconds (metrics); called on the requesting
            thread, and its own errors are logged, never raised.
    """

    provider: ClassVar[str]
    """The settings section of the provider (``ollama``, ``openai``), for messages."""
    timeout_error: ClassVar[type[ModelTimeoutError]] = ModelTimeoutError

    def __init__(
        self,
        url: str,
        model: str,
        timeout: float,
        session: requests.Session | None = None,
        on_request: Callable[[float], None] | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{self.provider} url must be an http(s) URL, got {url!r}")
        self.url = url.rstrip("/")
        self.model = model
        self.on_request = on_request
        """The duration hook, see the class docstring; may be set after construction."""
        setting = f"{self.provider}.timeout"
        self._exchange = BoundedExchange(timeout, setting, self.timeout_error, session)

    @property
    def name(self) -> str:
        """The model's name, as the comment's header shows it."""
        return self.model

    @property
    def timeout(self) -> float:
        return self._exchange.timeout
