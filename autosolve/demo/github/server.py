"""A stateful simulation of the GitHub REST endpoints autosolve uses, served on loopback.

It behaves like the real thing where a client's correctness depends on it:
``sort``/``direction`` ordering, the ``since`` filter (updated at or after),
page-number pagination computed at request time with absolute ``Link`` URLs,
pull requests mixed into the issue listing, weak ETags with 304s, a comment
bumping its issue's ``updated_at``, comment editing (``PATCH``), authors with
an account type (``User``, ``Bot``) and an ``author_association``, 422
``Validation Failed`` with GitHub's ``errors[]`` (a comment body over 65,536
characters), 401 for a wrong token, 404 for unknown repositories and issues,
and (when :attr:`SimulatedGitHub.limits` is set) GitHub's secondary rate
limits. Every answer carries a ``Date`` from the simulation's clock.

The endpoints (under ``api_path``, ``""`` by default; GitHub Enterprise's
is ``/api/v3``) are listed in :mod:`autosolve.demo.github.endpoints`.

With an ``api_path``, the other paths are a small web view of the
repositories (:mod:`autosolve.demo.github.web`), where an issue's page shows
its comments, so links to ``html_url`` lead somewhere.

Everything changes under one lock; the state API (``add_repo``,
``add_issue``, ``add_comment``...) is what the demo's world and the tests use
to act as GitHub's users would. Accounts, tokens and owners are explicit
(:mod:`autosolve.demo.github.state`), so apps, organisations and webhooks can
be added as more of the same.

Example::

    with SimulatedGitHub(token="secret") as github:
        github.add_repo("octo", "hello")
        github.add_issue("octo", "hello", title="Crash on start")
        client = GitHubClient(github.url, "secret", timeout=5)
"""

from __future__ import annotations

import itertools
from typing import Any

from autosolve.demo.clock import SimulationClock, parse_iso
from autosolve.demo.github import web
from autosolve.demo.github.answers import DOCS, bad_credentials, not_found
from autosolve.demo.github.apps import (
    App,
    Installation,
    Installations,
    as_app,
    installation_repositories,
    looks_like_jwt,
)
from autosolve.demo.github.endpoints import dispatch
from autosolve.demo.github.hooks import Hooks
from autosolve.demo.github.limits import GitHubLimits
from autosolve.demo.github.state import Account, Comment, Issue, Label, Repository
from autosolve.demo.server import LoopbackServer, Request, Response

__all__ = ["SimulatedGitHub"]


