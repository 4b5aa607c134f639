"""What the dashboard shows beside the children: repositories, jobs, analyses.

Read from the store on request (the dashboard asks every few seconds); the
children's own figures come from the status document instead, their health
from :mod:`autosolve.http.readiness`, the last hour from
:mod:`autosolve.http.history`. Three documents:

- :meth:`Overview.__call__` (``GET /api/overview``): every repository, the
  queue with its newest dead jobs, the newest analyses, the daemon's version
  and start time;
- :meth:`Overview.repository` (``GET /api/repository?name=owner/name``): one
  repository's mirror (issues per state, the newest issues), its analyses
  and its dead jobs;
- :meth:`Overview.analysis` (``GET /api/analysis?id=N``): one analysis in
  full, the comment's body as text.

An analysis's structured parts (summary, related issues, labels, questions)
are in the document only as far as the store keeps them: a field the
record does not have is ``null`` (or empty), and the page leaves its section
out. Every time is ISO 8601 UTC (``2026-01-01T00:00:00Z``); the page shows
it relative, the UTC time on hover.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import autosolve
from autosolve.infra.store import UnknownRepositoryError
from autosolve.infra.store.rows import decode_payload
from autosolve.infra.timestamps import format_epoch

__all__ = ["DEAD_SCANNED", "ISSUES_LISTED", "RECENT", "Overview", "web_url"]

RECENT = 10
"""Dead jobs and analyses listed: the newest ones."""
ISSUES_LISTED = 20
"""Issues a repository's view lists: the highest-numbered ones."""
DEAD_SCANNED = 200
"""Newest dead jobs a repository's view picks its own from (dead jobs are few)."""


