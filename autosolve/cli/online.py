"""Online checks: does the token work, does each repository answer, is the model there?

``check --online`` runs all of them; ``start`` runs the model check so a
missing model is a warning at start, not the first job's failure. Each check
returns a :class:`Finding` whose text names what was checked and, when it
failed, why in one line (never urllib3's whole exception chain).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from autosolve.settings import Settings

__all__ = ["Finding", "check_model", "check_repositories", "check_token", "short_reason"]

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


def check_model(settings: Settings, session: Any = requests) -> Finding:
    """``GET /api/tags``: is ``ollama.model`` among the models the server has?"""
    ollama = settings.ollama
    subject = f"ollama model {ollama.model}"
    url = f"{ollama.url}/api/tags"
    try:
        response = session.get(url, timeout=_timeout(ollama.timeout))
    except requests.RequestException as error:
        return Finding(subject, False, f"GET {url}: {short_reason(error)}")
    if response.status_code != 200:
        return Finding(subject, False, f"GET {url}: {response.status_code}")
    models = _json(response).get("models")
    names = sorted(
        str(m.get("name")) for m in models or () if isinstance(m, dict) and m.get("name")
    )
    wanted = {ollama.model} if ":" in ollama.model else {ollama.model, f"{ollama.model}:latest"}
    if wanted & set(names):
        return Finding(subject, True, f"available on {ollama.url}")
    available = ", ".join(names[:10]) or "none"
    return Finding(
        subject,
        False,
        f"not on {ollama.url} (it has: {available}); run `ollama pull {ollama.model}` there "
        "or change ollama.model",
    )


def _json(response: Any) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}
