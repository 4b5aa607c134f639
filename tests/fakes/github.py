"""A stateful fake of the GitHub REST endpoints autosolve uses.

It behaves like the real thing where the daemon's correctness depends on it:
``sort=updated&direction=asc`` ordering, the ``since`` filter (``updated_at >=
since``), page-number pagination computed at request time with absolute
``Link: rel="next"`` URLs (so an issue edited while a client pages moves to the
end and can make page-number paging skip items, exactly as on github.com),
pull requests mixed into the issue list, weak ETags with 304s, commenting
bumping the issue's ``updated_at``, comment editing (``PATCH``), authors with
an account type (``User``, ``Bot``), 422 ``Validation Failed`` with GitHub's
``errors[]`` (a comment body over 65,536 characters), 401 for a wrong token
and 404 for unknown repositories and issues.

Timestamps come from a counter clock (one ``step`` per change, whole seconds
by default; ``fraction_digits`` > 0 writes fractional seconds, which GitHub's
schema allows), so tests control ordering exactly.

Example::

    with FakeGitHub() as gh:
        gh.add_repo("octo", "hello")
        gh.add_issue("octo", "hello", title="Crash on start")
        client = GitHubClient(gh.url, gh.token, timeout=5)
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from requests import PreparedRequest, Session
from requests import Response as ResponseType
from requests.adapters import HTTPAdapter

from tests.fakes import FakeHTTPServer, Fault, RequestRecord, Response
from tests.fakes.limits import GitHubLimits

__all__ = ["FakeComment", "FakeGitHub", "FakeIssue", "FakeRepo", "iso_now", "route_to"]

DOCS = "https://docs.github.com/rest"
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)


COMMENT_LIMIT = 65536
"""GitHub's longest comment body, in characters."""


def _iso(moment: datetime, fraction_digits: int = 0) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if fraction_digits:
        text += f".{moment.microsecond:06d}"[: fraction_digits + 1]
    return text + "Z"


def iso_now(offset: float = 0.0) -> str:
    """The wall-clock time (plus ``offset`` seconds) as GitHub writes it, whole seconds up."""
    moment = datetime.now(UTC) + timedelta(seconds=offset)
    return _iso(moment.replace(microsecond=0) + timedelta(seconds=1))


def _parse_iso(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class FakeComment:
    github_id: int
    body: str
    user: str = "someone"
    created_at: str = ""
    updated_at: str = ""

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.github_id,
            "node_id": f"IC_{self.github_id}",
            "body": self.body,
            "user": {"login": self.user, "id": 1, "type": "User"},
            "created_at": self.created_at,
            "updated_at": self.updated_at or self.created_at,
            "author_association": "NONE",
        }


@dataclass
class FakeIssue:
    github_id: int
    number: int
    title: str
    body: str | None
    state: str
    labels: list[str]
    pull_request: bool
    created_at: str
    updated_at: str
    comments: list[FakeComment] = field(default_factory=list)
    author: str = "reporter"
    author_type: str = "User"

    def payload(self, repo: FakeRepo, base_url: str) -> dict[str, Any]:
        api = f"{base_url}/repos/{repo.owner}/{repo.name}/issues/{self.number}"
        data: dict[str, Any] = {
            "id": self.github_id,
            "node_id": f"I_{self.github_id}",
            "url": api,
            "comments_url": f"{api}/comments",
            "number": self.number,
            "title": self.title,
            "body": self.body,
            "state": self.state,
            "user": {"login": self.author, "id": 7, "type": self.author_type},
            "labels": [
                {"id": 100 + i, "name": name, "color": "ededed", "default": False}
                for i, name in enumerate(self.labels)
            ],
            "comments": len(self.comments),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "closed_at": self.updated_at if self.state == "closed" else None,
            "author_association": "NONE",
        }
        if self.pull_request:
            data["pull_request"] = {
                "url": f"{base_url}/repos/{repo.owner}/{repo.name}/pulls/{self.number}"
            }
        return data


@dataclass
class FakeRepo:
    github_id: int
    owner: str
    name: str
    issues: dict[int, FakeIssue] = field(default_factory=dict)
    next_number: int = 1

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def payload(self, base_url: str) -> dict[str, Any]:
        return {
            "id": self.github_id,
            "node_id": f"R_{self.github_id}",
            "name": self.name,
            "full_name": self.full_name,
            "private": False,
            "owner": {"login": self.owner, "id": 1, "type": "Organization"},
            "url": f"{base_url}/repos/{self.full_name}",
            "has_issues": True,
            "open_issues_count": sum(i.state == "open" for i in self.issues.values()),
        }


