"""The JSON the simulated GitHub answers, in the shapes of GitHub's REST API (2022-11-28).

Each function builds one of GitHub's documented objects (``simple-user``,
``private-user``, ``label``, ``issue``, ``issue-comment``, ``repository``,
trimmed to the keys a client of these endpoints meets) from the records of
:mod:`autosolve.demo.github.state`. ``base_url`` is where the API answers;
web links (``html_url``) point at the same host without GitHub Enterprise's
``/api/v3``, as :func:`web_base` says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autosolve.demo.github.ids import account_id, node_id

if TYPE_CHECKING:
    from autosolve.demo.github.state import Account, Comment, Issue, Label, Repository

__all__ = [
    "authenticated_user",
    "comment",
    "issue",
    "label",
    "repository",
    "simple_user",
    "web_base",
]

API_PATH = "/api/v3"
"""Where GitHub Enterprise serves its API on the web host."""


def web_base(base_url: str) -> str:
    """The web host for an API at ``base_url`` (its ``/api/v3`` taken off)."""
    return base_url.removesuffix(API_PATH)


def simple_user(login: str, github_id: int, account_type: str, base_url: str) -> dict[str, Any]:
    """GitHub's ``simple-user``: how an author, an owner or a commenter is shown."""
    api = f"{base_url}/users/{login}"
    return {
        "login": login,
        "id": github_id,
        "node_id": node_id(account_type, github_id),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{github_id}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{web_base(base_url)}/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": account_type,
        "site_admin": False,
    }


def account(entity: Account, base_url: str) -> dict[str, Any]:
    """An account as a ``simple-user``."""
    return simple_user(entity.login, entity.github_id, entity.type, base_url)


def authenticated_user(entity: Account, base_url: str, created_at: str) -> dict[str, Any]:
    """``GET /user``: the token's account with its public profile (a ``private-user``)."""
    return {
        **account(entity, base_url),
        "name": entity.login,
        "company": None,
        "blog": "",
        "location": None,
        "email": None,
        "hireable": None,
        "bio": None,
        "twitter_username": None,
        "public_repos": 0,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": created_at,
        "updated_at": created_at,
    }


def label(entity: Label, repo: Repository, base_url: str) -> dict[str, Any]:
    """GitHub's ``label``."""
    return {
        "id": entity.github_id,
        "node_id": node_id("Label", entity.github_id),
        "url": f"{base_url}/repos/{repo.full_name}/labels/{entity.name}",
        "name": entity.name,
        "color": entity.color,
        "default": entity.default,
        "description": entity.description,
    }


def _author(login: str, account_type: str, base_url: str) -> dict[str, Any]:
    return simple_user(login, account_id(login), account_type, base_url)


def issue(entity: Issue, repo: Repository, base_url: str) -> dict[str, Any]:
    """GitHub's ``issue`` as the issue listing answers it (pull requests included)."""
    api = f"{base_url}/repos/{repo.full_name}/issues/{entity.number}"
    html = f"{web_base(base_url)}/{repo.full_name}/issues/{entity.number}"
    data: dict[str, Any] = {
        "url": api,
        "repository_url": f"{base_url}/repos/{repo.full_name}",
        "labels_url": f"{api}/labels{{/name}}",
        "comments_url": f"{api}/comments",
        "events_url": f"{api}/events",
        "timeline_url": f"{api}/timeline",
        "html_url": html,
        "id": entity.github_id,
        "node_id": node_id("Issue", entity.github_id),
        "number": entity.number,
        "title": entity.title,
        "user": _author(entity.author, entity.author_type, base_url),
        "labels": [label(repo.label_for(name), repo, base_url) for name in entity.labels],
        "state": entity.state,
        "state_reason": "completed" if entity.state == "closed" else None,
        "locked": False,
        "active_lock_reason": None,
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": len(entity.comments),
        "created_at": entity.created_at,
        "updated_at": entity.updated_at,
        "closed_at": entity.updated_at if entity.state == "closed" else None,
        "author_association": repo.association(entity.author),
        "performed_via_github_app": None,
        "reactions": _no_reactions(api),
        "body": entity.body,
    }
    if entity.pull_request:
        pulls = f"{base_url}/repos/{repo.full_name}/pulls/{entity.number}"
        data["pull_request"] = {
            "url": pulls,
            "html_url": f"{web_base(base_url)}/{repo.full_name}/pull/{entity.number}",
            "diff_url": f"{web_base(base_url)}/{repo.full_name}/pull/{entity.number}.diff",
            "patch_url": f"{web_base(base_url)}/{repo.full_name}/pull/{entity.number}.patch",
            "merged_at": None,
        }
    return data


def comment(entity: Comment, repo: Repository | None, base_url: str) -> dict[str, Any]:
    """GitHub's ``issue-comment``."""
    data: dict[str, Any] = {
        "id": entity.github_id,
        "node_id": node_id("IssueComment", entity.github_id),
        "body": entity.body,
        "user": _author(entity.user, entity.user_type, base_url),
        "created_at": entity.created_at,
        "updated_at": entity.updated_at or entity.created_at,
        "author_association": entity.association,
        "performed_via_github_app": None,
    }
    if repo is not None:
        api = f"{base_url}/repos/{repo.full_name}/issues/comments/{entity.github_id}"
        html = f"{web_base(base_url)}/{repo.full_name}/issues/{entity.issue_number}"
        data["url"] = api
        data["html_url"] = f"{html}#issuecomment-{entity.github_id}"
        data["issue_url"] = f"{base_url}/repos/{repo.full_name}/issues/{entity.issue_number}"
        data["reactions"] = _no_reactions(api)
    return data


def _no_reactions(api: str) -> dict[str, Any]:
    """GitHub's ``reaction-rollup`` of something nobody reacted to."""
    kinds = ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes")
    return {"url": f"{api}/reactions", "total_count": 0, **dict.fromkeys(kinds, 0)}


def repository(entity: Repository, base_url: str) -> dict[str, Any]:
    """GitHub's ``full-repository``, trimmed to the keys clients commonly read."""
    api = f"{base_url}/repos/{entity.full_name}"
    return {
        "id": entity.github_id,
        "node_id": node_id("Repository", entity.github_id),
        "name": entity.name,
        "full_name": entity.full_name,
        "private": False,
        "owner": account(entity.owner, base_url),
        "html_url": f"{web_base(base_url)}/{entity.full_name}",
        "description": None,
        "fork": False,
        "url": api,
        "issues_url": f"{api}/issues{{/number}}",
        "labels_url": f"{api}/labels{{/name}}",
        "has_issues": True,
        "archived": entity.archived,
        "disabled": entity.disabled,
        "visibility": "public",
        "default_branch": "main",
        "open_issues_count": sum(i.state == "open" for i in entity.issues.values()),
    }
