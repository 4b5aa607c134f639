"""Settings: ``settings.toml`` through dynaconf, checked by marshmallow.

Loading order (later wins): ``settings.toml`` (or ``--settings PATH``), an
optional ``.secrets.toml`` beside it, then ``AUTOSOLVE_``-prefixed environment
variables with ``__`` for nesting (``AUTOSOLVE_GITHUB__TOKEN``). The result is
validated as a whole: every unknown or invalid key is reported by its dotted
path in one :class:`SettingsError`, so an operator fixes them all at once.

Adding a section is one schema class, one frozen dataclass and one field in
:class:`SettingsSchema`. Durations use :func:`_seconds` (bounded by a week).
A rule spanning several keys goes in a ``@validates_schema(skip_on_field_errors=False)``
method that reads what is valid, so an unrelated error never hides it.
The ``[intervals]`` schema is generated from the fields of
:class:`autosolve.domain.intervals.TaskIntervals`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from autosolve.domain.comment import GITHUB_COMMENT_LIMIT
from autosolve.domain.intervals import TaskIntervals
from autosolve.http.address import is_loopback, parse_listen
from autosolve.infra.model import MAX_CONCURRENCY
from autosolve.infra.model.providers import PROVIDERS
from autosolve.runtime.policy import PhasePolicies, Policies, RestartPolicy

__all__ = ["WEEK", "Settings", "SettingsError", "load_settings", "settings_from_mapping"]

ENV_PREFIX = "AUTOSOLVE"


class SettingsError(Exception):
    """Settings that cannot be used; ``problems`` maps dotted keys to messages."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        lines = [f"{key}: {message}" for key, message in sorted(self.problems.items())]
        super().__init__("invalid settings:\n  " + "\n  ".join(lines))


# -- typed settings -------------------------------------------------------------


@dataclass(frozen=True)
class IssuesSettings:
    """Which mirrored issues are analysed (SPEC §3.1); the mirror itself keeps them all."""

    required_label: str = ""
    since: str = "first-start"
    """``first-start``, ``all``, or an ISO 8601 time (UTC when it names no offset)."""
    states: tuple[str, ...] = ("open",)
    include_pull_requests: bool = False
    skip_bots: bool = True
    reanalyze_on_edit: bool = False


@dataclass(frozen=True)
class AnalysisSettings:
    dry_run: bool = False
    prompt_file: str = ""
    """``""`` = the built-in template; a relative path is taken beside the settings file."""
    concurrency: int = 1
    max_comment_chars: int = 60000
    structured: bool = True
    """Ask the model for a JSON answer of :data:`autosolve.domain.answer.ANSWER_SCHEMA`."""
    allow_images: bool = False
    """Markdown images (to https URLs) in the model's answer stay images; else links."""
    max_mentions: int = 0
    """How many ``@mentions`` in the model's answer may stay live (the rest become code)."""


@dataclass(frozen=True)
class BudgetSettings:
    """GitHub's secondary rate limits as one budget, kept below GitHub's numbers."""

    points_per_minute: int = 900
    """In any window; a GET costs 1 point, a POST/PATCH/PUT/DELETE 5."""
    concurrency: int = 20
    writes_per_minute: int = 60
    """Content-creating requests (comments)."""
    writes_per_hour: int = 450
    window: float = 60.0
    """Seconds in the budget's "minute" (its "hour" is 60 of them); only tests shorten it."""


@dataclass(frozen=True)
class GitHubSettings:
    api_url: str = "https://api.github.com"
    token: str = field(default="", repr=False)
    repositories: tuple[str, ...] = ()
    timeout: float = 10.0
    min_interval: float = 0.0
    budget: BudgetSettings = field(default_factory=BudgetSettings)
    issues: IssuesSettings = field(default_factory=IssuesSettings)


@dataclass(frozen=True)
class OllamaSettings:
    url: str = "http://localhost:11434"
    model: str = "qwen2.5-coder:7b"
    timeout: float = 300.0


@dataclass(frozen=True)
class ModelSettings:
    provider: str = "ollama"
    """Who serves the model: ``ollama`` or ``openai`` (any OpenAI-compatible API)."""


@dataclass(frozen=True)
class OpenAISettings:
    url: str = "http://127.0.0.1:8000/v1"
    model: str = ""
    api_key: str = field(default="", repr=False)
    """The bearer key (better: ``AUTOSOLVE_OPENAI__API_KEY``); "" sends none."""
    timeout: float = 120.0


