"""What the triage tells its observer beyond a job's outcome: counted in metrics.

The observer is the composition root's (``/metrics``); domain code only says
what happened, once, and never fails because the observer did.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum

__all__ = ["TriageEvent", "TriageObserver", "notify"]

logger = logging.getLogger(__name__)


class TriageEvent(StrEnum):
    """Something worth counting that is not a job's outcome."""

    UNSTRUCTURED_ANSWER = "unstructured_answer"
    """A structured answer was asked for and something else came back (used as plain text)."""
    COMMAND_ACCEPTED = "command_accepted"
    """A maintainer's new comment asked for the analysis to be run again."""
    COMMAND_IGNORED = "command_ignored"
    """Someone else's new comment started with the command: ignored."""


TriageObserver = Callable[[TriageEvent], None]


def notify(observer: TriageObserver | None, event: TriageEvent) -> None:
    """Tell ``observer`` about ``event``; its own errors are logged, never raised."""
    if observer is None:
        return
    try:
        observer(event)
    except Exception:
        logger.exception("the triage observer failed on %s", event)
