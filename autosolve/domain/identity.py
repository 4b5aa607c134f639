"""Who autosolve is on GitHub: the account its comments are written by.

Only comments written by this account are autosolve's own: a marker in
anyone else's comment (``I agree <!-- autosolve -->``) means nothing, and
autosolve never edits such a comment. :class:`Identity` is the seam: with a
token, :class:`TokenIdentity` asks GitHub whose token it is (``GET /user``);
a GitHub App posts as ``<slug>[bot]``, which :class:`AppIdentity` learns from
``GET /app`` (an installation token has no ``/user``).
The identity is learned at start (the repository validators ask for it
before any worker runs) and recorded in the store (``identity``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from autosolve.infra.github import GitHubClient
    from autosolve.infra.github.app import GitHubApp
    from autosolve.infra.store import Store

__all__ = ["ANONYMOUS", "AppIdentity", "Identity", "TokenIdentity"]


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


class _LearnedIdentity:
    """A login learned once, recorded in the store, then kept.

    Shared by every task of a daemon; the first caller learns it (one
    request), the others wait for that answer.
    """

    source = ""
    """How the identity was learned, as the store records it."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._login: str | None = None

    def login(self) -> str:
        with self._lock:
            if self._login is None:
                self._login = self._learn()
                if self._login != ANONYMOUS:
                    self._store.save_identity(self._login, self.source)
            return self._login

    def _learn(self) -> str:
        raise NotImplementedError


class TokenIdentity(_LearnedIdentity):
    """The account the GitHub token belongs to: ``GET /user`` once, recorded in the store.

    Without a token (anonymous requests: a dry run at most) it is
    :data:`ANONYMOUS`, learned from no one.
    """

    source = "token"

    def __init__(self, github: GitHubClient, store: Store) -> None:
        super().__init__(store)
        self._github = github

    def _learn(self) -> str:
        if not self._github.has_token:
            return ANONYMOUS
        return self._github.get_authenticated_user().login


class AppIdentity(_LearnedIdentity):
    """A GitHub App's bot account, ``<slug>[bot]``: the author of every comment it posts
    (``GET /app`` once, as the App), recorded in the store."""

    source = "app"

    def __init__(self, app: GitHubApp, store: Store) -> None:
        super().__init__(store)
        self._app = app

    def _learn(self) -> str:
        return self._app.bot_login()
