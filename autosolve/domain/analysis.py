"""One analysis of one issue: decide, ask the model, post or edit, label, record.

Shared by the issue explainer (queued jobs, gated by the filters; jobs a
maintainer's command asked for) and the operator's ``explain`` (one issue
now, whatever the filters say).

Only autosolve's own comments count: a comment is autosolve's when it
starts with :data:`~autosolve.domain.comment.MARKER` *and* was written by
autosolve's account (:class:`~autosolve.domain.identity.Identity`). A marker
in anyone else's comment means nothing, and no one else's comment is ever
edited.

Exactly-once posting: the comment mirror (``comments``, kept by the comment
poller) says whether an issue has autosolve's comment, so a steady-state
analysis costs GitHub one request (the ``POST``; one more when labels are
applied). The analysis is stored *before* it is posted and marked posted
(with the job deleted) in one transaction *after*; a crash in between leaves
a stored, unposted analysis. Only then — the mirror may lag behind what was
posted — and before the repository's comments were first mirrored to the end
(the first start: the explainer may come before the comment poller) are the
issue's comments read from GitHub: a comment of autosolve's
whose body matches that analysis exactly is adopted instead of posting a
second one. A comment autosolve posted is known by its id in ``analyses``
even before the mirror has it.

Re-analysis edits autosolve's own comment (``PATCH``), never a second one
(one deleted meanwhile is posted anew); the content hash (title and body)
stored with each analysis decides whether an issue changed since it was
analysed. Labels are added at most once per analysis (recorded with it).

Two analyses of the same issue never overlap in one process (an issue edited
while its job runs gets a second job, which a concurrent worker could take,
and an operator's ``explain`` may come at any time): each holds the issue's
lock from reading its state to recording the comment, so the second one sees
what the first one did.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, TypeGuard

from autosolve.domain.answer import ANSWER_SCHEMA, Answer, PlainAnswer, parse_answer
from autosolve.domain.comment import (
    MARKER,
    Labels,
    content_sha256,
    possibly_related,
    render_comment,
    sha256,
)
from autosolve.domain.events import TriageEvent, TriageObserver, notify
from autosolve.domain.gate import AnalysisGate, Skip
from autosolve.domain.grounding import (
    Grounds,
    History,
    NoRelatedIssues,
    RelatedIssues,
    thread_for_prompt,
)
from autosolve.domain.label_policy import LabelPolicy
from autosolve.domain.postable import OutputRules
from autosolve.infra.comment import Comment
from autosolve.infra.github import NotFoundError

if TYPE_CHECKING:
    from autosolve.domain.identity import Identity
    from autosolve.domain.prompt import PromptTemplate
    from autosolve.infra.github import GitHubClient
    from autosolve.infra.model import Model
    from autosolve.infra.store import Analysis, Store, StoredIssue
    from autosolve.runtime import WorkContext

__all__ = ["AnalysisOptions", "AnalysisResult", "Analyst", "Mode", "Result"]

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
    REQUESTED = "requested"
    """A job a maintainer's command asked for: no filters; autosolve's comment is edited."""
    FORCED = "forced"
    """An operator's ``explain``: no filters; autosolve's comment is edited."""
    PREVIEW = "preview"
    """An operator's "try": prompt and answer only; nothing read from or sent to GitHub."""


_JOBS = (Mode.QUEUED, Mode.REQUESTED)
"""The modes of a queued job: a crash may have left its analysis posted, not recorded."""


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


@dataclass(frozen=True)
class AnalysisOptions:
    """``[analysis]`` and ``github.issues.reanalyze_on_edit``, as the analysis applies them."""

    dry_run: bool = False
    """Analyse and store, post nothing."""
    reanalyze_on_edit: bool = False
    """A changed title or body re-runs the model and edits autosolve's comment."""
    max_comment_chars: int = 60000
    """Longer answers are cut (see :func:`~autosolve.domain.comment.render_comment`)."""
    allow_images: bool = False
    max_mentions: int = 0
    structured: bool = True
    """Ask for :data:`~autosolve.domain.answer.ANSWER_SCHEMA`; other answers are plain text."""
    related: int = 5
    """Candidate issues asked of :class:`RelatedIssues` (0 = none)."""
    labels: LabelPolicy = field(default_factory=LabelPolicy)


@dataclass(frozen=True)
class _Said:
    """What the model said about an issue, and the comment it makes."""

    prompt: str
    text: str
    """The model's raw answer."""
    answer: Answer
    body: str
    related: tuple[int, ...]
    labels: tuple[str, ...]


