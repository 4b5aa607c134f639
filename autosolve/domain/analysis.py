"""One analysis of one issue: decide, ask the model, post or edit, record.

Shared by the issue explainer (queued jobs, gated by the filters) and the
operator's ``explain`` (one issue now, whatever the filters say).

Exactly-once posting rests on GitHub, not on local state alone: before
posting, the issue's comments are read and a comment carrying
:data:`~autosolve.domain.comment.MARKER` means "already explained". The
analysis is stored *before* it is posted and marked posted (with the job
deleted) in one transaction *after*; a crash in between leaves a stored,
unposted analysis whose body the marker comment found on the next delivery
matches exactly, and that comment is adopted instead of posting a second one.

Re-analysis edits autosolve's own comment (``PATCH``), never a second one;
the content hash (title and body) stored with each analysis decides whether
an issue changed since it was analysed.

Two analyses of the same issue never overlap in one process (an issue edited
while its job runs gets a second job, which a concurrent worker could take,
and an operator's ``explain`` may come at any time): each holds the issue's
lock from reading its state to recording the comment, so the second one sees
what the first one did.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, TypeGuard

from autosolve.domain.comment import MARKER, content_sha256, format_comment, sha256
from autosolve.domain.gate import AnalysisGate, Skip
from autosolve.domain.postable import OutputRules

if TYPE_CHECKING:
    from autosolve.domain.prompt import PromptTemplate
    from autosolve.infra.github import Comment, GitHubClient
    from autosolve.infra.model import Model
    from autosolve.infra.store import Analysis, Store, StoredIssue
    from autosolve.runtime import WorkContext

__all__ = ["AnalysisResult", "Analyst", "Mode", "Result"]

logger = logging.getLogger("autosolve.domain.analysis")


class Result(StrEnum):
    """What became of one analysis request; the values are the metric's ``result`` label."""

    POSTED = "posted"
    """A comment was posted or autosolve's own comment edited."""
    SKIPPED = "skipped"
    DRY_RUN = "dry_run"
    """Analysed and stored; nothing posted (``analysis.dry_run``)."""
    FAILED = "failed"
    """Only reported to observers: the attempt raised."""
    PREVIEW = "preview"
    """Analysed and stored for an operator; GitHub not even read."""


class Mode(StrEnum):
    """How much of the usual path an analysis takes."""

    QUEUED = "queued"
    """A job: the filters, then the marker and content-hash checks."""
    FORCED = "forced"
    """An operator's ``explain``: no filters; an existing marker comment is edited."""
    PREVIEW = "preview"
    """An operator's "try": prompt and answer only; nothing read from or sent to GitHub."""


@dataclass(frozen=True)
class AnalysisResult:
    """What :meth:`Analyst.analyse` did, for logs, observers and operator replies."""

    result: Result
    issue: str
    """``owner/name#number``."""
    action: str
    """``posted``, ``edited``, ``adopted``, ``dry_run``, ``preview`` or ``skipped``."""
    skip: Skip | None = None
    comment_id: int | None = None
    prompt: str | None = None
    answer: str | None = None
    """The model's raw answer."""
    body: str | None = None
    """The comment body (posted or not)."""

    def to_dict(self) -> dict[str, object]:
        """The result as a JSON-ready mapping (operator replies)."""
        document: dict[str, object] = {
            "result": self.result.value,
            "issue": self.issue,
            "action": self.action,
        }
        if self.skip is not None:
            document["skipped"] = {"code": self.skip.code, "reason": self.skip.reason}
        for key in ("comment_id", "prompt", "answer", "body"):
            value = getattr(self, key)
            if value is not None:
                document[key] = value
        return document


