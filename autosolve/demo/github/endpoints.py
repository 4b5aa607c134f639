"""The REST endpoints of the simulated GitHub: which path and method does what.

- ``GET /user`` — the token's account;
- ``GET /orgs/{org}/repos`` — the organisation's repositories (paged, oldest first);
- ``GET /repos/{o}/{r}`` — the repository;
- ``GET /repos/{o}/{r}/issues`` — issues and pull requests (``state``, ``sort``,
  ``direction``, ``since``, ``per_page``, ``page``);
- ``GET /repos/{o}/{r}/issues/{n}``;
- ``GET|POST /repos/{o}/{r}/issues/{n}/comments``;
- ``GET /repos/{o}/{r}/issues/comments`` — every comment of the repository
  (``sort``, ``direction``, ``since``, paged; by ascending id without ``sort``);
- ``GET|PATCH /repos/{o}/{r}/issues/comments/{id}``;
- ``GET /repos/{o}/{r}/labels`` (paged);
- ``GET|POST /repos/{o}/{r}/issues/{n}/labels`` — ``{"labels": [...]}`` adds
  labels, creating those the repository does not have yet, as GitHub does.

:data:`ENDPOINTS` maps a path pattern and a method to a handler; a handler
gets one :class:`Call` (the simulation, the request, the calling account and
the repository the path names) and returns GitHub's answer. Handlers run
under the simulation's lock. Adding an endpoint is one pattern, one handler
and one line in :data:`ENDPOINTS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from autosolve.demo.clock import EPOCH, format_iso
from autosolve.demo.github import answers, shapes
from autosolve.demo.github.answers import conditional, not_found, ordered, paged
from autosolve.demo.server import Request, Response

if TYPE_CHECKING:
    from autosolve.demo.github.server import SimulatedGitHub
    from autosolve.demo.github.state import Account, Issue, Repository

__all__ = ["ENDPOINTS", "Call", "dispatch"]

T = TypeVar("T")

COMMENT_LIMIT = 65536
"""GitHub's longest comment body, in characters (the simulation's own copy of GitHub's rule)."""


@dataclass
class Call:
    """One request to an endpoint, with what the path and the token name."""

    github: SimulatedGitHub
    request: Request
    account: Account
    """Whose token the request carries."""
    repo: Repository
    args: dict[str, str]
    """The path's parameters (``owner``, ``name``, ``number``, ``comment``)."""

    @property
    def issue(self) -> Issue:
        """The issue the path names (:func:`dispatch` answered 404 if there is none)."""
        return self.repo.issues[int(self.args["number"])]

    def listing(self, items: Sequence[T], shape: Callable[[T], Any]) -> Response:
        """The page of ``items`` the query asks for, each as ``shape`` answers it."""
        return paged(self.request, items, self.github.link_url, shape)


Handler = Callable[[Call], Response]

_REPO = r"^/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"
_PATTERNS = {
    "repo": re.compile(_REPO + r"/?$"),
    "issues": re.compile(_REPO + r"/issues/?$"),
    "issue": re.compile(_REPO + r"/issues/(?P<number>\d+)/?$"),
    "comments": re.compile(_REPO + r"/issues/(?P<number>\d+)/comments/?$"),
    "repo_comments": re.compile(_REPO + r"/issues/comments/?$"),
    "comment": re.compile(_REPO + r"/issues/comments/(?P<comment>\d+)/?$"),
    "labels": re.compile(_REPO + r"/labels/?$"),
    "issue_labels": re.compile(_REPO + r"/issues/(?P<number>\d+)/labels/?$"),
}


def authenticated_user(github: SimulatedGitHub, request: Request, account: Account) -> Response:
    """``GET /user``: the account the token belongs to."""
    return conditional(
        request, shapes.authenticated_user(account, github.api_url, format_iso(EPOCH))
    )


def organization_repositories(github: SimulatedGitHub, request: Request, login: str) -> Response:
    """``GET /orgs/{org}/repos``: 404 unless ``login`` is an organisation."""
    organization = github.find_account(login)
    if organization is None or organization.type != "Organization":
        return not_found()
    listed = github.repositories_of(organization.login)
    return paged(request, listed, github.link_url, lambda r: shapes.repository(r, github.api_url))


_ORGANIZATION_REPOS = re.compile(r"^/orgs/(?P<org>[^/]+)/repos/?$")


def dispatch(github: SimulatedGitHub, request: Request, path: str, account: Account) -> Response:
    """The answer of the endpoint at ``path`` (under the API path), or GitHub's 404."""
    if path.rstrip("/") == "/user" and request.method == "GET":
        return authenticated_user(github, request, account)
    organization = _ORGANIZATION_REPOS.match(path)
    if organization is not None and request.method == "GET":
        return organization_repositories(github, request, organization["org"])
    for kind, pattern in _PATTERNS.items():
        match = pattern.match(path)
        if match is None:
            continue
        handler = ENDPOINTS.get((kind, request.method))
        repo = github.find_repo(match["owner"], match["name"])
        if handler is None or repo is None or _missing_issue(repo, match.groupdict()):
            return not_found()
        return handler(Call(github, request, account, repo, match.groupdict()))
    return not_found()


def _missing_issue(repo: Repository, args: dict[str, str]) -> bool:
    """Whether the path names an issue the repository does not have."""
    return "number" in args and int(args["number"]) not in repo.issues


