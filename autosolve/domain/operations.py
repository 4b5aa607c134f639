"""What an operator can ask of a running daemon about analyses and jobs, in-process.

The control socket, ``ctl``, the REPL and the HTTP endpoint all call these
functions and send back the documents they return. Every method answers a
JSON-ready ``dict``; mistakes (an unknown repository, issue or job, a
malformed reference) raise :class:`OperationError` with a message meant for
the operator, never anything else the caller would have to interpret.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from autosolve.domain.analysis import Mode
from autosolve.domain.comment import EmptyAnswerError
from autosolve.domain.related import IndexedHistory
from autosolve.infra.store import UnknownIssueError, UnknownJobError, UnknownRepositoryError

if TYPE_CHECKING:
    from autosolve.domain.analysis import Analyst
    from autosolve.infra.store import DeadJob, Store, StoredIssue

__all__ = ["RECENT_DEAD_JOBS", "SIMILAR_SHOWN", "OperationError", "Operations",
           "parse_issue_reference"]  # fmt: skip

RECENT_DEAD_JOBS = 20
"""How many dead jobs :meth:`Operations.jobs` lists."""
SIMILAR_SHOWN = 10
"""How many related issues and labels :meth:`Operations.similar` shows unless told."""

_REFERENCE = re.compile(
    r"^(?P<owner>[A-Za-z0-9][A-Za-z0-9-]*)/(?P<name>[A-Za-z0-9._-]+)#(?P<number>[0-9]{1,10})$"
)


class OperationError(Exception):
    """An operator request that cannot be done; the message says why."""


def parse_issue_reference(reference: str) -> tuple[str, str, int]:
    """``"octo/hello#12"`` → ``("octo", "hello", 12)``.

    Raises:
        OperationError: ``reference`` is not ``OWNER/NAME#NUMBER``.
    """
    match = _REFERENCE.match(reference.strip()) if isinstance(reference, str) else None
    if match is None or int(match["number"]) < 1:
        raise OperationError(
            f"{reference!r} is not an issue reference; write OWNER/NAME#NUMBER, e.g. octo/hello#12"
        )
    return match["owner"], match["name"], int(match["number"])


class Operations:
    """``explain``, ``similar``, ``jobs`` and ``retry-dead`` over the analysis and the store.

    Args:
        history: the related-issues search the analyses use (by default one
            over ``store`` counting its own term statistics).
    """

    def __init__(
        self, analyst: Analyst, store: Store, history: IndexedHistory | None = None
    ) -> None:
        self._analyst = analyst
        self._store = store
        self._history = history or IndexedHistory(store)

    def explain(self, reference: str, *, post: bool = True) -> dict[str, Any]:
        """Analyse one issue now, whatever the filters say.

        With ``post`` (``ctl explain``) the analysis is posted, or autosolve's
        existing marker comment edited — never a second comment; in a dry run
        it is only stored. Without ``post`` (a "try" button) only the prompt,
        the answer and the comment it would be are returned (and stored);
        GitHub is not touched.

        Returns:
            ``{"issue", "result", "action", "comment_id"?, "prompt"?, "answer"?, "body"?}``.

        Raises:
            OperationError: a malformed reference, an unknown repository or issue,
                or an empty answer from the model.
            Exception: GitHub's or the model's own errors, as they are (an
                outage is not the operator's mistake).
        """
        stored = self._find(reference)
        try:
            result = self._analyst.analyse(stored, mode=Mode.FORCED if post else Mode.PREVIEW)
        except EmptyAnswerError as error:
            raise OperationError(str(error)) from None
        document = result.to_dict()
        if post:  # the operator knows what they asked; the prompt is for the "try" view
            document.pop("prompt", None)
        return document

    def similar(self, reference: str, limit: int = SIMILAR_SHOWN) -> dict[str, Any]:
        """The earlier issues of the repository most like a mirrored issue, with their
        scores, and the labels their history suggests: what an analysis of it is shown.

        Returns:
            ``{"issue", "related": [{"number", "title", "state", "score", "text_score",
            "labels"}, ...], "labels": [{"name", "share"}, ...]}``, best first.

        Raises:
            OperationError: a malformed reference, an unknown repository or issue.
        """
        return self._history.similar(self._find(reference)).to_dict(limit)

    def _find(self, reference: str) -> StoredIssue:
        """The mirrored issue ``OWNER/NAME#N``."""
        owner, name, number = parse_issue_reference(reference)
        try:
            return self._store.find_issue(owner, name, number)
        except (UnknownRepositoryError, UnknownIssueError) as error:
            raise OperationError(str(error)) from None

    def jobs(self) -> dict[str, Any]:
        """Counts of ready, in-flight and dead jobs, and the most recent dead jobs.

        Returns:
            ``{"ready", "in_flight", "dead", "recent_dead": [{"id", "payload",
            "receive_count", "reason", "dead_at"}, ...]}``, newest first.
        """
        summary = self._store.jobs_summary(RECENT_DEAD_JOBS)
        return {
            "ready": summary.ready,
            "in_flight": summary.in_flight,
            "dead": summary.dead,
            "recent_dead": [_dead_job(job) for job in summary.recent_dead],
        }

    def retry_dead(self, which: int | str) -> dict[str, Any]:
        """Move dead job ``which`` (an id, or ``"all"``) back to the queue.

        Returns:
            ``{"retried": [ids]}``.

        Raises:
            OperationError: ``which`` is neither a job id nor ``"all"``, or no
                dead job has that id.
        """
        if which == "all":
            job_id = None
        elif isinstance(which, int) and not isinstance(which, bool) and which >= 1:
            job_id = which
        elif isinstance(which, str) and which.isdigit() and int(which) >= 1:
            job_id = int(which)
        else:
            raise OperationError(f"{which!r} is not a dead job id (see `ctl jobs`) or 'all'")
        try:
            return {"retried": self._store.retry_dead_jobs(job_id)}
        except UnknownJobError as error:
            raise OperationError(str(error)) from None


def _dead_job(job: DeadJob) -> dict[str, Any]:
    return {
        "id": job.job_id,
        "payload": job.payload,
        "receive_count": job.receive_count,
        "reason": job.reason,
        "dead_at": job.dead_at,
    }