@dataclass(frozen=True)
class DatabaseSettings:
    path: str = "autosolve.db"
    url: str = field(default="", repr=False)
    """``postgresql://…``: the shared store of a cluster; ``""`` = SQLite at ``path``."""


@dataclass(frozen=True)
class ClusterSettings:
    """Used with ``database.url`` only: how daemons sharing the database split the work."""

    node_name: str = ""
    """This daemon's name in the lease table; ``""`` = ``hostname-pid``."""
    lease_ttl: float = 30.0
    """Seconds a repository lease lives without a heartbeat (renewed every third of it)."""


@dataclass(frozen=True)
class QueueSettings:
    visibility_timeout: float = 600.0
    max_attempts: int = 5


@dataclass(frozen=True)
class RuntimeSettings:
    backend: str = "threading"
    shutdown_timeout: float = 30.0
    tick_deadline: float = 0.0
    """Seconds a tick may run before it is cancelled; 0 = 10 × the interval, at least 60 s."""
    max_restarts: int = 0
    within_seconds: float = 60.0


@dataclass(frozen=True)
class ControlSettings:
    socket: str = "autosolve.sock"


@dataclass(frozen=True)
class HttpSettings:
    listen: str = "127.0.0.1:9477"
    """``host:port`` of the HTTP endpoint (health, metrics, dashboard); ``""`` = off."""
    token: str = field(default="", repr=False)
    """Bearer token every route but ``/healthz`` requires when set; required off loopback."""


@dataclass(frozen=True)
class LogSettings:
    level: str = "INFO"
    format: str = "text"


