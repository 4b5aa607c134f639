"""Who autosolve is on GitHub: the account its comments are written by.

Only comments written by this account are autosolve's own: a marker in
anyone else's comment (``I agree <!-- autosolve -->``) means nothing, and
autosolve never edits such a comment. :class:`Identity` is the seam: with a
token, :class:`TokenIdentity` asks GitHub whose token it is (``GET /user``);
a GitHub App posts as ``<slug>[bot]`` and supplies an identity of its own.
The identity is learned at start (the repository validators ask for it
before any worker runs) and recorded in the store (``identity``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from autosolve.infra.github import GitHubClient
    from autosolve.infra.store import Store

__all__ = ["ANONYMOUS", "Identity", "TokenIdentity"]


class Identity(Protocol):
    """The login autosolve posts as."""

    def login(self) -> str:
        """The login (learned on first use, then kept).

        Raises:
            Exception: GitHub's errors while learning it (a refused token is permanent).
        """
        ...


ANONYMOUS = ""
"""The login of a daemon without a token: no comment is its own (it cannot post any)."""


class TokenIdentity:
    """The account the GitHub token belongs to: ``GET /user`` once, recorded in the store.

    Shared by every task of a daemon; the first caller learns it (one
    request), the others wait for that answer. Without a token (anonymous
    requests: a dry run at most) it is :data:`ANONYMOUS`, learned from no one.
    """

    source = "token"
    """How the identity was learned, as the store records it."""

    def __init__(self, github: GitHubClient, store: Store) -> None:
        self._github = github
        self._store = store
        self._lock = threading.Lock()
        self._login: str | None = None

    def login(self) -> str:
        with self._lock:
            if self._login is None and not self._github.has_token:
                self._login = ANONYMOUS
            if self._login is None:
                account = self._github.get_authenticated_user()
                self._store.save_identity(account.login, self.source)
                self._login = account.login
            return self._login