class Overview:
    """Builds the dashboard's documents from the store.

    Args:
        store: returns the daemon's open store (read-only use).
        repositories: the configured ``owner/name`` list, shown even before
            their first sync; or a function returning it (it changes on reload).
        api_url: ``github.api_url``; links point at the matching web host.
        commands: returns the control commands the daemon answers (the
            page offers "try" only where ``explain`` exists).
        started_at: epoch seconds the daemon started (the page shows its uptime).
        backend: ``runtime.backend``, shown beside the version.
    """

    def __init__(
        self,
        store: Callable[[], Any],
        repositories: Sequence[str] | Callable[[], Sequence[str]],
        api_url: str,
        commands: Callable[[], list[str]] = list,
        *,
        started_at: float | None = None,
        backend: str = "",
    ) -> None:
        self._store = store
        if not callable(repositories):
            fixed = list(repositories)
            repositories = lambda: fixed  # noqa: E731 - one reader for both forms
        self._repositories = repositories
        self._web = web_url(api_url)
        self._commands = commands
        self._daemon = {
            "version": autosolve.__version__,
            "backend": backend,
            "started_at": format_epoch(time.time() if started_at is None else started_at),
        }

    def __call__(self) -> dict[str, Any]:
        store = self._store()
        counts = {name.lower(): count for name, count in store.issue_counts().items()}
        names = store.repository_names()
        return {
            "daemon": self._daemon,
            "repositories": [
                {"name": name, "issues": counts.get(name.lower(), 0), "url": self._repo_url(name)}
                for name in self._repositories()
            ],
            "jobs": self._jobs(store.jobs_summary(RECENT), names),
            "analyses": [self._analysis(a) for a in store.recent_analyses(RECENT)],
            "commands": self._commands(),
        }

    def repository(self, name: str) -> dict[str, Any] | None:
        """One repository's view; None when it is neither configured nor stored.

        Raises:
            ValueError: ``name`` is not ``owner/name``.
        """
        store = self._store()
        configured = any(name.lower() == known.lower() for known in self._repositories())
        try:
            mirror = store.repository_issues(name, ISSUES_LISTED)
            analyses = store.recent_analyses(RECENT, repository=name)
        except UnknownRepositoryError:
            if not configured:
                return None
            mirror, analyses = None, []
        shown = mirror.repository if mirror is not None else name
        recent_dead = store.jobs_summary(DEAD_SCANNED).recent_dead
        dead = self._dead_jobs(recent_dead, store.repository_names())
        return {
            "name": shown,
            "url": self._repo_url(shown),
            "configured": configured,
            "issues": mirror.states if mirror is not None else {},
            "latest_issues": [self._issue(shown, i) for i in mirror.latest] if mirror else [],
            "analyses": [self._analysis(a) for a in analyses],
            "dead_jobs": [job for job in dead if _same(job["repository"], shown)][:RECENT],
        }

    def analysis(self, analysis_id: int) -> dict[str, Any] | None:
        """One analysis in full; None if there is none with that id."""
        found = self._store().find_analysis(analysis_id)
        if found is None:
            return None
        return {**self._analysis(found), "body": found.body, **_structured(found, self._issue_url)}

    # -- pieces ------------------------------------------------------------------

    def _repo_url(self, name: str) -> str:
        return f"{self._web}/{name}"

    def _issue_url(self, repository: str, number: int) -> str:
        return f"{self._web}/{repository}/issues/{number}"

    def _analysis(self, analysis: Any) -> dict[str, Any]:
        url = self._issue_url(analysis.repository, analysis.number)
        return {
            "id": analysis.id,
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

    def _issue(self, repository: str, issue: Any) -> dict[str, Any]:
        return {
            "number": issue.number,
            "title": issue.title,
            "state": issue.state,
            "pull_request": issue.is_pull_request,
            "labels": list(issue.labels),
            "updated_at": issue.updated_at,
            "url": self._issue_url(repository, issue.number),
            "analysis_id": issue.analysis_id,
        }

    def _jobs(self, summary: Any, names: Mapping[int, str]) -> dict[str, Any]:
        return {
            "ready": summary.ready,
            "in_flight": summary.in_flight,
            "dead": summary.dead,
            "recent_dead": self._dead_jobs(summary.recent_dead, names),
        }

    def _dead_jobs(self, jobs: Iterable[Any], names: Mapping[int, str]) -> list[dict[str, Any]]:
        """Dead jobs with the issue each was about, when its payload names one."""
        return [self._dead_job(job, names) for job in jobs]

    def _dead_job(self, job: Any, names: Mapping[int, str]) -> dict[str, Any]:
        payload = decode_payload(job.payload) or {}
        repository_id, number = payload.get("repository_id"), payload.get("number")
        repository = names.get(repository_id) if isinstance(repository_id, int) else None
        issue = None
        if repository is not None and isinstance(number, int):
            issue = {"name": f"{repository}#{number}", "url": self._issue_url(repository, number)}
        return {
            "id": job.job_id,
            "repository": repository,
            "issue": issue,
            "payload": job.payload,
            "reason": job.reason,
            "dead_at": _iso(job.dead_at),
        }


def _structured(analysis: Any, issue_url: Callable[[str, int], str]) -> dict[str, Any]:
    """The analysis's structured parts, each ``null``/empty where the record has none.

    The record keeps the labels it picked (``labels``) and, once it added
    them to the issue, those it added (``labels_applied``); picked and not
    applied, they were suggested in the comment.
    """
    related = [n for n in getattr(analysis, "related", None) or () if isinstance(n, int)]
    picked = list(getattr(analysis, "labels", None) or ())
    applied = getattr(analysis, "labels_applied", None)
    return {
        "summary": getattr(analysis, "summary", None) or None,
        "related": [{"number": n, "url": issue_url(analysis.repository, n)} for n in related],
        "labels": {
            "applied": list(applied or ()),
            "suggested": picked if applied is None else [],
        },
        "questions": list(getattr(analysis, "questions", None) or ()),
    }


def _same(first: str | None, second: str) -> bool:
    return first is not None and first.lower() == second.lower()


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