# -- repositories and issues -----------------------------------------------------


def get_repository(call: Call) -> Response:
    return conditional(call.request, call.repo.payload(call.github.api_url))


def list_issues(call: Call) -> Response:
    state = call.request.query.get("state", "open")
    if state not in ("open", "closed", "all"):
        return answers.validation_failed(f"invalid state {state!r}")
    chosen = [i for i in call.repo.issues.values() if state == "all" or i.state == state]
    listed = ordered(call.request, chosen, default_direction="desc")
    if isinstance(listed, Response):
        return listed
    return call.listing(listed, lambda i: i.payload(call.repo, call.github.api_url))


def get_issue(call: Call) -> Response:
    issue = call.issue
    return conditional(call.request, issue.payload(call.repo, call.github.api_url))


# -- comments --------------------------------------------------------------------


def list_issue_comments(call: Call) -> Response:
    issue = call.issue
    return call.listing(issue.comments, lambda c: c.payload(call.repo, call.github.api_url))


def create_comment(call: Call) -> Response:
    issue = call.issue
    body = _comment_body(call.request)
    if isinstance(body, Response):
        return body
    account, repo = call.account, call.repo
    comment = call.github.add_comment(
        repo.owner.login, repo.name, issue.number, body, account.login, user_type=account.type
    )
    return Response.json(201, comment.payload(repo, call.github.api_url))


def list_repository_comments(call: Call) -> Response:
    # Without `sort`, GitHub lists a repository's comments by ascending id.
    listed = ordered(call.request, list(call.repo.all_comments()), default_direction="asc")
    if isinstance(listed, Response):
        return listed
    return call.listing(listed, lambda c: c.payload(call.repo, call.github.api_url))


def get_comment(call: Call) -> Response:
    found = call.repo.find_comment(int(call.args["comment"]))
    if found is None:
        return not_found()
    return conditional(call.request, found[1].payload(call.repo, call.github.api_url))


def edit_comment(call: Call) -> Response:
    found = call.repo.find_comment(int(call.args["comment"]))
    if found is None:
        return not_found()
    body = _comment_body(call.request)
    if isinstance(body, Response):
        return body
    comment = found[1]
    comment.body = body
    comment.updated_at = call.github.clock.tick()
    return Response.json(200, comment.payload(call.repo, call.github.api_url))


def _comment_body(request: Request) -> str | Response:
    """The ``body`` of a comment request, or the error GitHub would answer."""
    try:
        data = request.json()
    except ValueError:
        return answers.unparsable()
    if not isinstance(data, dict) or not isinstance(data.get("body"), str):
        return answers.validation_failed("body is required and must be a string")
    body: str = data["body"]
    if len(body) > COMMENT_LIMIT:
        return answers.validation_failed(
            {"resource": "IssueComment", "code": "custom", "field": "body",
             "message": f"body is too long (maximum is {COMMENT_LIMIT} characters)"}
        )  # fmt: skip
    return body


# -- labels ----------------------------------------------------------------------


def list_labels(call: Call) -> Response:
    listed = sorted(call.repo.labels.values(), key=lambda label: label.name.lower())
    return call.listing(listed, lambda label: shapes.label(label, call.repo, call.github.api_url))


def list_issue_labels(call: Call) -> Response:
    issue = call.issue
    labels = [call.repo.label_for(name) for name in issue.labels]
    return call.listing(labels, lambda label: shapes.label(label, call.repo, call.github.api_url))


def add_labels(call: Call) -> Response:
    """``POST .../issues/{n}/labels``: the issue's labels afterwards (unknown ones created)."""
    issue = call.issue
    names = _label_names(call.request)
    if isinstance(names, Response):
        return names
    repo = call.repo
    labels = call.github.add_labels(repo.owner.login, repo.name, issue.number, names)
    return Response.json(200, [shapes.label(label, repo, call.github.api_url) for label in labels])


def _label_names(request: Request) -> list[str] | Response:
    """The names of an "add labels" request: ``{"labels": [...]}`` or a bare list.

    GitHub takes names or ``{"name": ...}`` objects; anything else is 422.
    """
    try:
        data = request.json()
    except ValueError:
        return answers.unparsable()
    labels = data.get("labels") if isinstance(data, dict) else data
    if not isinstance(labels, list):
        return answers.invalid_request("labels must be an array")
    names = [item.get("name") if isinstance(item, dict) else item for item in labels]
    kept = [name.strip() for name in names if isinstance(name, str) and name.strip()]
    if len(kept) != len(names):
        return answers.invalid_request("each label must be a non-empty string or have a name")
    return kept


ENDPOINTS: dict[tuple[str, str], Handler] = {
    ("repo", "GET"): get_repository,
    ("issues", "GET"): list_issues,
    ("issue", "GET"): get_issue,
    ("comments", "GET"): list_issue_comments,
    ("comments", "POST"): create_comment,
    ("repo_comments", "GET"): list_repository_comments,
    ("comment", "GET"): get_comment,
    ("comment", "PATCH"): edit_comment,
    ("labels", "GET"): list_labels,
    ("issue_labels", "GET"): list_issue_labels,
    ("issue_labels", "POST"): add_labels,
}
"""(path pattern, method) → handler; anything else is GitHub's 404."""