@dataclass(frozen=True)
class Settings:
    github: GitHubSettings = field(default_factory=GitHubSettings)
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    openai: OpenAISettings = field(default_factory=OpenAISettings)
    ollama: OllamaSettings = field(default_factory=OllamaSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    intervals: TaskIntervals = field(default_factory=TaskIntervals)
    queue: QueueSettings = field(default_factory=QueueSettings)
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    policies: Policies = field(default_factory=Policies)
    control: ControlSettings = field(default_factory=ControlSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    log: LogSettings = field(default_factory=LogSettings)
    source: Path | None = None
    """The settings file these came from, if any; relative paths are resolved beside it."""


# -- schemas -------------------------------------------------------------------

WEEK = 7 * 24 * 3600.0
"""The longest interval, timeout or delay accepted: beyond it a typo, not a choice."""

_positive = validate.Range(min=0, min_inclusive=False, error="must be greater than 0")
_non_negative = validate.Range(min=0, error="must be 0 or greater")
_at_most_a_week = validate.Range(max=WEEK, error=f"must be at most {WEEK:g} (a week)")
_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_REPOSITORY_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def _http_url(value: str) -> None:
    if not re.match(r"^https?://[^\s/]+", value or ""):
        raise ValidationError("must be an http:// or https:// URL")


def _listen(value: str) -> None:
    if value:
        try:
            parse_listen(value)
        except ValueError as error:
            raise ValidationError(f'{error}; "" turns the endpoint off') from None


def _repository(value: str) -> None:
    """GitHub's rules for ``owner/name``, so a typo fails here, not as a 404 at start."""
    owner, slash, name = value.partition("/")
    if not slash or not owner or not name:
        raise ValidationError(f"{value!r} is not of the form owner/name")
    if not _OWNER.match(owner):
        raise ValidationError(
            f"{value!r}: the owner may only hold letters, digits and single hyphens "
            "(not first or last), at most 39 characters"
        )
    if not _REPOSITORY_NAME.match(name):
        raise ValidationError(
            f"{value!r}: the name may only hold letters, digits, '.', '-' and '_', "
            "at most 100 characters"
        )
    if name in (".", ".."):
        raise ValidationError(f"{value!r}: {name!r} is not a repository name")
    if name.lower().endswith(".git"):
        raise ValidationError(f"{value!r}: write the name without '.git'")


def _unique_repositories(values: list[str]) -> None:
    """GitHub's owner and name are case-insensitive: ``Octo/Hello`` is ``octo/hello``."""
    folded = [str(v).lower() for v in values]
    duplicates = sorted({v for v, f in zip(values, folded, strict=True) if folded.count(f) > 1})
    if duplicates:
        raise ValidationError(f"listed more than once: {', '.join(duplicates)}")


class _Section(Schema):
    """A section: unknown keys are errors; the result is a frozen dataclass."""

    class Meta:
        unknown = RAISE

    target: type = object

    @post_load
    def _build(self, data: dict[str, Any], **_: Any) -> Any:
        return self.target(**data)


def _number(*checks: Any) -> fields.Float:
    return fields.Float(validate=list(checks), allow_nan=False)


def _seconds(minimum: validate.Range = _positive) -> fields.Float:
    """An interval, timeout or delay: at least ``minimum``, at most a week."""
    return _number(minimum, _at_most_a_week)


def _count(*checks: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=list(checks))


def _section(schema: type[Schema]) -> fields.Nested:
    return fields.Nested(schema)


SINCE_WORDS = ("first-start", "all")
ISSUE_STATES = ("open", "closed")


def _since(value: str) -> None:
    if value in SINCE_WORDS:
        return
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f'must be "first-start", "all" or an ISO 8601 UTC time like '
            f'"2026-01-01T00:00:00Z"; got {value!r}'
        ) from None


class IssuesSchema(_Section):
    target = IssuesSettings
    required_label = fields.String()
    since = fields.String(validate=_since)
    states = fields.List(
        fields.String(validate=validate.OneOf(ISSUE_STATES, error="must be one of: {choices}")),
        validate=validate.Length(min=1, error="must name at least one state: open, closed"),
    )
    include_pull_requests = fields.Boolean()
    skip_bots = fields.Boolean()
    reanalyze_on_edit = fields.Boolean()

    @post_load
    def _build(self, data: dict[str, Any], **_: Any) -> Any:
        if "states" in data:
            data["states"] = tuple(dict.fromkeys(data["states"]))
        return IssuesSettings(**data)


class AnalysisSchema(_Section):
    target = AnalysisSettings
    dry_run = fields.Boolean()
    prompt_file = fields.String()
    concurrency = _count(
        validate.Range(min=1, max=MAX_CONCURRENCY, error="must be between {min} and {max}")
    )
    max_comment_chars = _count(
        validate.Range(min=1000, max=GITHUB_COMMENT_LIMIT, error="must be between {min} and {max}")
    )
    structured = fields.Boolean()
    allow_images = fields.Boolean()
    max_mentions = _count(_non_negative)


GITHUB_CONCURRENCY = 100
"""GitHub refuses more concurrent requests than this."""


class BudgetSchema(_Section):
    target = BudgetSettings
    points_per_minute = _count(
        validate.Range(min=5, error="must be at least {min} (a comment costs 5 points)")
    )
    concurrency = _count(
        validate.Range(min=1, max=GITHUB_CONCURRENCY, error="must be between {min} and {max}")
    )
    writes_per_minute = _count(validate.Range(min=1, error="must be 1 or greater"))
    writes_per_hour = _count(validate.Range(min=1, error="must be 1 or greater"))
    window = _seconds()


class GitHubSchema(_Section):
    target = GitHubSettings
    api_url = fields.String(validate=_http_url)
    token = fields.String()
    repositories = fields.List(fields.String(validate=_repository), validate=_unique_repositories)
    timeout = _seconds()
    min_interval = _seconds(_non_negative)
    budget = _section(BudgetSchema)
    issues = _section(IssuesSchema)

    @post_load
    def _build(self, data: dict[str, Any], **_: Any) -> Any:
        if "token" in data:  # `echo ghp_... > secret` leaves a newline a header cannot carry
            data["token"] = data["token"].strip()
        if "repositories" in data:
            data["repositories"] = tuple(data["repositories"])
        if "api_url" in data:
            data["api_url"] = data["api_url"].rstrip("/")
        return GitHubSettings(**data)


class OllamaSchema(_Section):
    target = OllamaSettings
    url = fields.String(validate=_http_url)
    model = fields.String(validate=validate.Length(min=1, error="must not be empty"))
    timeout = _seconds()


class ModelSchema(_Section):
    target = ModelSettings
    provider = fields.String(validate=validate.OneOf(PROVIDERS, error="must be one of: {choices}"))


class OpenAISchema(_Section):
    target = OpenAISettings
    url = fields.String(validate=_http_url)
    model = fields.String()
    api_key = fields.String()
    timeout = _seconds()

    @post_load
    def _build(self, data: dict[str, Any], **_: Any) -> Any:
        if "api_key" in data:  # a secrets file's trailing newline
            data["api_key"] = data["api_key"].strip()
        if "url" in data:
            data["url"] = data["url"].rstrip("/")
        return OpenAISettings(**data)


def _database_url(value: str) -> None:
    """``""`` or a PostgreSQL URI; the message never quotes the URL (it may hold a password)."""
    if value and urllib.parse.urlsplit(value).scheme not in ("postgresql", "postgres"):
        raise ValidationError('must be "" (SQLite at database.path) or a postgresql:// URL')


def _node_name(value: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9._:@-]{0,100}", value):
        raise ValidationError(
            "may only hold letters, digits and . _ : @ -, at most 100 characters "
            '("" = hostname-pid)'
        )


class DatabaseSchema(_Section):
    target = DatabaseSettings
    path = fields.String(validate=validate.Length(min=1, error="must not be empty"))
    url = fields.String(validate=_database_url)

    @post_load
    def _build(self, data: dict[str, Any], **_: Any) -> Any:
        if "url" in data:
            data["url"] = data["url"].strip()
        return DatabaseSettings(**data)


class ClusterSchema(_Section):
    target = ClusterSettings
    node_name = fields.String(validate=_node_name)
    # At least a second: heartbeats come every third of it, each a few queries.
    lease_ttl = _number(validate.Range(min=1, error="must be 1 or greater"), _at_most_a_week)


class _IntervalsSection(_Section):
    """``issue_poller_max`` is the slowest a repository is polled, ``issue_poller`` the fastest.

    Left out, the slowest follows a fastest set above its default, so an
    older settings file that polls slowly stays valid.
    """

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _slowest_not_below_fastest(self, _data: Any, original: Any, **_: Any) -> None:
        if not isinstance(original, Mapping) or "issue_poller_max" not in original:
            return
        fastest = _real(original.get("issue_poller"), TaskIntervals.issue_poller)
        slowest = _real(original.get("issue_poller_max"), TaskIntervals.issue_poller_max)
        if fastest is not None and slowest is not None and slowest < fastest:
            raise ValidationError(
                "must not be less than intervals.issue_poller", "issue_poller_max"
            )

    @post_load
    def _build(self, data: dict[str, Any], **_: Any) -> Any:
        if "issue_poller" in data and "issue_poller_max" not in data:
            data["issue_poller_max"] = max(data["issue_poller"], TaskIntervals.issue_poller_max)
        return self.target(**data)


def _intervals_schema(target: type) -> type[Schema]:
    """The ``[intervals]`` schema: one bounded duration per field of the dataclass ``target``."""
    declared: dict[str, Any] = {field.name: _seconds() for field in dataclasses.fields(target)}
    declared["target"] = target
    return type("IntervalsSchema", (_IntervalsSection,), declared)


IntervalsSchema = _intervals_schema(TaskIntervals)


class QueueSchema(_Section):
    target = QueueSettings
    visibility_timeout = _seconds()
    max_attempts = _count(validate.Range(min=1, error="must be 1 or greater"))


class RuntimeSchema(_Section):
    target = RuntimeSettings
    backend = fields.String(
        validate=validate.OneOf(("threading", "gevent"), error="must be one of: {choices}")
    )
    shutdown_timeout = _seconds(_non_negative)
    tick_deadline = _seconds(_non_negative)
    max_restarts = _count(_non_negative)
    within_seconds = _seconds()


class PolicySchema(Schema):
    """One category's policy; keys left out keep that category's default."""

    class Meta:
        unknown = RAISE

    initial = _seconds(_non_negative)
    max = _seconds(_non_negative)
    multiplier = _number(validate.Range(min=1, error="must be 1 or greater"))
    retries = _count(_non_negative)
    jitter = _number(validate.Range(min=0, max=1, error="must be between 0 and 1"))


_TEMPLATE_POLICY = RestartPolicy(initial=30.0, max=300.0)
"""What a category with no default policy (preflight degraded) starts from when configured."""


def _real(value: Any, default: float) -> float | None:
    """``value`` if it is a number (the default if absent); None if it is invalid anyway."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class PhasePoliciesSchema(Schema):
    class Meta:
        unknown = RAISE

    node = fields.Nested(PolicySchema)
    service = fields.Nested(PolicySchema)
    degraded = fields.Nested(PolicySchema)


class PoliciesSchema(Schema):
    class Meta:
        unknown = RAISE

    preflight = fields.Nested(PhasePoliciesSchema)
    worker = fields.Nested(PhasePoliciesSchema)

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _max_not_below_initial(self, _data: Any, original: Any, **_: Any) -> None:
        """Checked on the raw values, so an error elsewhere in the section hides nothing."""
        if not isinstance(original, Mapping):
            return
        defaults = Policies()
        problems: dict[str, Any] = {}
        for phase in ("preflight", "worker"):
            given = original.get(phase)
            if not isinstance(given, Mapping):
                continue
            for category in ("node", "service", "degraded"):
                values = given.get(category)
                if not isinstance(values, Mapping):
                    continue
                default = getattr(getattr(defaults, phase), category) or _TEMPLATE_POLICY
                initial = _real(values.get("initial"), default.initial)
                maximum = _real(values.get("max"), default.max)
                if initial is not None and maximum is not None and maximum < initial:
                    problems.setdefault(phase, {})[category] = {
                        "max": ["must not be less than initial"]
                    }
        if problems:
            raise ValidationError(problems)

    @post_load
    def _build(self, data: dict[str, Any], **_: Any) -> Policies:
        defaults = Policies()
        phases: dict[str, PhasePolicies] = {}
        for phase in ("preflight", "worker"):
            base: PhasePolicies = getattr(defaults, phase)
            given = data.get(phase, {})
            merged: dict[str, RestartPolicy | None] = {}
            for category in ("node", "service", "degraded"):
                default = getattr(base, category)
                if category not in given:
                    merged[category] = default
                    continue
                template = default or _TEMPLATE_POLICY
                merged[category] = dataclasses.replace(template, **given[category])
            phases[phase] = PhasePolicies(**merged)  # type: ignore[arg-type]
        return Policies(**phases)


class ControlSchema(_Section):
    target = ControlSettings
    socket = fields.String(validate=validate.Length(min=1, error="must not be empty"))


class HttpSchema(_Section):
    target = HttpSettings
    listen = fields.String(validate=_listen)
    token = fields.String()

    @validates_schema(skip_on_field_errors=False)
    def _token_off_loopback(self, data: dict[str, Any], **_: Any) -> None:
        listen = data.get("listen", HttpSettings.listen)
        token = data.get("token", HttpSettings.token).strip()
        if listen and not token and not is_loopback(parse_listen(listen).host):
            raise ValidationError(
                f"required when http.listen ({listen}) is not a loopback address: "
                "anyone who can reach it could steer the daemon",
                "token",
            )

    @post_load
    def _build(self, data: dict[str, Any], **_: Any) -> Any:
        if "token" in data:  # a secrets file's trailing newline
            data["token"] = data["token"].strip()
        return HttpSettings(**data)


class LogSchema(_Section):
    target = LogSettings
    level = fields.String(
        validate=validate.OneOf(
            ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), error="must be one of: {choices}"
        )
    )
    format = fields.String(
        validate=validate.OneOf(("text", "json"), error="must be one of: {choices}")
    )


class SettingsSchema(_Section):
    target = Settings
    github = _section(GitHubSchema)
    analysis = _section(AnalysisSchema)
    model = _section(ModelSchema)
    openai = _section(OpenAISchema)
    ollama = _section(OllamaSchema)
    database = _section(DatabaseSchema)
    cluster = _section(ClusterSchema)
    intervals = _section(IntervalsSchema)
    queue = _section(QueueSchema)
    runtime = _section(RuntimeSchema)
    policies = fields.Nested(PoliciesSchema)
    control = _section(ControlSchema)
    http = _section(HttpSchema)
    log = _section(LogSchema)

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _openai_model_named(self, _data: Any, original: Any, **_: Any) -> None:
        """The OpenAI-compatible provider has no default model: it must be named."""
        if not isinstance(original, Mapping):
            return
        model, openai = original.get("model"), original.get("openai")
        provider = model.get("provider") if isinstance(model, Mapping) else None
        named = openai.get("model") if isinstance(openai, Mapping) else None
        if provider == "openai" and not (isinstance(named, str) and named.strip()):
            raise ValidationError(
                {"openai": {"model": ['must name the model when model.provider = "openai"']}}
            )


# -- loading -------------------------------------------------------------------


def _flatten(messages: Any, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested error dict as ``{"a.b[0].c": "message"}``."""
    if isinstance(messages, Mapping):
        flat: dict[str, str] = {}
        for key, value in messages.items():
            if isinstance(key, int):
                path = f"{prefix}[{key}]"
            elif key == "_schema":
                path = prefix or "settings"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(_flatten(value, path))
        return flat
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        text = "; ".join(m.rstrip(".") for m in messages)
        text = "unknown key" if text == "Unknown field" else text
        return {prefix: text[:1].lower() + text[1:]}
    return {prefix: str(messages)}


def _lower_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


def settings_from_mapping(data: Mapping[str, Any], source: Path | None = None) -> Settings:
    """Validate a plain mapping (as read from TOML) into :class:`Settings`.

    Raises:
        SettingsError: every problem, by dotted key.
    """
    data = _lower_keys(data)
    problems = _prompt_file_problems(data, source)
    try:
        settings: Settings = SettingsSchema().load(data)
    except ValidationError as error:
        raise SettingsError({**_flatten(error.messages), **problems}) from None
    if problems:
        raise SettingsError(problems)
    return dataclasses.replace(settings, source=source)


def _prompt_file_problems(data: Mapping[str, Any], source: Path | None) -> dict[str, str]:
    """``analysis.prompt_file`` must be a readable template using known placeholders.

    Checked at load time, beside the other keys, so ``check`` and ``start``
    refuse a broken template (exit 2) instead of the first analysis failing.
    """
    analysis = data.get("analysis")
    value = analysis.get("prompt_file") if isinstance(analysis, Mapping) else None
    if not isinstance(value, str) or not value:
        return {}
    from autosolve.domain.prompt import PromptTemplate, TemplateError

    try:
        PromptTemplate.from_file(_resolve_beside(source, value))
    except TemplateError as error:
        return {"analysis.prompt_file": str(error)}
    return {}


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Load ``path`` (default ``./settings.toml``), ``.secrets.toml`` and the environment.

    The file must exist, the default one too: a daemon started in the wrong
    directory must not run on defaults (nothing to watch, a database where it
    stands).

    Raises:
        SettingsError: a missing or unreadable file, or invalid values.
    """
    from dynaconf import Dynaconf

    file = Path(path if path is not None else "settings.toml").resolve()
    if not file.is_file():
        hint = "" if path is not None else " (give --settings PATH)"
        raise SettingsError({"settings": f"file {file} does not exist{hint}"})
    # One layer per source, laid over each other here: dynaconf's own merging
    # appends a later list to an earlier one, and an override must replace it.
    raw: dict[str, Any] = {}
    for layer in (file, file.with_name(".secrets.toml")):
        if layer.is_file():
            try:
                values = Dynaconf(settings_files=[str(layer)], environments=False, loaders=[])
                _override(raw, _lower_keys(values.as_dict()))
            except Exception as error:  # dynaconf surfaces TOML errors with many types
                raise SettingsError({"settings": f"cannot read {layer}: {error}"}) from None
    try:
        environment = Dynaconf(envvar_prefix=ENV_PREFIX, environments=False).as_dict()
    except Exception as error:  # e.g. `@json [1`; its text quotes the value, maybe a token
        raise SettingsError(
            {"settings": f"cannot read the {ENV_PREFIX}_* environment variables: "
                         f"{type(error).__name__} (values not shown: they may hold secrets)"}
        ) from None  # fmt: skip
    _override(raw, _lower_keys(environment))
    return settings_from_mapping(raw, source=file)


def _override(into: dict[str, Any], layer: Mapping[str, Any]) -> None:
    """Lay ``layer`` over ``into``: tables merge key by key, any other value replaces."""
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _override(into[key], value)
        else:
            into[key] = dict(value) if isinstance(value, Mapping) else value


def secrets_of(settings: Settings) -> list[str]:
    """Values no log line, answer or message may show: tokens, the database password."""
    secrets = [settings.github.token, settings.http.token, settings.openai.api_key]
    url = settings.database.url
    _, _, rest = url.partition("://")
    userinfo, at, _ = rest.rpartition("@")
    if at and ":" in userinfo:
        password = userinfo.split(":", 1)[1]
        secrets += [password, urllib.parse.unquote(password)]
    query = urllib.parse.parse_qs(url.partition("?")[2])
    secrets += query.get("password", [])
    return [secret for secret in secrets if secret]


def resolve_path(settings: Settings, value: str) -> Path:
    """A path from the settings: relative ones are taken beside the settings file."""
    return _resolve_beside(settings.source, value)


def _resolve_beside(source: Path | None, value: str) -> Path:
    candidate = Path(value).expanduser()
    if candidate.is_absolute():
        return candidate
    base = source.parent if source else Path.cwd()
    return base / candidate