class Analyst:
    """Turns a stored issue into at most one marker comment (or an edit of it).

    Args:
        github, model, store: the infrastructure.
        gate: the ``[github.issues]`` filters.
        template: the prompt template.
        identity: the account autosolve posts as; only its comments are autosolve's.
        related: finds the candidate issues shown to the model (none by default).
        options: what ``[analysis]`` says.
        observer: told of :class:`~autosolve.domain.events.TriageEvent` (metrics).
    """

    def __init__(
        self,
        github: GitHubClient,
        model: Model,
        store: Store,
        *,
        gate: AnalysisGate,
        template: PromptTemplate,
        identity: Identity,
        related: RelatedIssues | None = None,
        options: AnalysisOptions | None = None,
        observer: TriageObserver | None = None,
    ) -> None:
        self._github = github
        self._model = model
        self._store = store
        self._gate = gate
        self._template = template
        self._identity = identity
        self._related = related or NoRelatedIssues()
        self._options = options or AnalysisOptions()
        self._observer = observer

    @property
    def dry_run(self) -> bool:
        """Whether analyses are only stored (``analysis.dry_run``)."""
        return self._options.dry_run

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
        login = self._identity.login()
        crash_window = latest is not None and not latest.posted and not self.dry_run
        unmirrored = not self._store.comments_mirrored(stored.repository.id)
        thread = self._thread(stored, from_github=crash_window or unmirrored)
        own = _own_comment(thread, login, posted)
        if own is not None and mode in _JOBS and _posted_before(latest, own):
            return self._adopt(stored, latest, own, job_id)
        if own is not None and mode is Mode.QUEUED and not self._edit_allowed(posted, content):
            skip = Skip("marker", "it already has autosolve's comment")
            return self._skipped(stored, skip, job_id)
        if ctx is not None:
            ctx.raise_if_cancelled()
        said = self._ask(stored, thread_for_prompt(thread, login))
        if ctx is not None:
            ctx.raise_if_cancelled()
        if self.dry_run:
            self._record(stored, said, content, done_job_id=job_id)
            logger.info("analysed %s (dry run: not posted)", stored.full_name)
            return AnalysisResult(
                Result.DRY_RUN, stored.full_name, "dry_run", prompt=said.prompt,
                answer=said.text, body=said.body,
            )  # fmt: skip
        pending = self._record(stored, said, content)
        comment, action = self._post(stored, own, said.body)
        self._apply_labels(stored, pending)
        self._store.mark_analysis_posted(pending.id, comment.github_id, done_job_id=job_id)
        logger.info("explained %s (%s comment %d)", stored.full_name, action, comment.github_id)
        return AnalysisResult(
            Result.POSTED, stored.full_name, action, comment_id=comment.github_id,
            prompt=said.prompt, answer=said.text, body=said.body,
        )  # fmt: skip

    # -- steps ------------------------------------------------------------------------

    def _already_analysed(self, reference: Analysis | None, content: str) -> Skip | None:
        """A skip when the last analysis stands: same text, or edits are not re-analysed."""
        if reference is None:
            return None
        if reference.content_sha256 == content:
            return Skip("analysed", "it was analysed and has not changed since")
        if not self._options.reanalyze_on_edit:
            return Skip("analysed", "it was analysed (github.issues.reanalyze_on_edit is off)")
        return None

    def _edit_allowed(self, posted: Analysis | None, content: str) -> bool:
        """Re-analysis edits only a comment this database posted, of older content."""
        reanalyze = self._options.reanalyze_on_edit
        return reanalyze and posted is not None and posted.content_sha256 != content

    def _thread(self, stored: StoredIssue, *, from_github: bool) -> list[Comment]:
        """The issue's comments: from the mirror, or from GitHub in the crash window."""
        if from_github:
            repository = stored.repository
            return self._github.list_comments(
                repository.owner, repository.name, stored.issue.number
            )
        return self._store.issue_comments(stored.repository.id, stored.issue.number)

    def _ask(self, stored: StoredIssue, thread: Sequence[Comment]) -> _Said:
        """Ground the prompt, ask the model, and make the comment of its answer."""
        options = self._options
        grounds = self._grounds(stored, thread)
        prompt = self._template.render(stored, grounds)
        text, answer = self._answer(stored, prompt)
        picked = grounds.suggested_labels if isinstance(answer, PlainAnswer) else answer.labels
        labels = options.labels.keep(picked, grounds.repository_labels)
        rules = OutputRules(
            repository=stored.repository.full_name, candidates=grounds.candidates,
            allow_images=options.allow_images, max_mentions=options.max_mentions,
        )  # fmt: skip
        body = render_comment(
            self._model.name, answer, max_chars=options.max_comment_chars,
            subject=stored.full_name, rules=rules,
            labels=Labels(labels, applied=options.labels.apply),
        )  # fmt: skip
        return _Said(prompt, text, answer, body, possibly_related(answer, rules), labels)

    def _grounds(self, stored: StoredIssue, thread: Sequence[Comment]) -> Grounds:
        limit = self._options.related
        history = self._related.history(stored, limit) if limit else History()
        labels = self._store.repository_labels(stored.repository.id)
        return Grounds(history.candidates[:limit], tuple(thread),
                       tuple(label.name for label in labels), history.labels)  # fmt: skip

    def _answer(self, stored: StoredIssue, prompt: str) -> tuple[str, Answer]:
        """The model's raw answer, and the answer it is used as."""
        if not self._options.structured:
            text = self._model.generate(prompt)
            return text, PlainAnswer(text)
        text = self._model.generate(prompt, ANSWER_SCHEMA)
        answer = parse_answer(text)
        if isinstance(answer, PlainAnswer):
            logger.info(
                "%s: the model's answer is not the structured answer asked for (%s); "
                "used as plain text", stored.full_name, (answer.reason or "")[:200],
            )  # fmt: skip
            notify(self._observer, TriageEvent.UNSTRUCTURED_ANSWER)
        return text, answer

    def _record(
        self, stored: StoredIssue, said: _Said, content: str, *, done_job_id: int | None = None
    ) -> Analysis:
        """Store an analysis, not (yet) posted; with ``done_job_id`` its job is done too."""
        answer = said.answer
        return self._store.add_analysis(
            stored.id,
            model=self._model.name,
            prompt_sha256=sha256(said.prompt),
            content_sha256=content,
            body=said.body,
            done_job_id=done_job_id,
            summary=None if isinstance(answer, PlainAnswer) else answer.summary,
            related=said.related,
            labels=said.labels,
        )

    def _post(self, stored: StoredIssue, own: Comment | None, body: str) -> tuple[Comment, str]:
        """Edit autosolve's comment, or post one (also when it was deleted meanwhile)."""
        owner, name = stored.repository.owner, stored.repository.name
        if own is not None:
            try:
                return self._github.edit_comment(owner, name, own.github_id, body), "edited"
            except NotFoundError:
                logger.info("%s: autosolve's comment %d is gone; posting a new one",
                            stored.full_name, own.github_id)  # fmt: skip
        return self._github.create_comment(owner, name, stored.issue.number, body), "posted"

    def _apply_labels(self, stored: StoredIssue, analysis: Analysis) -> None:
        """Add the kept labels the issue lacks (``analysis.labels.apply``), once per analysis."""
        if not self._options.labels.apply or analysis.labels_applied is not None:
            return
        has = {label.casefold() for label in stored.issue.labels}
        missing = [label for label in analysis.labels if label.casefold() not in has]
        if missing:
            repository = stored.repository
            self._github.add_labels(repository.owner, repository.name, stored.issue.number,
                                    missing)  # fmt: skip
            logger.info("labelled %s: %s", stored.full_name, ", ".join(missing))
        self._store.mark_labels_applied(analysis.id, missing)

    def _preview(self, stored: StoredIssue) -> AnalysisResult:
        thread = self._thread(stored, from_github=False)
        # GitHub is not asked even who autosolve is: the identity learned at start will do.
        said = self._ask(stored, thread_for_prompt(thread, self._store.identity()))
        self._record(stored, said, content_sha256(stored.issue))
        return AnalysisResult(
            Result.PREVIEW,
            issue=stored.full_name,
            action="preview",
            prompt=said.prompt,
            answer=said.text,
            body=said.body,
        )

    def _adopt(
        self, stored: StoredIssue, latest: Analysis, own: Comment, job_id: int | None
    ) -> AnalysisResult:
        """The comment of an analysis stored but not marked posted (a crash in between)."""
        self._apply_labels(stored, latest)
        self._store.mark_analysis_posted(latest.id, own.github_id, done_job_id=job_id)
        logger.info(
            "explained %s (comment %d was posted before a restart)",
            stored.full_name,
            own.github_id,
        )
        return AnalysisResult(
            Result.POSTED, issue=stored.full_name, action="adopted", comment_id=own.github_id
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


def _posted_before(latest: Analysis | None, own: Comment) -> TypeGuard[Analysis]:
    """True when ``own`` is ``latest``, stored but not marked posted (a crash in between)."""
    return latest is not None and not latest.posted and latest.body == own.body


def _own_comment(comments: list[Comment], login: str, posted: Analysis | None) -> Comment | None:
    """autosolve's comment on the issue: the one this database posted, else any of its own.

    A comment is autosolve's when ``login`` wrote it and it starts with the
    marker. The one recorded as posted stays autosolve's while the mirror
    does not show it yet (only if it shows someone else's comment under
    that id is the record wrong).
    """
    mine = [c for c in comments if c.written_by(login) and c.body.startswith(MARKER)]
    if posted is not None and posted.comment_id is not None:
        recorded = posted.comment_id
        for comment in mine:
            if comment.github_id == recorded:
                return comment
        if all(comment.github_id != recorded for comment in comments):
            return Comment(github_id=recorded, body=posted.body, author_login=login)
    return mine[0] if mine else None
