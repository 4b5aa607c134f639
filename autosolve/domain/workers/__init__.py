"""Interval tasks: the issue and comment pollers, the outbox relay, the issue explainer."""

from autosolve.domain.workers.comment_poller import CommentPoller
from autosolve.domain.workers.issue_explainer import MARKER, IssueExplainer
from autosolve.domain.workers.issue_poller import IssuePoller
from autosolve.domain.workers.outbox_relay import OutboxRelay

__all__ = ["MARKER", "CommentPoller", "IssueExplainer", "IssuePoller", "OutboxRelay"]
