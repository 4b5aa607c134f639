"""Who a request to GitHub is made as: a personal token, or a GitHub App.

The client asks its :class:`Credentials` for the :class:`Credential` of each
request (by the path it goes to) and sends it in ``Authorization``; each
credential names the request budget it draws on (GitHub counts its limits per
token, and per App installation). A 401 is reported back: credentials that
can get a fresh token (an App's installation token that expired or was
revoked) answer with one, and the request is sent once more with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import requests
import requests.auth

__all__ = ["BearerAuth", "Credential", "Credentials", "TokenCredentials"]

TOKEN_BUDGET = "token"
"""The budget key of a personal token (and of anonymous requests)."""


class BearerAuth(requests.auth.AuthBase):
    """Sets ``Authorization: Bearer`` (nothing for an empty token).

    Passing it as ``auth=`` also stops requests from replacing the header with
    ``~/.netrc`` credentials, and requests drops it on cross-host redirects.
    """

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._token:
            request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(<redacted>)"


@dataclass(frozen=True)
class Credential:
    """What one request is sent with; its secret stays inside :attr:`auth`."""

    budget: str
    """The key of the request budget it draws on (``token``, ``app``, ``installation:N``)."""
    auth: BearerAuth = field(repr=False)
    installation_id: int = 0
    """The App installation the token belongs to (0: not an installation token)."""


class Credentials(Protocol):
    """Chooses each request's credential; told of the ones GitHub rejected."""

    def for_path(self, path: str) -> Credential:
        """The credential for a request to ``path`` (under the API URL)."""
        ...

    def rejected(self, credential: Credential) -> Credential | None:
        """GitHub answered 401 to ``credential``: a fresh one to retry with, or None."""
        ...


class TokenCredentials:
    """One personal access token (or none) for every request."""

    def __init__(self, token: str) -> None:
        self.token = token
        self._credential = Credential(TOKEN_BUDGET, BearerAuth(token))

    def for_path(self, path: str) -> Credential:
        return self._credential

    def rejected(self, credential: Credential) -> Credential | None:
        return None  # a personal token cannot renew itself

    def __repr__(self) -> str:
        return f"TokenCredentials({'<set>' if self.token else '<none>'})"
