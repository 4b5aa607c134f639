"""``[github]`` and its tables: where GitHub is, who autosolve is there, what it watches.

Part of the declaration (see :mod:`autosolve.settings.sections`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from autosolve.settings.declare import Check, Values, section, setting
from autosolve.settings.environment import environment_variable
from autosolve.settings.limits import GITHUB_CONCURRENCY
from autosolve.settings.rules import (
    NON_NEGATIVE,
    as_tuple,
    at_least,
    at_least_one,
    between,
    http_url,
    once_each,
    one_of,
    organization,
    repository,
    repository_glob,
    seconds,
    since,
    strip,
    unique,
)
from autosolve.settings.schema import resolve_beside

__all__ = [
    "BudgetSettings",
    "GitHubAppSettings",
    "GitHubSettings",
    "IssuesSettings",
    "WebhookSettings",
    "private_key_secrets",
]

ISSUE_STATES = ("open", "closed")


def _private_key_problem(values: Values) -> str | None:
    if not values["id"]:
        return None
    if not values["private_key_file"]:
        return "required when github.app.id is set: the App's private key (a PEM file)"
    path = values.path("private_key_file")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        return f"cannot read {path}: {error.strerror or error}"
    if "-----BEGIN" not in text or "PRIVATE KEY-----" not in text:
        return f"{path} is not a PEM private key (-----BEGIN … PRIVATE KEY-----)"
    return None


def private_key_secrets(value: str, source: Path | None) -> list[str]:
    """The App's private key: the whole text, and each line of it (a partial leak)."""
    if not value:
        return []
    try:
        text = resolve_beside(source, value).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    lines = [line.strip() for line in text.splitlines()]
    return [text.strip(), *(line for line in lines if line and not line.startswith("-----"))]


@dataclass(frozen=True)
class GitHubAppSettings:
    """A GitHub App instead of a token (with github.token empty)

    The daemon signs a JWT with the App's private key and exchanges it for an
    installation token, renewed before it expires.
    """

    id: int = setting(0, NON_NEGATIVE, doc="0 = not used")
    private_key_file: str = setting(
        "", doc="PEM, relative to the settings file", secret=private_key_secrets
    )
    installation_id: int = setting(0, NON_NEGATIVE, doc="0 = every installation")

    checks: ClassVar[tuple[Check, ...]] = (
        Check(
            "private_key_file",
            ("id", "private_key_file"),
            _private_key_problem,
            "`private_key_file` names a readable PEM private key when `id` is set",
        ),
    )


@dataclass(frozen=True)
class WebhookSettings:
    """GitHub's deliveries on the HTTP endpoint, beside polling

    With a secret, ``POST /webhooks/github`` accepts deliveries signed with it;
    the pollers then only reconcile, at ``reconcile_interval``.
    """

    secret: str = setting("", doc='"" = off; on: POST /webhooks/github', secret=True, clean=strip)
    reconcile_interval: float = setting(
        600.0, *seconds(), doc="pollers' interval while deliveries arrive"
    )


@dataclass(frozen=True)
class BudgetSettings:
    """GitHub's secondary limits, kept with a margin

    One budget for every request of the daemon (of every daemon, when several
    share a PostgreSQL database): GitHub allows 900 points per minute, 100
    concurrent requests, 80 content-creating requests per minute and 500 per
    hour. Requests wait for room, fairly across repositories.
    """

    points_per_minute: int = setting(
        900,
        at_least(5, "a comment costs 5 points"),
        doc="in any 60 s window; GET = 1 point, POST/PATCH = 5",
    )
    concurrency: int = setting(
        20,
        between(1, GITHUB_CONCURRENCY),
        doc=f"requests in flight (GitHub allows {GITHUB_CONCURRENCY})",
    )
    writes_per_minute: int = setting(
        60, at_least(1), doc="content-creating requests (comments); GitHub allows 80"
    )
    writes_per_hour: int = setting(450, at_least(1), doc="GitHub allows 500")
    window: float = setting(
        60.0,
        *seconds(),
        doc='seconds in the budget\'s "minute" (its "hour" is 60 of them); leave it',
    )


