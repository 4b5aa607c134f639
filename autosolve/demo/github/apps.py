"""GitHub Apps in the simulation: apps, their installations, JWTs and installation tokens.

As on github.com:

- an App authenticates as itself with a JWT signed RS256 by its private key
  (``iss`` = the App's id, ``exp`` at most 10 minutes after ``iat``); the
  simulation verifies it with the App's public key and answers 401 otherwise;
- as itself it may only read ``GET /app``, ``GET /app/installations``, an
  installation of a repository or organisation (``GET /repos/{o}/{r}/installation``,
  ``GET /orgs/{org}/installation``) and create installation tokens
  (``POST /app/installations/{id}/access_tokens`` → 201 ``{token, expires_at}``);
- an installation token acts as the App's bot account ``<slug>[bot]``, sees
  only the repositories the installation covers (others are 404) and lists
  them with ``GET /installation/repositories``; it expires at ``expires_at``
  (then 401, like a revoked one).
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import jwt

from autosolve.demo.clock import format_iso
from autosolve.demo.github import shapes
from autosolve.demo.github.answers import DOCS, not_found, paged
from autosolve.demo.github.ids import node_id
from autosolve.demo.server import Request, Response

if TYPE_CHECKING:
    from autosolve.demo.github.state import Account, Repository

__all__ = ["JWT_PATHS", "App", "Installation", "Installations", "looks_like_jwt"]

TOKEN_LIFETIME = 3600.0
"""Seconds an installation token lives, as on github.com."""
MAX_JWT_LIFETIME = 600
"""``exp`` − ``iat`` may be at most ten minutes."""
CLOCK_DRIFT = 60
"""Seconds of clock difference GitHub tolerates (why clients set ``iat`` 60 s back)."""

JWT_PATHS = ("/app", "/app/installations")
"""Paths (with the installation look-ups) a JWT may call."""


@dataclass
class App:
    id: int
    slug: str
    public_key: str
    """PEM: what GitHub keeps of the App's key pair."""
    owner: Account

    @property
    def bot_login(self) -> str:
        return f"{self.slug}[bot]"


@dataclass
class Installation:
    id: int
    app: App
    account: Account
    """The user or organisation it is installed on."""
    repositories: list[str] | None = None
    """Lower-case ``owner/name`` of the repositories it covers; None = all of the account's."""

    def covers(self, repo: Repository) -> bool:
        if repo.owner.login.lower() != self.account.login.lower():
            return False
        return self.repositories is None or repo.full_name.lower() in self.repositories


@dataclass
class _Token:
    installation: Installation
    expires_at: float


@dataclass
class Installations:
    """Every App, installation and installation token of one simulated GitHub."""

    apps: dict[int, App] = field(default_factory=dict)
    installations: dict[int, Installation] = field(default_factory=dict)
    tokens: dict[str, _Token] = field(default_factory=dict)
    token_lifetime: float = TOKEN_LIFETIME
    """Seconds a new installation token lives (tests shorten it)."""
    issued: list[int] = field(default_factory=list)
    """The installation of every token created, in order (tests count renewals)."""
    now: Callable[[], float] = time.time
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(7001))

    def install(self, app: App, account: Account, repositories: list[str] | None) -> Installation:
        installation = Installation(next(self._ids), app, account, repositories)
        self.installations[installation.id] = installation
        return installation

    def revoke(self, installation_id: int | None = None) -> int:
        """Revoke the tokens of one installation (all: None); how many were revoked."""
        gone = [t for t, i in self.tokens.items()
                if installation_id is None or i.installation.id == installation_id]  # fmt: skip
        for token in gone:
            del self.tokens[token]
        return len(gone)

    def installation_of(self, token: str) -> Installation | None:
        """The installation a live token belongs to (an expired one is forgotten)."""
        found = self.tokens.get(token)
        if found is None:
            return None
        if found.expires_at <= self.now():
            del self.tokens[token]
            return None
        return found.installation

    def verify(self, token: str) -> App | None:
        """The App whose valid JWT ``token`` is, or None."""
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
            app = self.apps.get(int(claims.get("iss", 0)))
            if app is None:
                return None
            claims = jwt.decode(
                token, app.public_key, algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"], "verify_exp": False,
                         "verify_iat": False},
            )  # fmt: skip
            issued, expires = int(claims["iat"]), int(claims["exp"])
        except (jwt.PyJWTError, ValueError, TypeError):
            return None
        now = self.now()  # the simulation's clock, not PyJWT's
        fresh = issued - CLOCK_DRIFT <= now < expires + CLOCK_DRIFT
        return app if fresh and expires - issued <= MAX_JWT_LIFETIME else None

    def new_token(self, installation: Installation) -> tuple[str, float]:
        token = f"ghs_{secrets.token_hex(18)}"
        expires_at = self.now() + self.token_lifetime
        self.tokens[token] = _Token(installation, expires_at)
        self.issued.append(installation.id)
        return token, expires_at


