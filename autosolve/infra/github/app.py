"""A GitHub App's credentials: its JWT, and a token per installation, renewed in time.

The App signs a JWT (RS256 with its private key; ``iss`` = the App's id,
``iat`` 60 s in the past for clock drift, ``exp`` 9 minutes later, under
GitHub's 10) to call the App's own endpoints: list its installations, find
the installation of a repository, and create installation tokens
(``POST /app/installations/{id}/access_tokens``). Every other request is made
with the token of the installation that covers the repository it is about.

Tokens are cached and renewed :data:`RENEW_BEFORE` seconds before their
``expires_at``, and at once when GitHub rejects one (401: revoked, or the
clocks disagree); the client then sends the rejected request once more, so
the tick that met it does not fail. Each installation draws on its own
request budget (key ``installation:{id}``), the App's own calls on ``app``.
Neither the key nor a token is ever part of a message: they live in the
``Authorization`` header only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import jwt

from autosolve.infra.github.credentials import BearerAuth, Credential
from autosolve.infra.github.errors import MalformedResponseError, NotFoundError

if TYPE_CHECKING:
    from autosolve.infra.github.client import GitHubClient
    from autosolve.infra.github.schemas import Repository

__all__ = ["APP_BUDGET", "RENEW_BEFORE", "GitHubApp", "Installation", "installation_budget"]

RENEW_BEFORE = 300.0
"""Seconds before its ``expires_at`` a token is replaced (GitHub's tokens live an hour)."""
JWT_BACKDATE = 60
"""``iat`` this many seconds in the past: GitHub's advice against clock drift."""
JWT_LIFETIME = 540
"""``exp`` − now: under GitHub's 10-minute cap, with the backdating inside it."""
APP_BUDGET = "app"
"""The budget key of the App's own (JWT) requests."""


def installation_budget(installation_id: int) -> str:
    """The budget key of one installation's requests."""
    return f"installation:{installation_id}"


@dataclass(frozen=True)
class Installation:
    """One installation of the App: where it is installed."""

    id: int
    account: str
    """The organisation or user it is installed on."""


@dataclass
class _Token:
    credential: Credential
    expires_at: float


class GitHubApp:
    """The App's :class:`~autosolve.infra.github.credentials.Credentials`.

    Args:
        app_id: ``github.app.id``.
        private_key: the PEM text of the App's private key.
        installation_id: ``github.app.installation_id`` (0: every installation).
        now: the wall clock (epoch seconds), for ``iat``/``exp`` and expiry.
    """

    def __init__(
        self,
        app_id: int,
        private_key: str,
        installation_id: int = 0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.app_id = app_id
        self.installation_id = installation_id
        self._key = private_key
        self._now = now
        self._client: GitHubClient | None = None
        self._tokens: dict[int, _Token] = {}
        self._repositories: dict[str, int] = {}
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"GitHubApp(id={self.app_id}, installation_id={self.installation_id})"

    def bind(self, client: GitHubClient) -> None:
        """The client that carries the App's own requests (the one using these credentials)."""
        self._client = client

    # -- credentials -------------------------------------------------------------

    def jwt(self) -> Credential:
        """A fresh JWT as a credential (the App as itself)."""
        now = int(self._now())
        claims = {"iat": now - JWT_BACKDATE, "exp": now + JWT_LIFETIME, "iss": str(self.app_id)}
        return Credential(APP_BUDGET, BearerAuth(jwt.encode(claims, self._key, algorithm="RS256")))

    def for_path(self, path: str) -> Credential:
        """The JWT for the App's endpoints; else the token of the installation concerned."""
        if path == "/app" or path.startswith("/app/"):
            return self.jwt()
        return self.installation(self._installation_for(path))

    def rejected(self, credential: Credential) -> Credential | None:
        """A rejected installation token is dropped and a new one made at once."""
        if not credential.installation_id:
            return None
        with self._lock:
            cached = self._tokens.get(credential.installation_id)
            if cached is not None and cached.credential is credential:
                del self._tokens[credential.installation_id]
        return self.installation(credential.installation_id)

    def installation(self, installation_id: int) -> Credential:
        """The installation's token, renewed when it is within :data:`RENEW_BEFORE` of expiry."""
        with self._lock:
            cached = self._tokens.get(installation_id)
            if cached is None or cached.expires_at - RENEW_BEFORE <= self._now():
                cached = self._tokens[installation_id] = self._new_token(installation_id)
            return cached.credential

    # -- what the App sees ---------------------------------------------------------

    def installations(self) -> list[Installation]:
        """The App's installations (only ``installation_id`` when it is set)."""
        listed = [
            Installation(int(item["id"]), str(item["account"]["login"]))
            for item in self._call().all_pages("/app/installations", self.jwt())
        ]
        if self.installation_id:
            listed = [i for i in listed if i.id == self.installation_id]
        return listed

    def repositories(self, installation: Installation) -> list[Repository]:
        """Every repository ``installation`` covers (remembered: their requests use its token)."""
        found = self._call().list_installation_repositories(self.installation(installation.id))
        with self._lock:
            for repository in found:
                self._repositories[repository.full_name.lower()] = installation.id
        return found

    def bot_login(self) -> str:
        """The App's bot account, ``<slug>[bot]``: the author of what it posts."""
        document = self._call().call("GET", "/app", self.jwt())
        return f"{document['slug']}[bot]"

    # -- plumbing --------------------------------------------------------------------

    def _call(self) -> GitHubClient:
        if self._client is None:
            raise RuntimeError("GitHubApp.bind(client) was not called")
        return self._client

    def _installation_for(self, path: str) -> int:
        """The installation covering the repository (or organisation) ``path`` is about."""
        parts = path.split("/")
        if len(parts) > 3 and parts[1] == "repos":
            key, lookup = f"{parts[2]}/{parts[3]}".lower(), f"/repos/{parts[2]}/{parts[3]}"
        elif len(parts) > 2 and parts[1] in ("orgs", "users"):
            key, lookup = parts[2].lower(), f"/{parts[1]}/{parts[2]}"
        elif self.installation_id:
            return self.installation_id
        else:
            raise NotFoundError(
                f"GET {path}: a GitHub App can make this request only as an installation; "
                "set github.app.installation_id", method="GET", path=path, status=404
            )  # fmt: skip
        with self._lock:
            if key in self._repositories:
                return self._repositories[key]
        document = self._call().call(
            "GET", f"{lookup}/installation", self.jwt(),
            not_found=f"the GitHub App {self.app_id} is not installed on {key}; install it "
            "there (Issues: read and write, Metadata: read)",
        )  # fmt: skip
        installation_id = int(document["id"])
        with self._lock:
            self._repositories[key] = installation_id
        return installation_id

    def _new_token(self, installation_id: int) -> _Token:
        document = self._call().call(
            "POST", f"/app/installations/{installation_id}/access_tokens", self.jwt(),
            expect=(201,),
            not_found=f"installation {installation_id} of the GitHub App {self.app_id} not "
            "found (uninstalled?); check github.app.installation_id",
        )  # fmt: skip
        return _Token(
            Credential(
                installation_budget(installation_id),
                BearerAuth(str(document.get("token", ""))),
                installation_id=installation_id,
            ),
            _expiry(document, f"/app/installations/{installation_id}/access_tokens"),
        )


def _expiry(document: Any, path: str) -> float:
    try:
        return datetime.fromisoformat(str(document["expires_at"])).timestamp()
    except (KeyError, TypeError, ValueError):
        raise MalformedResponseError(
            f"POST {path}: 201 body has no valid expires_at", method="POST", path=path, status=201
        ) from None
