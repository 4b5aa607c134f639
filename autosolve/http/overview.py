"""What the dashboard shows beside the children: repositories, jobs, analyses.

Read from the store on request (the dashboard asks every few seconds); the
children's own figures come from the status document instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from autosolve.infra.timestamps import format_epoch

__all__ = ["RECENT", "Overview", "web_url"]

RECENT = 10
"""Dead jobs and analyses listed: the newest ones."""


class Overview:
    """Builds ``GET /api/overview``'s document.

    Args:
        store: returns the daemon's open store (read-only use).
        repositories: the configured ``owner/name`` list, shown even before
            their first sync; or a function returning it (it changes on reload).
        api_url: ``github.api_url``; links point at the matching web host.
        commands: returns the control commands the daemon answers (the
            page offers "try" only where ``explain`` exists).
    """

    def __init__(
        self,
        store: Callable[[], Any],
        repositories: Sequence[str] | Callable[[], Sequence[str]],
        api_url: str,
        commands: Callable[[], list[str]] = list,
    ) -> None:
        self._store = store
        if not callable(repositories):
            fixed = list(repositories)
            repositories = lambda: fixed  # noqa: E731 - one reader for both forms
        self._repositories = repositories
        self._web = web_url(api_url)
        self._commands = commands

    def __call__(self) -> dict[str, Any]:
        store = self._store()
        counts = {name.lower(): count for name, count in store.issue_counts().items()}
        return {
            "repositories": [
                {"name": name, "issues": counts.get(name.lower(), 0), "url": f"{self._web}/{name}"}
                for name in self._repositories()
            ],
            "jobs": _jobs(store.jobs_summary(RECENT)),
            "analyses": [self._analysis(a) for a in store.recent_analyses(RECENT)],
            "commands": self._commands(),
        }

    def _analysis(self, analysis: Any) -> dict[str, Any]:
        url = f"{self._web}/{analysis.repository}/issues/{analysis.number}"
        return {
            "repository": analysis.repository,
            "number": analysis.number,
            "title": analysis.title,
            "model": analysis.model,
            "created_at": _iso(analysis.created_at),
            "posted_at": _iso(analysis.posted_at),
            "url": url,
            "comment_url": (
                f"{url}#issuecomment-{analysis.comment_id}" if analysis.comment_id else None
            ),
        }


def _jobs(summary: Any) -> dict[str, Any]:
    return {
        "ready": summary.ready,
        "in_flight": summary.in_flight,
        "dead": summary.dead,
        "recent_dead": [
            {
                "id": job.job_id,
                "payload": job.payload,
                "reason": job.reason,
                "dead_at": _iso(job.dead_at),
            }
            for job in summary.recent_dead
        ],
    }


def _iso(epoch: float | None) -> str | None:
    """Epoch seconds as the status document writes times: ``2026-01-01T00:00:00Z``."""
    return None if epoch is None else format_epoch(epoch)


def web_url(api_url: str) -> str:
    """The web host of a GitHub API URL: ``api.github.com`` → ``github.com``.

    GitHub Enterprise serves its API under ``/api/v3`` of the web host; any
    other URL (a test server) is taken as is.
    """
    parts = urlsplit(api_url.rstrip("/"))
    host, path = parts.netloc, parts.path
    if host.lower().startswith("api."):
        host = host[len("api.") :]
    if path.endswith("/api/v3"):
        path = path[: -len("/api/v3")]
    return urlunsplit((parts.scheme, host, path, "", ""))
