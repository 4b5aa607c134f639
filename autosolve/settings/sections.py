"""Every setting, declared once: one frozen dataclass per ``settings.toml`` table.

Each field is a key: its default, its rules, its doc line, and whether a
running daemon needs a restart to change it (see
:mod:`autosolve.settings.declare`). The schema, the shipped
``settings.toml``, ``docs/configuration.md``, the reload's "needs a restart"
list and the secrets to mask are all derived from here.

The order of the fields is the order of the file: a section's own keys first,
then its nested tables.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from autosolve.runtime import Backend, Policies
from autosolve.settings.address import is_loopback, parse_listen
from autosolve.settings.declare import Check, Values, section, setting
from autosolve.settings.intervals import TaskIntervals
from autosolve.settings.limits import GITHUB_COMMENT_LIMIT, GITHUB_CONCURRENCY, MAX_CONCURRENCY
from autosolve.settings.policies import POLICIES
from autosolve.settings.rules import (
    NON_NEGATIVE,
    NOT_EMPTY,
    at_least,
    at_least_one,
    between,
    command_word,
    database_url,
    http_url,
    listen,
    node_name,
    one_of,
    organization,
    repository,
    repository_glob,
    seconds,
    since,
    unique,
)
from autosolve.settings.schema import resolve_beside
from autosolve.settings.template import TemplateError, read_template

__all__ = [
    "AnalysisSettings",
    "BudgetSettings",
    "ClusterSettings",
    "ControlSettings",
    "DatabaseSettings",
    "GitHubAppSettings",
    "GitHubSettings",
    "HttpSettings",
    "IssuesSettings",
    "LabelSettings",
    "LogSettings",
    "ModelSettings",
    "OllamaSettings",
    "OpenAISettings",
    "QueueSettings",
    "RuntimeSettings",
    "Settings",
    "WebhookSettings",
]

ISSUE_STATES = ("open", "closed")
PROVIDERS = ("ollama", "openai")


def _strip(value: str) -> str:
    """`echo ghp_... > secret` leaves a newline no header can carry."""
    return value.strip()


def _tuple(values: Any) -> tuple[Any, ...]:
    return tuple(values)


def _once_each(values: Any) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(values))


# -- [github] and its tables ---------------------------------------------------------------


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

    secret: str = setting("", doc='"" = off; on: POST /webhooks/github', secret=True, clean=_strip)
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
        clean=_once_each,
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
    return "is empty: there is nothing to watch"


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
        clean=_strip,
    )
    repositories: tuple[str, ...] = setting(
        (), unique, each=(repository,), doc='"owner/name"', clean=_tuple,
        example=("octo/hello", "octo/world"),
    )  # fmt: skip
    organizations: tuple[str, ...] = setting(
        (), unique, each=(organization,), doc="also every repository of these organisations",
        clean=_tuple,
    )  # fmt: skip
    exclude: tuple[str, ...] = setting(
        (), each=(repository_glob,), doc="owner/name globs never watched", clean=_tuple
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


# -- the model ----------------------------------------------------------------------------


def _prompt_file_problem(values: Values) -> str | None:
    """Checked at load time, beside the other keys, so ``check`` and ``start`` refuse a
    broken template (exit 2) instead of the first analysis failing."""
    if not values["prompt_file"]:
        return None
    try:
        read_template(values.path("prompt_file"))
    except TemplateError as error:
        return str(error)
    return None


@dataclass(frozen=True)
class LabelSettings:
    """Labels the model suggests

    Kept only if the repository has them and ``allow`` matches; at most
    ``max``; applied to the issue with ``apply``, else only suggested.
    """

    apply: bool = setting(False, doc="apply the labels kept (else only suggest them)")
    allow: tuple[str, ...] = setting(
        (), each=(NOT_EMPTY,), doc="names or globs; [] = any label of the repository",
        clean=_tuple,
    )  # fmt: skip
    max: int = setting(3, between(0, 100), doc="labels kept per issue")


@dataclass(frozen=True)
class AnalysisSettings:
    """How an issue is analysed and what is posted"""

    dry_run: bool = setting(False, doc="analyse and store (table analyses); post nothing")
    prompt_file: str = setting(
        "",
        doc='"" = built-in template; placeholders: {repository}\n'
        "{number} {kind} {title} {body} {labels} {author}",
    )
    concurrency: int = setting(1, between(1, MAX_CONCURRENCY), doc="model requests in flight")
    max_comment_chars: int = setting(
        60000,
        between(1000, GITHUB_COMMENT_LIMIT),
        doc="longer answers are cut at a line boundary",
    )
    related: int = setting(5, between(0, 100), doc="related issues per analysis (0 = off)")
    structured: bool = setting(True, doc="ask the model for a JSON answer")
    command: str = setting(
        "/autosolve",
        command_word,
        doc='"" = off; a maintainer\'s comment starting with it re-analyses',
    )
    allow_images: bool = setting(False, doc="images in the model's answer are posted")
    max_mentions: int = setting(0, NON_NEGATIVE, doc="@mentions kept in a comment")
    labels: LabelSettings = section(LabelSettings)

    checks: ClassVar[tuple[Check, ...]] = (
        Check(
            "prompt_file",
            ("prompt_file",),
            _prompt_file_problem,
            "`prompt_file` names a readable UTF-8 template using only the placeholders listed",
        ),
    )


@dataclass(frozen=True)
class ModelSettings:
    """Which model service analyses issues"""

    provider: str = setting("ollama", one_of(*PROVIDERS), doc='"ollama" | "openai"')


@dataclass(frozen=True)
class OpenAISettings:
    """Any OpenAI-compatible endpoint

    Used with ``model.provider = "openai"``: ``POST {url}/chat/completions``
    with the key as a bearer token; ``GET {url}/models`` checks the model.
    """

    url: str = setting("http://127.0.0.1:8000/v1", http_url, doc="the API's base URL")
    model: str = setting("", doc='required with model.provider = "openai"')
    api_key: str = setting("", doc="AUTOSOLVE_OPENAI__API_KEY", secret=True, clean=_strip)
    timeout: float = setting(120.0, *seconds(), doc="seconds for one whole model request")


@dataclass(frozen=True)
class OllamaSettings:
    """The Ollama server (with model.provider = "ollama")"""

    url: str = setting("http://localhost:11434", http_url, doc="the server's base URL")
    model: str = setting("qwen2.5-coder:7b", NOT_EMPTY, doc="the model's name")
    timeout: float = setting(300.0, *seconds(), doc="seconds for one whole model request")


# -- storage, the runtime, the operator's doors -------------------------------------------


def url_password(url: str, _source: Path | None) -> list[str]:
    """A database URL's password, as written and decoded, in the userinfo or the query."""
    _, _, rest = url.partition("://")
    userinfo, at, _ = rest.rpartition("@")
    secrets: list[str] = []
    if at and ":" in userinfo:
        password = userinfo.split(":", 1)[1]
        secrets += [password, urllib.parse.unquote(password)]
    secrets += urllib.parse.parse_qs(url.partition("?")[2]).get("password", [])
    return secrets


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the mirror, the queue and the analyses are kept"""

    path: str = setting("autosolve.db", NOT_EMPTY, doc="SQLite, relative to this file")
    url: str = setting(
        "",
        database_url,
        doc='"postgresql://…" = shared store (several daemons)',
        secret=url_password,
        clean=_strip,
    )


@dataclass(frozen=True)
class ClusterSettings:
    """Used with database.url only

    How daemons sharing the database split the work.
    """

    node_name: str = setting("", node_name, doc='"" = hostname-pid')
    lease_ttl: float = setting(
        30.0,
        # At least a second: heartbeats come every third of it, each a few queries.
        *seconds(at_least(1)),
        doc="seconds a repository lease lives without a heartbeat",
    )


@dataclass(frozen=True)
class QueueSettings:
    """The job queue between the pollers and the explainer"""

    visibility_timeout: float = setting(
        600.0, *seconds(), doc="seconds a taken job stays invisible to other takers"
    )
    max_attempts: int = setting(
        5, at_least(1), doc="failures caused by a job before it is dead-lettered"
    )


@dataclass(frozen=True)
class RuntimeSettings:
    """The supervised actor runtime"""

    backend: Backend = setting(
        Backend.THREADING, one_of(*Backend), doc='or "gevent"', restart=True, clean=Backend
    )
    shutdown_timeout: float = setting(
        30.0, *seconds(NON_NEGATIVE), doc="seconds a stop waits for running ticks"
    )
    tick_deadline: float = setting(
        0.0, *seconds(NON_NEGATIVE), doc="0 = 10 × the interval, at least 60 s"
    )
    max_restarts: int = setting(0, NON_NEGATIVE, doc="0 = no restart-intensity limit")
    within_seconds: float = setting(
        60.0, *seconds(), doc="the window max_restarts counts restarts in"
    )


@dataclass(frozen=True)
class ControlSettings:
    """The control socket ``ctl`` and the REPL talk to"""

    socket: str = setting("autosolve.sock", NOT_EMPTY, doc="a Unix socket, mode 0600", restart=True)


def _token_off_loopback(values: Values) -> str | None:
    listen_on = values["listen"]
    if values["token"] or not listen_on or is_loopback(parse_listen(listen_on).host):
        return None
    return (
        f"required when http.listen ({listen_on}) is not a loopback address: "
        "anyone who can reach it could steer the daemon"
    )


@dataclass(frozen=True)
class HttpSettings:
    """Health checks, Prometheus metrics, the live dashboard"""

    listen: str = setting("127.0.0.1:9477", listen, doc='host:port; "" = off', restart=True)
    token: str = setting(
        "",
        doc='"" = generated at first start (0600 file beside the socket)',
        secret=True,
        clean=_strip,
    )
    ready_grace: float = setting(
        120.0, *seconds(NON_NEGATIVE), doc="/readyz fails after a child has failed this long"
    )

    checks: ClassVar[tuple[Check, ...]] = (
        Check(
            "token",
            ("listen", "token"),
            _token_off_loopback,
            "`token` is required when `listen` is not a loopback address",
        ),
    )


@dataclass(frozen=True)
class LogSettings:
    """What the daemon writes on stderr"""

    level: str = setting(
        "INFO", one_of("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), doc="the least shown"
    )
    format: str = setting("text", one_of("text", "json"), doc='or "json"')


# -- the whole ---------------------------------------------------------------------------


def _openai_model_required(values: Values) -> str | None:
    if values["model.provider"] == "openai" and not values["openai.model"]:
        return 'required when model.provider is "openai"'
    return None


def _webhooks_need_http(values: Values) -> str | None:
    if values["github.webhooks.secret"] and not values["http.listen"]:
        return 'needs the HTTP endpoint, which serves the webhook route: http.listen is ""'
    return None


@dataclass(frozen=True)
class Settings:
    """autosolve's settings: ``settings.toml``, ``.secrets.toml``, ``AUTOSOLVE_*``"""

    github: GitHubSettings = section(GitHubSettings)
    analysis: AnalysisSettings = section(AnalysisSettings)
    model: ModelSettings = section(ModelSettings)
    openai: OpenAISettings = section(OpenAISettings)
    ollama: OllamaSettings = section(OllamaSettings)
    database: DatabaseSettings = section(DatabaseSettings, restart=True)
    cluster: ClusterSettings = section(ClusterSettings, restart=True)
    intervals: TaskIntervals = section(TaskIntervals)
    queue: QueueSettings = section(QueueSettings)
    runtime: RuntimeSettings = section(RuntimeSettings)
    policies: Policies = section(Policies, custom=POLICIES)
    control: ControlSettings = section(ControlSettings)
    http: HttpSettings = section(HttpSettings)
    log: LogSettings = section(LogSettings)
    source: Path | None = None
    """The settings file these came from, if any; relative paths are resolved beside it."""

    checks: ClassVar[tuple[Check, ...]] = (
        Check(
            "openai.model",
            ("model.provider", "openai.model"),
            _openai_model_required,
            '`openai.model` is required when `model.provider` is "openai"',
        ),
        Check(
            "github.webhooks.secret",
            ("github.webhooks.secret", "http.listen"),
            _webhooks_need_http,
            '`github.webhooks.secret` needs the HTTP endpoint: `http.listen` is not ""',
        ),
    )
