"""Has the model analyse queued issues and posts the analysis, once per issue."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from autosolve.domain.spec import GlobalWorkerSpec

if TYPE_CHECKING:
    from autosolve.infra.github import GitHubClient
    from autosolve.infra.ollama import OllamaClient
    from autosolve.infra.store import Job, Store, StoredIssue
    from autosolve.runtime.context import WorkContext

__all__ = ["MARKER", "IssueExplainer"]

MARKER = "<!-- autosolve -->"
"""Starts every comment autosolve posts; its presence means "already explained"."""

logger = logging.getLogger(__name__)


class _JobPayload(Schema):
    class Meta:
        unknown = RAISE

    repository_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    number = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class IssueExplainer:
    """Takes one job per tick and turns it into at most one marker comment.

    Exactly-once posting rests on GitHub, not on local state: before asking
    the model, the explainer reads the issue's comments and skips it if one
    already carries :data:`MARKER`. The job is deleted only after the
    comment is posted, so a crash in between re-delivers the job, which then
    finds the marker and ends without a second comment.

    Failures release the job (it comes back after the worker's backoff) and
    re-raise so the runtime classifies them; the queue dead-letters a job
    after ``queue.max_attempts`` receives, and a malformed job at once.
    """

    def __init__(
        self,
        github: GitHubClient,
        ollama: OllamaClient,
        store: Store,
        *,
        interval: float,
        required_label: str,
        visibility_timeout: float,
        max_attempts: int,
    ) -> None:
        self._github = github
        self._ollama = ollama
        self._store = store
        self._interval = interval
        self._required_label = required_label.strip().casefold()
        self._visibility_timeout = visibility_timeout
        self._max_attempts = max_attempts

    def task_spec(self) -> GlobalWorkerSpec:
        return GlobalWorkerSpec(resource="issue-explainer", interval=self._interval, work=self.run)

    def run(self, ctx: WorkContext) -> None:
        job = self._store.receive_job(self._visibility_timeout, self._max_attempts)
        if job is None:
            return
        issue = self._load(job)
        if issue is None:
            return
        try:
            self._explain(ctx, issue)
        except Exception as error:
            self._store.release_job(job.id, f"{type(error).__name__}: {error}")
            raise
        self._store.delete_job(job.id)

    def _load(self, job: Job) -> StoredIssue | None:
        """The job's issue, or None after dead-lettering a job that cannot be done."""
        try:
            payload = _JobPayload().load(job.payload if job.payload is not None else {})
        except ValidationError as error:
            reason = f"malformed job payload {job.raw_payload[:200]!r}: {error.messages}"
            logger.error("job %d dead-lettered: %s", job.id, reason)
            self._store.dead_letter(job.id, reason)
            return None
        issue = self._store.get_issue(payload["repository_id"], payload["number"])
        if issue is None:
            reason = (
                f"issue #{payload['number']} of repository {payload['repository_id']} "
                "is not in the store"
            )
            logger.error("job %d dead-lettered: %s", job.id, reason)
            self._store.dead_letter(job.id, reason)
        return issue

    def _explain(self, ctx: WorkContext, stored: StoredIssue) -> None:
        owner, name = stored.repository.owner, stored.repository.name
        issue = stored.issue
        number = issue.number
        if self._required_label:
            labels = issue.labels
            if self._required_label not in {label.casefold() for label in labels}:
                return
        comments = self._github.list_comments(owner, name, number)
        if any(MARKER in comment.body for comment in comments):
            return
        ctx.raise_if_cancelled()
        analysis = self._ollama.generate(_prompt(stored))
        ctx.raise_if_cancelled()
        self._github.create_comment(owner, name, number, _comment(self._ollama.model, analysis))
        logger.info("explained %s", stored.full_name)


def _prompt(stored: StoredIssue) -> str:
    issue = stored.issue
    kind = "pull request" if issue.is_pull_request else "issue"
    return (
        f"You are a senior engineer triaging GitHub {kind}s of {stored.repository.full_name}.\n"
        f"Analyse {kind} #{issue.number}: explain what is being reported or asked, the "
        "likely cause, and concrete next steps to resolve it. Be concise.\n\n"
        f"Title: {issue.title}\n\n{issue.body or '(no description)'}\n"
    )


def _comment(model: str, analysis: str) -> str:
    return f"{MARKER}\n**autosolve analysis** (model: `{model}`)\n\n{analysis.strip()}\n"