_ROUTES = [
    ("repo", re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)/?$")),
    ("issues", re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)/issues/?$")),
    ("issue", re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)/issues/(?P<number>\d+)/?$")),
    (
        "comments",
        re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)/issues/(?P<number>\d+)/comments/?$"),
    ),
    (
        "comment",
        re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)/issues/comments/(?P<comment>\d+)/?$"),
    ),
]


def _match_route(path: str) -> tuple[str, dict[str, str]] | None:
    for kind, pattern in _ROUTES:
        match = pattern.match(path)
        if match:
            return kind, match.groupdict()
    return None


class FakeGitHub(FakeHTTPServer):
    """Fake ``api.github.com`` on loopback. All state changes go through one lock.

    ``token=None`` disables the Authorization check. ``step`` and
    ``fraction_digits`` shape the counter clock's timestamps (see the module).
    """

    fault_kinds = (
        "self_next",
        "rate_limit",
        "retry_after",
        "secondary",
        "server_error",
        "drop",
        "malformed",
        "status",
    )

    def __init__(
        self,
        token: str | None = "test-token",
        *,
        step: timedelta = timedelta(seconds=1),
        fraction_digits: int = 0,
    ) -> None:
        super().__init__()
        self.token = token
        self._repos: dict[tuple[str, str], FakeRepo] = {}
        self._next_id = 1000
        self._clock = EPOCH
        self._step = step
        self._fraction_digits = fraction_digits
        self.link_base: str | None = None
        """Base URL written into ``Link`` headers (default: :attr:`url`); see :func:`route_to`."""

    # -- state (thread-safe) -------------------------------------------------

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _tick(self) -> str:
        self._clock += self._step
        return _iso(self._clock, self._fraction_digits)

    def _observe(self, stamp: str) -> None:
        """Keep the counter clock ahead of explicitly given timestamps."""
        self._clock = max(self._clock, _parse_iso(stamp))

    def add_repo(self, owner: str, name: str) -> FakeRepo:
        with self._lock:
            key = (owner.lower(), name.lower())
            if key in self._repos:
                raise ValueError(f"repository {owner}/{name} already exists")
            repo = FakeRepo(self._new_id(), owner, name)
            self._repos[key] = repo
            return repo

    def repo(self, owner: str, name: str) -> FakeRepo:
        with self._lock:
            return self._repos[(owner.lower(), name.lower())]

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
    ) -> FakeIssue:
        """Open an issue; ``created_at`` (e.g. :func:`iso_now`) moves the clock there."""
        with self._lock:
            repo = self.repo(owner, name)
            if created_at is not None:
                self._observe(created_at)
                created = created_at
            else:
                created = self._tick()
            if updated_at is not None:
                self._observe(updated_at)
            issue = FakeIssue(
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
            return issue

    def issue(self, owner: str, name: str, number: int) -> FakeIssue:
        with self._lock:
            return self.repo(owner, name).issues[number]

    def edit_issue(self, owner: str, name: str, number: int, **changes: Any) -> FakeIssue:
        """Change fields (title, body, state, labels, ...) and bump ``updated_at``."""
        with self._lock:
            issue = self.issue(owner, name, number)
            for key, value in changes.items():
                if not hasattr(issue, key) or key in ("github_id", "number", "comments"):
                    raise ValueError(f"cannot edit issue field {key!r}")
                setattr(issue, key, list(value) if key == "labels" else value)
            if "updated_at" in changes:
                self._observe(changes["updated_at"])
            else:
                issue.updated_at = self._tick()
            return issue

    def comments(self, owner: str, name: str, number: int) -> list[FakeComment]:
        with self._lock:
            return list(self.issue(owner, name, number).comments)

    def add_comment(
        self, owner: str, name: str, number: int, body: str, user: str = "someone"
    ) -> FakeComment:
        """Comment like a user would; like GitHub, this bumps the issue's ``updated_at``."""
        with self._lock:
            issue = self.issue(owner, name, number)
            stamp = self._tick()
            comment = FakeComment(self._new_id(), body, user, stamp)
            issue.comments.append(comment)
            issue.updated_at = stamp
            return comment

    def marker_comments(self, owner: str, name: str, number: int, marker: str) -> list[str]:
        """Bodies of the issue's comments that contain ``marker``."""
        return [c.body for c in self.comments(owner, name, number) if marker in c.body]

    # -- faults --------------------------------------------------------------

    def fault_response(self, fault: Fault, request: RequestRecord) -> Response:
        p = fault.params
        if fault.kind == "rate_limit":
            reset = int(p.get("reset", time.time() + 60))
            return Response.json(
                int(p.get("status", 403)),
                {"message": "API rate limit exceeded for user ID 1.", "documentation_url": DOCS},
                {
                    "x-ratelimit-limit": "5000",
                    "x-ratelimit-remaining": "0",
                    "x-ratelimit-used": "5000",
                    "x-ratelimit-reset": str(reset),
                    "x-ratelimit-resource": "core",
                },
            )
        if fault.kind == "retry_after":
            return Response.json(
                int(p.get("status", 429)),
                {"message": "Too many requests", "documentation_url": DOCS},
                {"retry-after": str(p.get("seconds", 30))},
            )
        if fault.kind == "secondary":
            return Response.json(
                int(p.get("status", 403)), {"message": SECONDARY_MESSAGE, "documentation_url": DOCS}
            )
        if fault.kind == "server_error":
            status = int(p.get("status", 500))
            return Response.json(status, {"message": "Server Error"})
        if fault.kind == "self_next":
            # A proxy or a broken server: the page is right, its next link points to
            # itself (or to ``url=``, a page read before).
            response = self.route(request)
            url = f"{self.url}{request.path}"
            if request.query:
                url += f"?{urlencode(request.query)}"
            response.headers["Link"] = f'<{p.get("url", url)}>; rel="next"'
            return response
        if fault.kind == "malformed":
            if "raw" in p:
                return Response(200, p["raw"], {"Content-Type": "application/json"})
            return Response.json(200, p.get("body", {"unexpected": "shape"}))
        return super().fault_response(fault, request)

    # -- serving -------------------------------------------------------------

    limits: GitHubLimits | None = None
    """Set to enforce GitHub's secondary rate limits (see :mod:`tests.fakes.limits`)."""

    def _respond(self, record: RequestRecord) -> Response:
        if self.limits is None:
            return super()._respond(record)
        with self.limits.admit(record) as refusal:
            return refusal if refusal is not None else super()._respond(record)

    def route(self, request: RequestRecord) -> Response:
        if self.token is not None and request.headers.get("Authorization") != (
            f"Bearer {self.token}"
        ):
            return Response.json(401, {"message": "Bad credentials", "documentation_url": DOCS})
        if request.path == "/user" and request.method == "GET":
            return Response.json(200, {"login": "autosolve-test", "type": "User"})
        found = _match_route(request.path)
        if found is None:
            return self._not_found()
        kind, args = found
        with self._lock:
            repo = self._repos.get((args["owner"].lower(), args["name"].lower()))
            if repo is None:
                return self._not_found()
            if kind == "comment" and request.method == "PATCH":
                return self._edit_comment(request, repo, int(args["comment"]))
            if kind == "repo" and request.method == "GET":
                return self._get(request, repo.payload(self.url))
            if kind == "issues" and request.method == "GET":
                return self._list_issues(request, repo)
            issue = repo.issues.get(int(args.get("number") or 0))
            if issue is None:
                return self._not_found()
            if kind == "issue" and request.method == "GET":
                return self._get(request, issue.payload(repo, self.url))
            if kind == "comments" and request.method == "GET":
                items = [c.payload() for c in issue.comments]
                return self._paged(request, items, default_per_page=30)
            if kind == "comments" and request.method == "POST":
                return self._create_comment(request, issue)
        return self._not_found()

    @staticmethod
    def _not_found() -> Response:
        return Response.json(404, {"message": "Not Found", "documentation_url": DOCS})

    @staticmethod
    def _validation_failed(message: str | dict[str, str]) -> Response:
        return Response.json(
            422, {"message": "Validation Failed", "errors": [message], "documentation_url": DOCS}
        )

    def _comment_body(self, request: RequestRecord) -> str | Response:
        """The ``body`` of a comment request, or the error GitHub would answer."""
        try:
            data = request.json()
        except ValueError:
            return Response.json(400, {"message": "Problems parsing JSON"})
        if not isinstance(data, dict) or not isinstance(data.get("body"), str):
            return self._validation_failed("body is required and must be a string")
        if len(data["body"]) > COMMENT_LIMIT:
            return self._validation_failed(
                {"resource": "IssueComment", "code": "custom", "field": "body",
                 "message": f"body is too long (maximum is {COMMENT_LIMIT} characters)"}
            )  # fmt: skip
        return data["body"]

    def _edit_comment(self, request: RequestRecord, repo: FakeRepo, comment_id: int) -> Response:
        comment = next(
            (c for i in repo.issues.values() for c in i.comments if c.github_id == comment_id),
            None,
        )
        if comment is None:
            return self._not_found()
        body = self._comment_body(request)
        if isinstance(body, Response):
            return body
        comment.body = body
        comment.updated_at = self._tick()
        return Response.json(200, comment.payload())

    def _get(
        self, request: RequestRecord, payload: Any, headers: dict[str, str] | None = None
    ) -> Response:
        """200 with a weak ETag of the body, or 304 when ``If-None-Match`` matches it."""
        body = json.dumps(payload).encode()
        etag = f'W/"{hashlib.sha1(body).hexdigest()}"'
        sent = request.headers.get("If-None-Match")
        if sent and etag in {tag.strip() for tag in sent.split(",")}:
            return Response(304, None, {"ETag": etag})
        return Response(
            200, body, {"Content-Type": "application/json", "ETag": etag, **(headers or {})}
        )

    def _list_issues(self, request: RequestRecord, repo: FakeRepo) -> Response:
        q = request.query
        state = q.get("state", "open")
        if state not in ("open", "closed", "all"):
            return self._validation_failed(f"invalid state {state!r}")
        sort = q.get("sort", "created")
        if sort not in ("created", "updated"):
            return self._validation_failed(f"unsupported sort {sort!r}")
        direction = q.get("direction", "desc")
        issues = [i for i in repo.issues.values() if state == "all" or i.state == state]
        if "since" in q:
            try:
                since = _parse_iso(q["since"])
            except ValueError:
                return self._validation_failed(f"invalid since {q['since']!r}")
            issues = [i for i in issues if _parse_iso(i.updated_at) >= since]
        issues.sort(
            key=lambda i: (_parse_iso(getattr(i, f"{sort}_at")), i.github_id),
            reverse=direction == "desc",
        )
        items = [i.payload(repo, self.url) for i in issues]
        return self._paged(request, items, default_per_page=30)

    def _paged(self, request: RequestRecord, items: list[Any], default_per_page: int) -> Response:
        """Page-number pagination computed now, with absolute ``Link`` URLs like GitHub's."""
        try:
            per_page = min(max(int(request.query.get("per_page", default_per_page)), 1), 100)
        except ValueError:
            per_page = default_per_page
        try:
            page = max(int(request.query.get("page", 1)), 1)
        except ValueError:
            page = 1
        start = (page - 1) * per_page
        chunk = items[start : start + per_page]
        last = max((len(items) + per_page - 1) // per_page, 1)
        links = []
        if page < last:
            links.append(f'<{self._page_url(request, page + 1)}>; rel="next"')
            links.append(f'<{self._page_url(request, last)}>; rel="last"')
        if page > 1:
            links.append(f'<{self._page_url(request, 1)}>; rel="first"')
            links.append(f'<{self._page_url(request, page - 1)}>; rel="prev"')
        headers = {"Link": ", ".join(links)} if links else {}
        return self._get(request, chunk, headers)

    def _page_url(self, request: RequestRecord, page: int) -> str:
        query = {**request.query, "page": str(page)}
        return f"{self.link_base or self.url}{request.path}?{urlencode(query)}"

    def _create_comment(self, request: RequestRecord, issue: FakeIssue) -> Response:
        body = self._comment_body(request)
        if isinstance(body, Response):
            return body
        stamp = self._tick()
        comment = FakeComment(self._new_id(), body, "autosolve-bot", stamp)
        issue.comments.append(comment)
        issue.updated_at = stamp
        return Response.json(201, comment.payload())


class _LoopbackAdapter(HTTPAdapter):
    """Sends requests for ``public`` to the fake instead, as a real HTTP request."""

    def __init__(self, public: str, fake: FakeGitHub) -> None:
        super().__init__()
        self._public = urlsplit(public)
        self._fake = fake

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> ResponseType:
        original = request.url or ""
        target = urlsplit(self._fake.url)
        request.url = (
            urlsplit(original)._replace(scheme=target.scheme, netloc=target.netloc).geturl()
        )
        response = super().send(request, *args, **kwargs)
        response.url = original  # what the client asked for, as if GitHub had answered
        request.url = original
        return response


def route_to(fake: FakeGitHub, public: str) -> Session:
    """A session that reaches ``fake`` when asked for ``public`` (``https://api.github.com``).

    The fake writes ``public`` into its ``Link`` headers, so a client configured
    with GitHub's real address (or a variant of it, ``:443``) talks to the fake
    over loopback, unchanged. Nothing leaves the machine: every request for
    ``public`` is re-addressed to the fake before it is sent.
    """
    parts = urlsplit(public)
    fake.link_base = f"{parts.scheme}://{parts.hostname}"
    session = Session()
    session.mount(f"{parts.scheme}://{parts.hostname}", _LoopbackAdapter(public, fake))
    return session
