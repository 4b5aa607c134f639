"""GitHub REST client: repositories, issues, comments; errors that declare their nature."""

from autosolve.infra.github.client import GitHubClient
from autosolve.infra.github.errors import (
    ClientError,
    ForbiddenError,
    GitHubError,
    MalformedResponseError,
    NotFoundError,
    PermanentGitHubError,
    RateLimitError,
    ServerError,
    UnauthorizedError,
    UnprocessableError,
)
from autosolve.infra.github.schemas import Comment, Issue, IssuePage, Repository

__all__ = [
    "ClientError",
    "Comment",
    "ForbiddenError",
    "GitHubClient",
    "GitHubError",
    "Issue",
    "IssuePage",
    "MalformedResponseError",
    "NotFoundError",
    "PermanentGitHubError",
    "RateLimitError",
    "Repository",
    "ServerError",
    "UnauthorizedError",
    "UnprocessableError",
]
