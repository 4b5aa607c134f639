"""Online checks: does the token work, does each repository answer, is the model there?

``check --online`` runs all of them; ``start`` runs the model check so a
missing model is a warning at start, not the first job's failure. Each check
returns a :class:`Finding` whose text names what was checked and, when it
failed, why in one line (never urllib3's whole exception chain).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from autosolve.settings import Settings

__all__ = [
    "Finding",
    "check_app",
    "check_model",
    "check_repositories",
    "check_token",
    "short_reason",
]

PROBE_TIMEOUT = 10.0
"""Seconds an online check waits at most (less when the configured timeout is shorter)."""


@dataclass(frozen=True)
class Finding:
    """One online check's result."""

    subject: str
    """What was checked, e.g. ``repository octo/hello``."""
    ok: bool
    detail: str
    """What was found, or why it failed."""

    def __str__(self) -> str:
        return f"{'ok' if self.ok else 'FAILED'}: {self.subject}: {self.detail}"


def short_reason(error: BaseException) -> str:
    """A connection error in a few words: ``connection refused``, ``timed out``..."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
        if current is None and chain[-1].args and isinstance(chain[-1].args[0], BaseException):
            current = chain[-1].args[0]  # urllib3 keeps the cause in args, not __cause__
    for link in chain:
        if isinstance(link, ConnectionRefusedError):
            return "connection refused"
        if isinstance(link, TimeoutError | requests.Timeout):
            return "timed out"
        text = str(link)
        if "Name or service not known" in text or "Temporary failure in name resolution" in text:
            return "host name not resolved"
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return "TLS certificate not trusted"
    root = chain[-1]
    return f"{type(root).__name__}: {root}"[:200]


def _timeout(configured: float) -> float:
    return min(configured, PROBE_TIMEOUT)


def check_token(settings: Settings, session: Any = requests) -> Finding:
    """``GET /user`` with the token: 401 means GitHub refuses it."""
    github = settings.github
    subject = "github token"
    if not github.token:
        return Finding(subject, True, "empty: requests are anonymous (60 per hour)")
    url = f"{github.api_url}/user"
    try:
        response = session.get(
            url,
            headers={"Authorization": f"Bearer {github.token}", "Accept": "application/json"},
            timeout=_timeout(github.timeout),
        )
    except requests.RequestException as error:
        return Finding(subject, False, f"GET {url}: {short_reason(error)}")
    if response.status_code == 200:
        login = _json(response).get("login", "?")
        return Finding(subject, True, f"accepted (login {login})")
    if response.status_code == 401:
        return Finding(subject, False, f"GET {url}: 401: GitHub refuses the token")
    # 403 for app installation tokens: the repository checks tell whether it works.
    return Finding(subject, True, f"GET {url}: {response.status_code}; see the repositories")


def check_repositories(settings: Settings) -> list[Finding]:
    """``GET /repos/{owner}/{name}`` for each configured repository."""
    from autosolve.infra.github import GitHubClient
    from autosolve.infra.github.errors import GitHubError

    github = settings.github
    client = GitHubClient(github.api_url, github.token, _timeout(github.timeout))
    findings = []
    for full_name in github.repositories:
        subject = f"repository {full_name}"
        owner, name = full_name.split("/", 1)
        try:
            client.get_repository(owner, name)
        except GitHubError as error:
            findings.append(Finding(subject, False, str(error)))
        except requests.RequestException as error:
            findings.append(Finding(subject, False, short_reason(error)))
        else:
            findings.append(Finding(subject, True, "visible"))
    return findings


def check_app(settings: Settings) -> list[Finding]:
    """The GitHub App: its installations, and which installation covers which repository.

    Each repository an installation covers is one finding naming the
    installation; a configured repository none covers is a failure.
    """
    from autosolve.infra.github import GitHubClient, GitHubError
    from autosolve.infra.github.app import GitHubApp
    from autosolve.settings import resolve_path

    github = settings.github
    subject = f"github app {github.app.id}"
    key = resolve_path(settings, github.app.private_key_file).read_text(encoding="utf-8")
    app = GitHubApp(github.app.id, key, github.app.installation_id)
    app.bind(GitHubClient(github.api_url, "", _timeout(github.timeout), credentials=app))
    covered: dict[str, Finding] = {}
    try:
        installations = app.installations()
        for installation in installations:
            for repository in app.repositories(installation):
                covered[repository.full_name.lower()] = Finding(
                    f"repository {repository.full_name}", True,
                    f"covered by installation {installation.id} ({installation.account})",
                )  # fmt: skip
    except GitHubError as error:
        return [Finding(subject, False, str(error))]
    except requests.RequestException as error:
        return [Finding(subject, False, short_reason(error))]
    missing = [
        Finding(f"repository {name}", False, "no installation of the App covers it")
        for name in github.repositories
        if name.lower() not in covered
    ]
    found = Finding(subject, True, f"{len(installations)} installation(s)")
    return [found, *covered.values(), *missing]


def check_model(settings: Settings) -> Finding:
    """Does the chosen provider answer, and does it have the model?

    Ollama: ``GET /api/tags``; an OpenAI-compatible server: ``GET /models``
    (with the key). Bounded like every online check.
    """
    from autosolve.infra.model.providers import new_model

    provider, ollama, openai = settings.model.provider, settings.ollama, settings.openai
    model = new_model(
        provider,
        ollama=dataclasses.replace(ollama, timeout=_timeout(ollama.timeout)),
        openai=dataclasses.replace(openai, timeout=_timeout(openai.timeout)),
    )
    availability = model.check()
    return Finding(f"{provider} model {model.name}", availability.ok, availability.detail)


def _json(response: Any) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}
