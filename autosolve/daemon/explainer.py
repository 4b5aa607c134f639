"""Failures in words an operator can act on: the runtime's :data:`~autosolve.runtime.Explainer`.

The runtime logs every restart and the reason a run failed; for the errors
below it uses these words instead of the error's type and text. A wrong
token then ends ``start`` with one line, ``GitHub rejected the token (401):
check github.token or AUTOSOLVE_GITHUB__TOKEN``, and a validator that cannot
reach GitHub says what it waits for at each attempt.

Only errors whose remedy is known are worded here; every other error keeps
its own message (which the clients already make short and specific).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests

from autosolve.infra.github import ForbiddenError, GitHubError, NotFoundError, UnauthorizedError
from autosolve.infra.transport import short_reason
from autosolve.runtime import Explainer
from autosolve.settings.load import environment_variable

if TYPE_CHECKING:
    from autosolve.settings import Settings

__all__ = ["TRANSPORT_ERRORS", "error_explainer"]

TRANSPORT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
"""The clients' transport failures (the runtime retries them as node errors)."""

_REPOSITORY = re.compile(r"/repos/([^/]+/[^/]+)$")


def error_explainer(settings: Settings) -> Explainer:
    """The words for the daemon's failures, knowing where its GitHub and its model are."""
    services = {
        _peer(settings.github.api_url): "GitHub",
        _peer(_model_url(settings)): f"the model server ({settings.model.provider})",
    }
    github_words = _github_words(settings)

    def explain(error: BaseException) -> str | None:
        if isinstance(error, TRANSPORT_ERRORS):
            return _unreachable(error, services)
        if isinstance(error, GitHubError):
            return github_words(error)
        return None

    return explain


def _github_words(settings: Settings) -> Callable[[GitHubError], str | None]:
    """What a permanent GitHub refusal means, and what to check (token or App)."""
    if settings.github.app.id and not settings.github.token:
        credentials = "the GitHub App's credentials (401): check github.app.id, "
        credentials += "github.app.private_key_file and github.app.installation_id"
    else:
        token = "github.token"
        credentials = f"the token (401): check {token} or {environment_variable(token)}"

    def words(error: GitHubError) -> str | None:
        if isinstance(error, UnauthorizedError):
            return f"GitHub rejected {credentials}"
        repository = _REPOSITORY.search(error.path or "")
        if repository is None:
            return None
        name = repository.group(1)
        if isinstance(error, NotFoundError):
            return (
                f"repository {name} not found on GitHub, or the token cannot see it (404): "
                "check github.repositories and the token's access"
            )
        if isinstance(error, ForbiddenError):
            return (
                f"the token may not read {name} (403): grant it Issues (read and write) "
                "and Metadata (read) on the repository"
            )
        return None

    return words


def _unreachable(error: BaseException, services: dict[str, str]) -> str:
    """``waiting for GitHub at api.github.com to answer (connection refused)``."""
    request = getattr(error, "request", None)
    peer = _peer(getattr(request, "url", None) or "")
    service = services.get(peer)
    subject = f"{service} at {peer}" if service else peer or "the server"
    return f"waiting for {subject} to answer ({short_reason(error)})"


def _model_url(settings: Settings) -> str:
    return settings.openai.url if settings.model.provider == "openai" else settings.ollama.url


def _peer(url: str) -> str:
    """``host:port`` of ``url`` (credentials left out)."""
    return urlsplit(url).netloc.rpartition("@")[2]