@dataclass(frozen=True)
class IssuesSettings:
    """Which issues are analysed

    The local mirror keeps every issue; an issue is analysed only if it passes
    all of these, in this order.
    """

    required_label: str = setting("", doc='"" = no label required (else case-insensitive)')
    since: str = setting(
        "first-start",
        since,
        doc='"first-start" | "all" | ISO 8601 UTC time\n'
        "first-start: only issues opened after autosolve\n"
        "first validated the repository on this database",
    )
    states: tuple[str, ...] = setting(
        ("open",),
        at_least_one("state: open, closed"),
        each=(one_of(*ISSUE_STATES),),
        doc='states analysed: "open", "closed"',
        clean=once_each,
    )
    include_pull_requests: bool = setting(False, doc="pull requests are analysed too")
    skip_bots: bool = setting(True, doc="authors of type Bot or whose login ends in [bot]")
    reanalyze_on_edit: bool = setting(
        False, doc="a changed title/body edits autosolve's own comment"
    )


def _token_warning(values: Values) -> str | None:
    if values["token"] or values["app.id"]:
        return None
    return (
        "is empty: GitHub allows 60 anonymous requests per hour and no comments; "
        "set AUTOSOLVE_GITHUB__TOKEN (or a GitHub App: [github.app])"
    )


def _nothing_to_watch(values: Values) -> str | None:
    if values["repositories"] or values["organizations"] or values["app.id"]:
        return None
    return (
        "is empty and so is github.organizations: no repository is configured. "
        'List repositories under [github] (repositories = ["owner/name"]) or organisations '
        '(organizations = ["owner"]), or set '
        f"""{environment_variable("github.repositories")}='["owner/name"]'"""
    )


@dataclass(frozen=True)
class GitHubSettings:
    """Where GitHub is, who autosolve is there, and what it watches"""

    api_url: str = setting(
        "https://api.github.com",
        http_url,
        doc="GitHub Enterprise: https://HOST/api/v3",
        restart=True,
        clean=lambda url: url.rstrip("/"),
    )
    token: str = setting(
        "",
        doc="better: AUTOSOLVE_GITHUB__TOKEN; or use [github.app]",
        secret=True,
        clean=strip,
    )
    repositories: tuple[str, ...] = setting(
        (), unique, each=(repository,), clean=as_tuple,
        doc='"owner/name", e.g. ["octo/hello"]; or AUTOSOLVE_GITHUB__REPOSITORIES',
    )  # fmt: skip
    organizations: tuple[str, ...] = setting(
        (), unique, each=(organization,), doc="also every repository of these organisations",
        clean=as_tuple,
    )  # fmt: skip
    exclude: tuple[str, ...] = setting(
        (), each=(repository_glob,), doc="owner/name globs never watched", clean=as_tuple
    )
    timeout: float = setting(10.0, *seconds(), doc="seconds, per HTTP request")
    min_interval: float = setting(
        0.0, *seconds(NON_NEGATIVE), doc="seconds between requests, shared by all actors"
    )
    app: GitHubAppSettings = section(GitHubAppSettings, restart=True)
    webhooks: WebhookSettings = section(WebhookSettings)
    budget: BudgetSettings = section(BudgetSettings, restart=True)
    issues: IssuesSettings = section(IssuesSettings)

    checks: ClassVar[tuple[Check, ...]] = (
        Check(
            "token",
            ("token", "app.id"),
            _token_warning,
            "`token` is empty and no GitHub App is set",
            warning=True,
        ),
        Check(
            "repositories",
            ("repositories", "organizations", "app.id"),
            _nothing_to_watch,
            "`repositories` and `organizations` are empty and no GitHub App is set",
            warning=True,
        ),
    )
