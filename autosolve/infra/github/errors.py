"""Errors of the GitHub client.

Each class declares what kind of trouble it is through the capability methods of
:mod:`autosolve.runtime.capabilities` (duck-typed, no runtime import needed):

* :class:`RateLimitError` - wait-hinted service pressure (wait until the reset);
* :class:`ServerError` - retryable service pressure (GitHub 5xx);
* :class:`PermanentGitHubError` and subclasses - no capability: retrying the same
  request cannot help, a human has to fix configuration or permissions;
* :class:`MalformedResponseError` - no capability: an unexpected body is unknown
  trouble (the worker's *degraded* policy decides).

Connection errors and timeouts are not wrapped: they propagate as the raw
``requests`` exceptions, which the runtime classifies as node errors itself.
Messages name the request and the status and say what to fix; they never
contain the token.
"""

from __future__ import annotations

__all__ = [
    "ClientError",
    "ForbiddenError",
    "GitHubError",
    "MalformedResponseError",
    "NotFoundError",
    "PermanentGitHubError",
    "RateLimitError",
    "ServerError",
    "UnauthorizedError",
    "UnprocessableError",
]


class GitHubError(Exception):
    """Base of every error the GitHub client raises itself."""

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path
        self.status = status


class RateLimitError(GitHubError):
    """GitHub refused the request for rate limiting; ``wait`` says for how long.

    Also raised without any network traffic while a previous rate limit is
    still in force (``status`` is then ``None``).
    """

    def __init__(
        self,
        message: str,
        *,
        wait: float,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path, status=status)
        self.wait = float(wait)

    def wait_seconds(self) -> float:
        return self.wait

    def is_service_pressure(self) -> bool:
        return True


class ServerError(GitHubError):
    """GitHub answered 5xx: its trouble, the same request may well succeed later."""

    def is_retryable(self) -> bool:
        return True

    def is_service_pressure(self) -> bool:
        return True


class PermanentGitHubError(GitHubError):
    """A 4xx that retrying cannot fix (credentials, permissions, a wrong name)."""


class UnauthorizedError(PermanentGitHubError):
    """401: the token is missing, wrong, expired or revoked."""


class NotFoundError(PermanentGitHubError):
    """404: the resource does not exist or the token cannot see it."""


class ForbiddenError(PermanentGitHubError):
    """403 that is not a rate limit: the token lacks a permission or scope."""


class UnprocessableError(PermanentGitHubError):
    """422: GitHub rejected the request's parameters or body."""


class ClientError(PermanentGitHubError):
    """Any other 4xx."""


class MalformedResponseError(GitHubError):
    """A response that is not the JSON shape the client expects.

    Deliberately declares no capability: the classifier treats it as unknown.
    """