class SimulatedGitHub(LoopbackServer):
    """GitHub's REST API for a few repositories, in the process; see the module.

    Args:
        token: the token requests must carry (``Authorization: Bearer`` or
            ``token``); ``None`` lets every request in, as ``login``.
        login: the account the token belongs to (``GET /user``, the author
            of the comments posted through the API).
        clock: stamps every change and dates every answer (default: a
            counter from 2024-01-01, one second per change).
        api_path: where the API answers (``/api/v3`` puts a web view beside it).
        port: 0 picks a free one.
    """

    server_software = "GitHub.com"

    def __init__(
        self,
        token: str | None = None,
        *,
        login: str = "autosolve",
        clock: SimulationClock | None = None,
        api_path: str = "",
        port: int = 0,
    ) -> None:
        super().__init__(port)
        self.clock = clock or SimulationClock()
        """Stamps changes and dates answers."""
        self.api_path = api_path.rstrip("/")
        self.login = login
        self._accounts: dict[str, Account] = {}
        self._tokens: dict[str, str] = {}
        self._token: str | None = None
        self._repos: dict[tuple[str, str], Repository] = {}
        self._next_id = 1000
        self._label_ids = itertools.count(100)
        self.add_user(login)
        self.token = token
        self.link_base: str | None = None
        """Scheme and host written into ``Link`` URLs (default: :attr:`url`)."""
        self.hooks = Hooks()
        """Webhooks: every change is delivered to them (see :mod:`.hooks`)."""
        self.installations = Installations()
        """GitHub Apps, their installations and installation tokens (see :mod:`.apps`)."""
        self.limits: GitHubLimits | None = None
        """Set to enforce GitHub's secondary rate limits (see :mod:`.limits`)."""

    @property
    def api_url(self) -> str:
        """Where the API answers: what a client's ``api_url`` is set to."""
        return f"{self.url}{self.api_path}"

    # -- accounts ------------------------------------------------------------

    @property
    def token(self) -> str | None:
        """The token of :attr:`login`; setting it revokes the one before (a rotation).

        With no token at all, the Authorization check is off.
        """
        return self._token

    @token.setter
    def token(self, token: str | None) -> None:
        with self._lock:
            if self._token is not None:
                del self._tokens[self._token]
            self._token = token
            if token is not None:
                self.add_token(token, self.login)

    def add_user(self, login: str, account_type: str = "User") -> Account:
        """The account called ``login``, created with ``account_type`` when new."""
        with self._lock:
            key = login.lower()
            if key not in self._accounts:
                self._accounts[key] = Account(login, account_type)
            return self._accounts[key]

    def add_token(self, token: str, login: str) -> None:
        """Let ``token`` act as ``login`` (created as a user when new)."""
        with self._lock:
            self.add_user(login)
            self._tokens[token] = login.lower()

    def add_member(self, organization: str, login: str) -> None:
        """Make ``login`` a member of ``organization``: ``MEMBER`` on its repositories."""
        with self._lock:
            self.add_user(organization, "Organization").members.add(login.lower())
            self.add_user(login)

    def associate(self, owner: str, name: str, login: str, association: str) -> None:
        """Give ``login`` a role on one repository (``COLLABORATOR``, ``CONTRIBUTOR``)."""
        with self._lock:
            self.repo(owner, name).roles[login.lower()] = association

    # -- repositories, labels, issues, comments ------------------------------

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def add_repo(self, owner: str, name: str, *, owner_type: str = "Organization") -> Repository:
        """A new repository of ``owner`` (an account created with ``owner_type`` when new).

        Raises:
            ValueError: it exists already.
        """
        with self._lock:
            key = (owner.lower(), name.lower())
            if key in self._repos:
                raise ValueError(f"repository {owner}/{name} already exists")
            repo = Repository(self._new_id(), self.add_user(owner, owner_type), name)
            self._repos[key] = repo
            self._deliver_repository("created", repo)
            return repo

    def repo(self, owner: str, name: str) -> Repository:
        """Raises: KeyError: no such repository."""
        with self._lock:
            return self._repos[(owner.lower(), name.lower())]

    def find_account(self, login: str) -> Account | None:
        """The account called ``login``, if there is one."""
        with self._lock:
            return self._accounts.get(login.lower())

    def repositories_of(self, owner: str) -> list[Repository]:
        """``owner``'s repositories, oldest first (as GitHub lists them by default)."""
        with self._lock:
            wanted = owner.lower()
            owned = [r for r in self._repos.values() if r.owner.login.lower() == wanted]
            return sorted(owned, key=lambda r: r.github_id)

    def archive_repo(self, owner: str, name: str, *, archived: bool = True) -> Repository:
        """Archive (or unarchive) a repository: still listed, marked ``archived``."""
        with self._lock:
            repo = self.repo(owner, name)
            repo.archived = archived
            self._deliver_repository("archived" if archived else "unarchived", repo)
            return repo

    def delete_repo(self, owner: str, name: str) -> None:
        """The repository is gone: every endpoint of it answers 404.

        Raises:
            KeyError: no such repository.
        """
        with self._lock:
            repo = self._repos.pop((owner.lower(), name.lower()))
            self._deliver_repository("deleted", repo)

    def find_repo(self, owner: str, name: str) -> Repository | None:
        """The repository, or ``None`` when there is none of that name."""
        with self._lock:
            return self._repos.get((owner.lower(), name.lower()))

    def add_label(
        self, owner: str, name: str, label: str, color: str = "ededed", description: str = ""
    ) -> Label:
        """A label of the repository (the existing one when the name is taken)."""
        with self._lock:
            [found] = self.repo(owner, name).labels_named([label], self._label_ids)
            found.color, found.description = color, description or found.description
            return found

    def labels(self, owner: str, name: str) -> list[Label]:
        """The repository's labels, by name."""
        with self._lock:
            return sorted(self.repo(owner, name).labels.values(), key=lambda x: x.name.lower())

    def add_issue(
        self,
        owner: str,
        name: str,
        title: str = "An issue",
        body: str | None = "Something is wrong.",
        labels: tuple[str, ...] | list[str] = (),
        pull_request: bool = False,
        updated_at: str | None = None,
        state: str = "open",
        created_at: str | None = None,
        author: str = "reporter",
        author_type: str = "User",
    ) -> Issue:
        """Open an issue (or a pull request); ``created_at`` moves the clock there."""
        with self._lock:
            repo = self.repo(owner, name)
            if created_at is not None:
                self.clock.observe(created_at)
            created = created_at or self.clock.tick()
            if updated_at is not None:
                self.clock.observe(updated_at)
            repo.labels_named(labels, self._label_ids)
            issue = Issue(
                github_id=self._new_id(),
                number=repo.next_number,
                title=title,
                body=body,
                state=state,
                labels=list(labels),
                pull_request=pull_request,
                created_at=created,
                updated_at=updated_at or created,
                author=author,
                author_type=author_type,
            )
            repo.next_number += 1
            repo.issues[issue.number] = issue
            self._deliver_issue("issues", "opened", repo, issue)
            return issue

    def issue(self, owner: str, name: str, number: int) -> Issue:
        """Raises: KeyError: no such repository or issue."""
        with self._lock:
            return self.repo(owner, name).issues[number]

    def edit_issue(self, owner: str, name: str, number: int, **changes: Any) -> Issue:
        """Change fields (title, body, state, labels...) and bump ``updated_at``.

        Raises:
            ValueError: a field that does not exist or cannot change.
        """
        with self._lock:
            issue = self.issue(owner, name, number)
            for key, value in changes.items():
                if not hasattr(issue, key) or key in ("github_id", "number", "comments"):
                    raise ValueError(f"cannot edit issue field {key!r}")
                setattr(issue, key, list(value) if key == "labels" else value)
            self.repo(owner, name).labels_named(issue.labels, self._label_ids)
            if "updated_at" in changes:
                self.clock.observe(changes["updated_at"])
            else:
                issue.updated_at = self.clock.tick()
            self._deliver_issue("issues", _action(changes), self.repo(owner, name), issue)
            return issue

    def comments(self, owner: str, name: str, number: int) -> list[Comment]:
        with self._lock:
            return list(self.issue(owner, name, number).comments)

    def add_comment(
        self,
        owner: str,
        name: str,
        number: int,
        body: str,
        user: str = "someone",
        *,
        user_type: str = "User",
        created_at: str | None = None,
    ) -> Comment:
        """Comment as ``user`` would; like GitHub, this bumps the issue's ``updated_at``.

        ``created_at`` dates a comment of the past (a history); the issue's
        ``updated_at`` then moves to it only if it is later.
        """
        with self._lock:
            repo = self.repo(owner, name)
            self.add_user(user, user_type)
            issue = repo.issues[number]
            if created_at is not None:
                self.clock.observe(created_at)
            stamp = created_at or self.clock.tick()
            comment = Comment(
                github_id=self._new_id(),
                body=body,
                user=user,
                created_at=stamp,
                updated_at=stamp,
                issue_number=number,
                user_type=user_type,
                association=repo.association(user),
            )
            issue.comments.append(comment)
            issue.updated_at = max(issue.updated_at, stamp, key=parse_iso)
            self._deliver_issue("issue_comment", "created", repo, issue, comment=comment)
            return comment

    def add_labels(self, owner: str, name: str, number: int, names: list[str]) -> list[Label]:
        """Add labels to an issue (creating unknown ones); returns all of its labels.

        The issue's ``updated_at`` moves only when a label was new to it.
        """
        with self._lock:
            repo = self.repo(owner, name)
            issue = repo.issues[number]
            have = {label.lower() for label in issue.labels}
            for label in repo.labels_named(names, self._label_ids):
                if label.name.lower() not in have:
                    issue.labels.append(label.name)
                    have.add(label.name.lower())
                    issue.updated_at = self.clock.tick()
            return [repo.label_for(label) for label in issue.labels]

    def marker_comments(self, owner: str, name: str, number: int, marker: str) -> list[str]:
        """Bodies of the issue's comments that contain ``marker``."""
        return [c.body for c in self.comments(owner, name, number) if marker in c.body]

    # -- webhooks ------------------------------------------------------------

    def _deliver_issue(
        self,
        event: str,
        action: str,
        repo: Repository,
        issue: Issue,
        comment: Comment | None = None,
    ) -> None:
        """An ``issues`` or ``issue_comment`` delivery, as GitHub shapes it."""
        if not self.hooks.active:
            return
        payload: dict[str, Any] = {"action": action, "issue": issue.payload(repo, self.api_url)}
        if comment is not None:
            payload["comment"] = comment.payload(repo, self.api_url)
        self._deliver(event, payload, repo, comment.user if comment else issue.author)

    def _deliver_repository(self, action: str, repo: Repository) -> None:
        if not self.hooks.active:
            return
        self._deliver("repository", {"action": action}, repo, repo.owner.login)

    def _deliver(self, event: str, payload: dict[str, Any], repo: Repository, sender: str) -> None:
        from autosolve.demo.github import shapes

        author = self.add_user(sender)
        payload.update(
            repository=shapes.repository(repo, self.api_url),
            sender=shapes.account(author, self.api_url),
        )
        self.hooks.send(event, payload)

    # -- serving -------------------------------------------------------------

    def http_date(self) -> str:
        with self._lock:
            return self.clock.http_date()

    def respond(self, request: Request) -> Response | None:
        if self.limits is None:
            return super().respond(request)
        with self.limits.admit(request) as refusal:
            return refusal if refusal is not None else super().respond(request)

    def route(self, request: Request) -> Response:
        if not request.path.startswith(self.api_path):
            with self._lock:
                return web.page(request.path, self._repos, self.api_url)
        path = request.path[len(self.api_path) :]
        given = _bearer(request)
        with self._lock:
            if given and looks_like_jwt(given):
                app = self.installations.verify(given)
                if app is None:
                    return bad_credentials()
                return as_app(self.installations, app, request, path, self.api_url,
                              self.link_url, self.find_repo)  # fmt: skip
            installation = self.installations.installation_of(given) if given else None
            if installation is not None:
                return self._as_installation(installation, request, path)
        account = self._caller(request)
        if account is None:
            return bad_credentials()
        with self._lock:
            return dispatch(self, request, path, account)

    # -- GitHub Apps ---------------------------------------------------------

    def add_app(self, app_id: int, slug: str, public_key: str, owner: str = "octo") -> App:
        """A GitHub App whose JWTs the public key (PEM) verifies."""
        with self._lock:
            app = App(app_id, slug, public_key, self.add_user(owner, "Organization"))
            self.installations.apps[app_id] = app
            self.add_user(app.bot_login, "Bot")
            return app

    def install_app(
        self, app_id: int, account: str, repositories: list[str] | None = None
    ) -> Installation:
        """Install the App on ``account``: all its repositories, or only ``owner/name`` ones."""
        with self._lock:
            selected = None if repositories is None else [r.lower() for r in repositories]
            owner = self.add_user(account, "Organization")
            return self.installations.install(self.installations.apps[app_id], owner, selected)

    def revoke_installation_tokens(self, installation_id: int | None = None) -> int:
        """Revoke installation tokens (all of them: None): they answer 401 from now on."""
        with self._lock:
            return self.installations.revoke(installation_id)

    def _as_installation(self, installation: Installation, request: Request, path: str) -> Response:
        """An installation token: its repositories only, as the App's bot account."""
        if path.rstrip("/") == "/installation/repositories" and request.method == "GET":
            return installation_repositories(request, installation, list(self._repos.values()),
                                             self.api_url, self.link_url)  # fmt: skip
        parts = path.split("/")
        if len(parts) > 3 and parts[1] == "repos":
            repo = self.find_repo(parts[2], parts[3])
            if repo is None or not installation.covers(repo):
                return not_found()
        elif len(parts) > 2 and parts[1] == "orgs":
            if parts[2].lower() != installation.account.login.lower():
                return not_found()
        else:
            return Response.json(403, {"message": "Resource not accessible by integration",
                                       "documentation_url": DOCS})  # fmt: skip
        bot = self._accounts[installation.app.bot_login.lower()]
        return dispatch(self, request, path, bot)

    def _caller(self, request: Request) -> Account | None:
        """The account the request's token belongs to (anyone is the default one without)."""
        with self._lock:
            if not self._tokens:
                return self._accounts[self.login.lower()]
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() not in ("bearer", "token"):
                return None
            login = self._tokens.get(given.strip())
            return self._accounts[login] if login is not None else None

    @property
    def link_url(self) -> str:
        """Scheme and host of the ``Link`` URLs: :attr:`link_base`, else :attr:`url`."""
        return self.link_base or self.url


def _action(changes: dict[str, Any]) -> str:
    """The ``issues`` action an edit of these fields is delivered as."""
    state = changes.get("state")
    if state is not None:
        return "closed" if state == "closed" else "reopened"
    return "labeled" if set(changes) == {"labels"} else "edited"


def _bearer(request: Request) -> str:
    """The token of ``Authorization: Bearer`` (or ``token``), or ""."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return given.strip() if scheme.lower() in ("bearer", "token") else ""
