"""GitHub REST client: the token's account, repositories, issues, comments, labels; errors that
declare their nature."""

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
from autosolve.infra.github.schemas import (
    Account,
    Comment,
    CommentPage,
    Issue,
    IssuePage,
    Label,
    LabelPage,
    Page,
    Repository,
)

__all__ = [
    "Account",
    "ClientError",
    "Comment",
    "CommentPage",
    "ForbiddenError",
    "GitHubClient",
    "GitHubError",
    "Issue",
    "IssuePage",
    "Label",
    "LabelPage",
    "MalformedResponseError",
    "NotFoundError",
    "Page",
    "PermanentGitHubError",
    "RateLimitError",
    "Repository",
    "ServerError",
    "UnauthorizedError",
    "UnprocessableError",
]
