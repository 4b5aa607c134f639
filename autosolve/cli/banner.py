"""The start banner: one line that says what this daemon is and what it runs on.

An operator reading a journal (or a bug report) sees in it the version,
the settings file, the repositories watched, the database (a URL's
password masked), the HTTP address, the backend, the model and whether
analyses are posted — without opening a file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autosolve import __version__
from autosolve.infra.postgres import redact_url
from autosolve.settings import resolve_path

if TYPE_CHECKING:
    from autosolve.settings import Settings

__all__ = ["LISTED", "start_banner"]

LISTED = 10
"""Repositories (or organisations) named in the banner; more are only counted."""


def start_banner(settings: Settings, http_address: str | None) -> str:
    """``autosolve 0.1.0 starting: settings …; repositories: 2 (octo/hello, octo/world); …``.

    Args:
        http_address: where the endpoint listens (its real port), None when it is off.
    """
    parts = [
        f"settings {settings.source or '(none: defaults and the environment)'}",
        f"repositories: {_counted(settings.github.repositories)}",
    ]
    if settings.github.organizations:
        parts.append(f"organizations: {_counted(settings.github.organizations)}")
    parts += [
        f"database {_database(settings)}",
        f"http {f'http://{http_address}' if http_address else 'off'}",
        f"backend {settings.runtime.backend}",
        f"model {_model(settings)}",
        f"dry run {'on: nothing is posted' if settings.analysis.dry_run else 'off'}",
    ]
    return f"autosolve {__version__} starting: " + "; ".join(parts)


def _counted(names: tuple[str, ...]) -> str:
    if not names:
        return "0"
    if len(names) > LISTED:
        return str(len(names))
    return f"{len(names)} ({', '.join(names)})"


def _database(settings: Settings) -> str:
    if settings.database.url:
        return redact_url(settings.database.url)
    return str(resolve_path(settings, settings.database.path))


def _model(settings: Settings) -> str:
    provider = settings.model.provider
    name = settings.openai.model if provider == "openai" else settings.ollama.model
    return f"{provider} {name}"
