"""Drains the job queue: each job is one issue to analyse (see :mod:`..analysis`)."""

from __future__ import annotations

import contextvars
import logging
import threading
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from autosolve.domain.analysis import Mode, Result
from autosolve.domain.comment import MARKER, EmptyAnswerError
from autosolve.domain.spec import GlobalWorkerSpec
from autosolve.infra.github import NotFoundError, UnprocessableError

if TYPE_CHECKING:
    from autosolve.domain.analysis import Analyst
    from autosolve.infra.store import Job, Store, StoredIssue
    from autosolve.runtime import WorkContext

__all__ = ["JOB_FAULTS", "MARKER", "RESOURCE", "IssueExplainer"]

RESOURCE = "issue-explainer"

logger = logging.getLogger(__name__)

JOB_FAULTS: tuple[type[BaseException], ...] = (
    UnprocessableError,  # GitHub refused this comment (422)
    NotFoundError,  # the issue is gone or moved
    EmptyAnswerError,  # the model had nothing to say about this issue
)
"""Failures caused by the job itself: they spend one of its ``queue.max_attempts``."""


class _JobPayload(Schema):
    class Meta:
        unknown = RAISE

    repository_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    number = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    # A maintainer's command asked for the analysis, whether or not the issue changed.
    requested = fields.Boolean(load_default=False, truthy={True}, falsy={False})


_JOB_PAYLOAD = _JobPayload()
"""Built once and shared by the explainer's threads (``load`` leaves it unchanged): a
schema built per job deep-copies its fields, 3/4 of the cost of reading a payload,
30 µs for each of the 20,000 jobs of an initial sync."""


