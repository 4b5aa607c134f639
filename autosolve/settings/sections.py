"""Every setting, declared once: one frozen dataclass per ``settings.toml`` table.

Each field is a key: its default, its rules, its doc line, and whether a
running daemon needs a restart to change it (see
:mod:`autosolve.settings.declare`). The schema, the shipped
``settings.toml``, ``docs/configuration.md``, the reload's "needs a restart"
list and the secrets to mask are all derived from here. :class:`Settings` is
the whole; ``[github]`` is declared in :mod:`autosolve.settings.github`,
the analysis and the model in :mod:`autosolve.settings.model`, ``[intervals]``
in :mod:`autosolve.settings.intervals`, ``[policies]`` in
:mod:`autosolve.settings.policies`, the rest here.

The order of the fields is the order of the file: a section's own keys first,
then its nested tables.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from autosolve.runtime import Backend, Policies
from autosolve.settings.address import is_loopback, parse_listen
from autosolve.settings.declare import Check, Values, section, setting
from autosolve.settings.github import (
    BudgetSettings,
    GitHubAppSettings,
    GitHubSettings,
    IssuesSettings,
    WebhookSettings,
)
from autosolve.settings.intervals import TaskIntervals
from autosolve.settings.model import (
    AnalysisSettings,
    LabelSettings,
    ModelSettings,
    OllamaSettings,
    OpenAISettings,
)
from autosolve.settings.policies import POLICIES
from autosolve.settings.rules import (
    NON_NEGATIVE,
    NOT_EMPTY,
    at_least,
    database_url,
    listen,
    node_name,
    one_of,
    seconds,
    strip,
)

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
        clean=strip,
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
        clean=strip,
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