def looks_like_jwt(token: str) -> bool:
    """Three dot-separated parts: a JWT rather than a token."""
    return token.count(".") == 2


# -- shapes ----------------------------------------------------------------------


def app_shape(app: App, base_url: str) -> dict[str, Any]:
    """``GET /app``: the ``integration`` shape, trimmed."""
    return {
        "id": app.id,
        "slug": app.slug,
        "node_id": node_id("Integration", app.id),
        "owner": shapes.account(app.owner, base_url),
        "name": app.slug,
        "external_url": "https://example.org",
        "html_url": f"{shapes.web_base(base_url)}/apps/{app.slug}",
        "permissions": {"issues": "write", "metadata": "read"},
        "events": ["issues", "issue_comment", "repository", "installation_repositories"],
    }


def installation_shape(installation: Installation, base_url: str) -> dict[str, Any]:
    """An ``installation``, trimmed to what clients read."""
    return {
        "id": installation.id,
        "account": shapes.account(installation.account, base_url),
        "repository_selection": "all" if installation.repositories is None else "selected",
        "access_tokens_url": f"{base_url}/app/installations/{installation.id}/access_tokens",
        "repositories_url": f"{base_url}/installation/repositories",
        "app_id": installation.app.id,
        "app_slug": installation.app.slug,
        "target_id": installation.account.github_id,
        "target_type": installation.account.type,
        "permissions": {"issues": "write", "metadata": "read"},
        "events": ["issues", "issue_comment", "repository", "installation_repositories"],
    }


# -- endpoints -------------------------------------------------------------------


def as_app(
    registry: Installations, app: App, request: Request, path: str, base_url: str, link: str,
    find: Callable[[str, str], Repository | None],
) -> Response:  # fmt: skip
    """What an App may do with its JWT; anything else is 403, as on github.com."""
    path = path.rstrip("/")
    mine = [i for i in registry.installations.values() if i.app.id == app.id]
    if path == "/app" and request.method == "GET":
        return Response.json(200, app_shape(app, base_url))
    if path == "/app/installations" and request.method == "GET":
        return paged(request, mine, link, lambda i: installation_shape(i, base_url))
    parts = path.split("/")
    if len(parts) == 5 and parts[:3] == ["", "app", "installations"] and parts[4] == (
        "access_tokens"
    ) and request.method == "POST":  # fmt: skip
        found = next((i for i in mine if str(i.id) == parts[3]), None)
        if found is None:
            return not_found()
        token, expires_at = registry.new_token(found)
        return Response.json(201, {
            "token": token, "expires_at": format_iso(datetime.fromtimestamp(expires_at, UTC)),
            "permissions": {"issues": "write", "metadata": "read"},
            "repository_selection": "all" if found.repositories is None else "selected",
        })  # fmt: skip
    if request.method == "GET" and parts[-1] == "installation":
        return _installation_for(mine, parts, base_url, find)
    return Response.json(403, {
        "message": "A JSON web token could not be used to access this resource; "
        "use an installation token", "documentation_url": DOCS,
    })  # fmt: skip


def _installation_for(
    mine: list[Installation], parts: list[str], base_url: str,
    find: Callable[[str, str], Repository | None],
) -> Response:  # fmt: skip
    """``/repos/{o}/{r}/installation`` or ``/orgs/{org}/installation``."""
    found: Installation | None = None
    if len(parts) == 5 and parts[1] == "repos":
        repo = find(parts[2], parts[3])
        found = next((i for i in mine if repo is not None and i.covers(repo)), None)
    elif len(parts) == 4 and parts[1] in ("orgs", "users"):
        found = next((i for i in mine if i.account.login.lower() == parts[2].lower()), None)
    return not_found() if found is None else Response.json(200, installation_shape(found, base_url))


def installation_repositories(
    request: Request, installation: Installation, repos: list[Repository], base_url: str,
    link: str,
) -> Response:  # fmt: skip
    """``GET /installation/repositories``: ``{total_count, repositories}``, paged."""
    covered = sorted((r for r in repos if installation.covers(r)), key=lambda r: r.github_id)
    page = paged(request, covered, link, lambda r: shapes.repository(r, base_url))
    listed = json.loads(page.body) if page.status == 200 and page.body else []
    body = {"total_count": len(covered),
            "repository_selection": installation_shape(installation, base_url)[
                "repository_selection"], "repositories": listed}  # fmt: skip
    return Response.json(page.status, body, dict(page.headers))