class IssueExplainer:
    """Takes jobs until the queue is empty or the stop begins, ``concurrency`` at a time.

    How a failed job is handled depends on whose fault it is:

    * the job's own (:data:`JOB_FAULTS`; a malformed payload is dead-lettered
      at once): the job spends an attempt and stays hidden until its lease
      ends (``queue.visibility_timeout``), the tick goes on with other jobs;
      after ``queue.max_attempts`` such failures it is dead-lettered;
    * an outage (``is_outage``: GitHub or the model unreachable, 5xx, rate
      limits): the job is released *without* spending an attempt, the tick
      ends and the error goes to the runtime, whose backoff keeps the worker
      from hammering the service — an outage of any length dead-letters nothing;
    * anything else: the attempt is spent, the tick ends and the error goes to
      the runtime (degraded policy), so a configuration problem shows in status.

    Args:
        analyst: does the analysis of one issue.
        store: the job queue and the mirror.
        interval: seconds between ticks (``intervals.issue_explainer``).
        visibility_timeout: a received job's lease (``queue.visibility_timeout``).
        max_attempts: ``queue.max_attempts``.
        concurrency: jobs (model requests) in flight at once (``analysis.concurrency``).
            Extra jobs run on threads, which are greenlets when the daemon runs
            monkey-patched on the gevent backend.
        is_outage: True for errors that are a service's trouble, not the job's.
        observer: called with the :class:`Result` of each job once
            (``POSTED``, ``SKIPPED``, ``FAILED`` or ``DRY_RUN``; from the thread
            that ran the job); its own errors are logged, never raised.
        job_allowance: seconds one job may take at most (a model request and a
            few GitHub requests, with their waits). A tick takes no new job once
            less than this is left before its deadline, and declares a deadline
            of twice this: one analysis may take up to ``ollama.timeout``, far
            longer than a 2 s interval's default deadline. None = the runtime's.
    """

    def __init__(
        self,
        analyst: Analyst,
        store: Store,
        *,
        interval: float,
        visibility_timeout: float,
        max_attempts: int,
        concurrency: int = 1,
        is_outage: Callable[[BaseException], bool],
        observer: Callable[[Result], None] | None = None,
        job_allowance: float | None = None,
    ) -> None:
        self._analyst = analyst
        self._store = store
        self._interval = interval
        self._visibility_timeout = visibility_timeout
        self._max_attempts = max_attempts
        self._concurrency = max(1, concurrency)
        self._is_outage = is_outage
        self._observer = observer
        self._job_allowance = job_allowance
        self.skipped: Counter[str] = Counter()
        """Skips by reason code since start (``before_watch_start``, ``state``, …)."""
        self._count_lock = threading.Lock()

    def task_spec(self) -> GlobalWorkerSpec:
        deadline = None if self._job_allowance is None else 2 * self._job_allowance
        return GlobalWorkerSpec(
            resource=RESOURCE, interval=self._interval, work=self.run, deadline=deadline
        )

    def run(self, ctx: WorkContext) -> None:
        """One tick: drain the queue.

        Raises:
            Exception: the first outage or unexpected error; in-flight jobs
                finish first, jobs not yet taken stay queued.
        """
        first = None if ctx.cancelled else self._receive()
        if first is None:
            return
        stop = threading.Event()
        errors: list[BaseException] = []
        helpers = [
            threading.Thread(
                target=contextvars.copy_context().run,
                args=(self._drain, ctx, None, stop, errors),
                name=f"issue-explainer-{n}",
                daemon=True,
            )
            for n in range(1, self._concurrency)
        ]
        for helper in helpers:
            helper.start()
        self._drain(ctx, first, stop, errors)
        for helper in helpers:
            helper.join()
        if errors:
            raise errors[0]

    # -- one worker's loop ---------------------------------------------------------------

    def _drain(
        self,
        ctx: WorkContext,
        job: Job | None,
        stop: threading.Event,
        errors: list[BaseException],
    ) -> None:
        while True:
            if ctx.cancelled or stop.is_set():
                if job is not None:  # taken, not started: back it goes, attempt unspent
                    self._store.release_job(job.id, "not started: stopping", spend_attempt=False)
                return
            if job is None:
                if not self._time_for_another_job(ctx):
                    return  # the next tick goes on with the queue
                job = self._receive()
                if job is None:
                    return
            try:
                self._process(ctx, job)
            except BaseException as error:
                errors.append(error)
                stop.set()
                return
            job = None

    def _time_for_another_job(self, ctx: WorkContext) -> bool:
        """Whether a job taken now can finish before the tick's deadline."""
        allowance = self._job_allowance
        return allowance is None or ctx.time_left() >= allowance

    def _receive(self) -> Job | None:
        return self._store.receive_job(self._visibility_timeout, self._max_attempts)

    def _process(self, ctx: WorkContext, job: Job) -> None:
        """Analyse one job's issue; raise only what should end the tick."""
        loaded = self._load(job)
        if loaded is None:
            return
        stored, mode = loaded
        try:
            outcome = self._analyst.analyse(stored, mode=mode, job_id=job.id, ctx=ctx)
        except JOB_FAULTS as error:
            self._job_failed(job, stored, error)
            return
        except BaseException as error:
            # A stop is nobody's fault either: the job simply waits for the next run.
            blameless = ctx.cancelled or self._is_outage(error)
            self._fail(job, error, spend_attempt=not blameless)
            raise
        if outcome.skip is not None:
            with self._count_lock:
                self.skipped[outcome.skip.code] += 1
        self._notify(outcome.result)

    def _job_failed(self, job: Job, stored: StoredIssue, error: BaseException) -> None:
        """The job's own fault: retried after its lease time, dead after the last attempt."""
        if job.attempts >= self._max_attempts:
            self._dead(job, f"exhausted after {job.attempts} attempts: {_describe(error)}")
            return
        self._fail(job, error, spend_attempt=True, delay=self._visibility_timeout)
        logger.warning(
            "job %d (%s) failed, attempt %d of %d; retried in %g s: %s",
            job.id, stored.full_name, job.attempts, self._max_attempts,
            self._visibility_timeout, _describe(error),
        )  # fmt: skip

    def _fail(
        self, job: Job, error: BaseException, *, spend_attempt: bool, delay: float = 0.0
    ) -> None:
        self._store.release_job(job.id, _describe(error), delay, spend_attempt=spend_attempt)
        self._notify(Result.FAILED)

    def _load(self, job: Job) -> tuple[StoredIssue, Mode] | None:
        """The job's issue and how to analyse it, or None after dead-lettering a job that
        cannot be done."""
        try:
            payload = _JOB_PAYLOAD.load(job.payload if job.payload is not None else {})
        except ValidationError as error:
            self._dead(job, f"malformed job payload {job.raw_payload[:200]!r}: {error.messages}")
            return None
        stored = self._store.get_issue(payload["repository_id"], payload["number"])
        if stored is None:
            number, repository_id = payload["number"], payload["repository_id"]
            self._dead(job, f"issue #{number} of repository {repository_id} is not in the store")
            return None
        return stored, Mode.REQUESTED if payload["requested"] else Mode.QUEUED

    def _dead(self, job: Job, reason: str) -> None:
        logger.error("job %d dead-lettered: %s", job.id, reason)
        self._store.dead_letter(job.id, reason)
        self._notify(Result.FAILED)

    def _notify(self, result: Result) -> None:
        if self._observer is None:
            return
        try:
            self._observer(result)
        except Exception:
            logger.exception("the issue explainer's observer failed")


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