class Analyst:
    """Turns a stored issue into at most one marker comment (or an edit of it).

    Args:
        github, model, store: the infrastructure.
        gate: the ``[github.issues]`` filters.
        template: the prompt template.
        dry_run: analyse and store, post nothing.
        reanalyze_on_edit: a changed title or body re-runs the model and edits
            autosolve's comment.
        max_comment_chars: longer answers are cut (see :func:`format_comment`).
        allow_images, max_mentions: what the answer may do once posted
            (see :class:`~autosolve.domain.postable.OutputRules`).
    """

    def __init__(
        self,
        github: GitHubClient,
        model: Model,
        store: Store,
        *,
        gate: AnalysisGate,
        template: PromptTemplate,
        dry_run: bool = False,
        reanalyze_on_edit: bool = False,
        max_comment_chars: int = 60000,
        allow_images: bool = False,
        max_mentions: int = 0,
    ) -> None:
        self._github = github
        self._model = model
        self._store = store
        self._gate = gate
        self._template = template
        self.dry_run = dry_run
        self._reanalyze = reanalyze_on_edit
        self._max_chars = max_comment_chars
        self._output = OutputRules(allow_images=allow_images, max_mentions=max_mentions)

    def analyse(
        self,
        stored: StoredIssue,
        *,
        mode: Mode = Mode.QUEUED,
        job_id: int | None = None,
        ctx: WorkContext | None = None,
    ) -> AnalysisResult:
        """Analyse ``stored`` as ``mode`` says; a done ``job_id`` is deleted with the record.

        Raises:
            EmptyAnswerError: the model answered nothing (nothing posted).
            Exception: whatever GitHub, the model or the store raised; nothing
                half-done is left that a retry could not finish.
        """
        if mode is Mode.PREVIEW:
            return self._preview(stored)
        with _ISSUE_LOCKS.hold(stored.id):
            return self._analyse(stored, mode, job_id, ctx)

    def _analyse(
        self, stored: StoredIssue, mode: Mode, job_id: int | None, ctx: WorkContext | None
    ) -> AnalysisResult:
        content = content_sha256(stored.issue)
        latest = self._store.latest_analysis(stored.id)
        posted = latest if latest is None or latest.posted else (
            self._store.latest_analysis(stored.id, posted_only=True)
        )  # fmt: skip
        if mode is Mode.QUEUED:
            # In a dry run, what was stored stands for what would have been posted.
            reference = latest if self.dry_run else posted
            skip = self._gate.check(stored) or self._already_analysed(reference, content)
            if skip is not None:
                return self._skipped(stored, skip, job_id)
        comments = self._github.list_comments(
            stored.repository.owner, stored.repository.name, stored.issue.number
        )
        marker = _marker_comment(comments, posted)
        if marker is not None:
            if mode is Mode.QUEUED and _posted_before(latest, marker):
                return self._adopt(stored, latest, marker, job_id)
            if mode is Mode.QUEUED and not self._edit_allowed(posted, content):
                skip = Skip("marker", "it already has a marker comment")
                return self._skipped(stored, skip, job_id)
        if ctx is not None:
            ctx.raise_if_cancelled()
        prompt, answer, body = self._ask(stored)
        if ctx is not None:
            ctx.raise_if_cancelled()
        if self.dry_run:
            self._record(stored, prompt, content, body, done_job_id=job_id)
            logger.info("analysed %s (dry run: not posted)", stored.full_name)
            return AnalysisResult(
                Result.DRY_RUN, stored.full_name, "dry_run", prompt=prompt, answer=answer,
                body=body,
            )  # fmt: skip
        pending = self._record(stored, prompt, content, body)
        owner, name = stored.repository.owner, stored.repository.name
        if marker is not None:
            comment = self._github.edit_comment(owner, name, marker.github_id, body)
            action = "edited"
        else:
            comment = self._github.create_comment(owner, name, stored.issue.number, body)
            action = "posted"
        self._store.mark_analysis_posted(pending.id, comment.github_id, done_job_id=job_id)
        logger.info("explained %s (%s comment %d)", stored.full_name, action, comment.github_id)
        return AnalysisResult(
            Result.POSTED, stored.full_name, action, comment_id=comment.github_id, prompt=prompt,
            answer=answer, body=body,
        )  # fmt: skip

    # -- steps ------------------------------------------------------------------------

    def _already_analysed(self, reference: Analysis | None, content: str) -> Skip | None:
        """A skip when the last analysis stands: same text, or edits are not re-analysed."""
        if reference is None:
            return None
        if reference.content_sha256 == content:
            return Skip("analysed", "it was analysed and has not changed since")
        if not self._reanalyze:
            return Skip("analysed", "it was analysed (github.issues.reanalyze_on_edit is off)")
        return None

    def _edit_allowed(self, posted: Analysis | None, content: str) -> bool:
        """Re-analysis edits only a comment this database posted, of older content."""
        return self._reanalyze and posted is not None and posted.content_sha256 != content

    def _ask(self, stored: StoredIssue) -> tuple[str, str, str]:
        """(prompt, the model's answer, the comment body)."""
        prompt = self._template.render(stored)
        answer = self._model.generate(prompt)
        # No candidates are given to the model yet: every reference it makes is written inert.
        rules = dataclasses.replace(self._output, repository=stored.repository.full_name)
        body = format_comment(self._model.name, answer, self._max_chars, stored.full_name, rules)
        return prompt, answer, body

    def _record(
        self,
        stored: StoredIssue,
        prompt: str,
        content: str,
        body: str,
        *,
        done_job_id: int | None = None,
    ) -> Analysis:
        """Store an analysis, not (yet) posted; with ``done_job_id`` its job is done too."""
        return self._store.add_analysis(
            stored.id,
            model=self._model.name,
            prompt_sha256=sha256(prompt),
            content_sha256=content,
            body=body,
            done_job_id=done_job_id,
        )

    def _preview(self, stored: StoredIssue) -> AnalysisResult:
        prompt, answer, body = self._ask(stored)
        self._record(stored, prompt, content_sha256(stored.issue), body)
        return AnalysisResult(
            Result.PREVIEW,
            issue=stored.full_name,
            action="preview",
            prompt=prompt,
            answer=answer,
            body=body,
        )

    def _adopt(
        self, stored: StoredIssue, latest: Analysis, marker: Comment, job_id: int | None
    ) -> AnalysisResult:
        """The comment of an analysis stored but not marked posted (a crash in between)."""
        self._store.mark_analysis_posted(latest.id, marker.github_id, done_job_id=job_id)
        logger.info(
            "explained %s (comment %d was posted before a restart)",
            stored.full_name,
            marker.github_id,
        )
        return AnalysisResult(
            Result.POSTED, issue=stored.full_name, action="adopted", comment_id=marker.github_id
        )

    def _skipped(self, stored: StoredIssue, skip: Skip, job_id: int | None) -> AnalysisResult:
        if job_id is not None:
            self._store.delete_job(job_id)
        logger.debug("skipped %s: %s", stored.full_name, skip.reason)
        return AnalysisResult(Result.SKIPPED, issue=stored.full_name, action="skipped", skip=skip)


class _IssueLocks:
    """One lock per issue being analysed, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[int, tuple[threading.Lock, list[int]]] = {}

    @contextmanager
    def hold(self, issue_id: int) -> Iterator[None]:
        with self._guard:
            # threading.Lock is looked up now: under gevent's monkey-patching it cooperates.
            lock, users = self._locks.setdefault(issue_id, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users[0] -= 1
                if not users[0]:
                    del self._locks[issue_id]


_ISSUE_LOCKS = _IssueLocks()
"""Shared by every :class:`Analyst` of the process (the explainer's and the operator's)."""


def _posted_before(latest: Analysis | None, marker: Comment) -> TypeGuard[Analysis]:
    """True when ``marker`` is ``latest``, stored but not marked posted (a crash in between)."""
    return latest is not None and not latest.posted and latest.body == marker.body


def _marker_comment(comments: list[Comment], posted: Analysis | None) -> Comment | None:
    """autosolve's comment: the one this database posted if it is there, else any marker."""
    markers = [comment for comment in comments if MARKER in comment.body]
    if posted is not None and posted.comment_id is not None:
        for comment in markers:
            if comment.github_id == posted.comment_id:
                return comment
    return markers[0] if markers else None
