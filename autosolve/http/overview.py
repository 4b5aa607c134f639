"""What the dashboard shows beside the children: repositories, jobs, analyses.

Read from the store on request (the dashboard asks every few seconds); the
children's own figures come from the status document instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["Overview", "web_url"]


class Overview:
    """Builds ``GET /api/overview``'s document from ``store``.

    Args:
        store: the daemon's store (read-only use).
        repositories: the configured ``owner/name`` list, shown even before
            their first sync.
        api_url: ``github.api_url``; links point at the matching web host.
    """

    def __init__(self, store: Callable[[], Any], repositories: Sequence[str], api_url: str) -> None:
        self._store = store
        self._repositories = list(repositories)
        self._web = web_url(api_url)

    def __call__(self) -> dict[str, Any]:
        store = self._store()
        counts = {name.lower(): count for name, count in store.issue_counts().items()}
        return {
            "repositories": [
                {"name": name, "issues": counts.get(name.lower(), 0), "url": f"{self._web}/{name}"}
                for name in self._repositories
            ],
            "jobs": self._jobs(store),
        }

    @staticmethod
    def _jobs(store: Any) -> dict[str, Any]:
        return {"pending": store.pending_jobs(), "dead": store.count("dead_jobs")}


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
