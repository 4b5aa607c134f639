"""GitHub's webhook deliveries: what each event changes, on the poller's path.

A delivery whose signature the endpoint checked arrives here parsed, with
its event name and delivery id:

- ``ping`` is recorded and answered;
- ``issues`` (opened, edited, reopened, closed, labeled, unlabeled) and
  ``issue_comment`` carry the issue as GitHub shows it: it is stored with its
  outbox event in one transaction with the delivery's record, exactly as a
  poll stores it, so a delivery and a poll of the same change make one
  analysis. ``deleted`` and ``transferred`` issues are gone from the
  repository: the delivery is recorded, the mirror keeps its copy;
- ``installation_repositories`` and ``repository`` (created, archived,
  deleted...) change which repositories there are: the discoverers list
  again at once;
- any other event is not for autosolve.

A delivery id recorded before is a redelivery: acknowledged, and nothing
changes. Work beyond the transaction (relaying, analysing) is only asked
for, never waited on, so GitHub's 10-second answer limit is never at risk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from marshmallow import ValidationError

from autosolve.infra.github.schemas import IssueSchema

if TYPE_CHECKING:
    from autosolve.infra.store import Store

__all__ = [
    "EVENTS",
    "ISSUE_EVENTS",
    "REPOSITORY_EVENTS",
    "Outcome",
    "PayloadError",
    "WebhookHandler",
]

logger = logging.getLogger(__name__)

ISSUE_EVENTS = ("issues", "issue_comment")
REPOSITORY_EVENTS = ("installation_repositories", "repository")
EVENTS = frozenset({"ping", *ISSUE_EVENTS, *REPOSITORY_EVENTS})
"""Every event autosolve uses (GitHub App: subscribe to Issues, Issue comment,
Repository and Installation repositories)."""
GONE = ("deleted", "transferred")
"""``issues`` actions after which the issue is no longer the repository's."""

_issue_schema = IssueSchema()


class Outcome(StrEnum):
    """What a delivery did."""

    PING = "ping"
    ACCEPTED = "accepted"
    """Recorded and applied (or, for a repository autosolve does not watch, recorded)."""
    DUPLICATE = "duplicate"
    """A redelivery: nothing changed."""
    UNKNOWN = "unknown"
    """An event autosolve does not use."""


class PayloadError(ValueError):
    """A signed delivery whose payload lacks what its event must carry."""


class WebhookHandler:
    """Applies deliveries to the store and tells the daemon what to do next.

    Args:
        store: the mirror.
        watched: the local id of a watched repository (``owner/name``), or None.
        on_issues_stored: told the repository whose new or changed issues
            await relaying (the daemon asks its relay and the explainer to run now).
        on_repositories_changed: the repositories may have changed (the
            daemon asks its discoverers to list again now).
        on_delivery: every signed delivery (the pollers reconcile meanwhile).
    """

    def __init__(
        self,
        store: Store,
        *,
        watched: Callable[[str], int | None],
        on_issues_stored: Callable[[str], None],
        on_repositories_changed: Callable[[], None],
        on_delivery: Callable[[], None],
    ) -> None:
        self._store = store
        self._watched = watched
        self._on_issues_stored = on_issues_stored
        self._on_repositories_changed = on_repositories_changed
        self._on_delivery = on_delivery

    def handle(self, event: str, delivery_id: str, payload: Any) -> Outcome:
        """Apply one delivery.

        Raises:
            PayloadError: the payload lacks what the event must carry.
            StoreError: the store failed (nothing was recorded: GitHub may redeliver).
        """
        self._on_delivery()
        if event in ISSUE_EVENTS:
            return self._issue(event, delivery_id, payload)
        if event == "ping" or event in REPOSITORY_EVENTS:
            if self._store.record_delivery(delivery_id, event) is None:
                return Outcome.DUPLICATE
            if event in REPOSITORY_EVENTS:
                self._on_repositories_changed()
            return Outcome.PING if event == "ping" else Outcome.ACCEPTED
        return Outcome.UNKNOWN

    def _issue(self, event: str, delivery_id: str, payload: Any) -> Outcome:
        full_name = _field(payload, "repository", "full_name")
        repository_id = self._watched(str(full_name))
        gone = event == "issues" and _field(payload, "action") in GONE
        if repository_id is None or gone:
            stored = self._store.record_delivery(delivery_id, event)
        else:
            issue = _issue(_field(payload, "issue"))
            stored = self._store.record_delivery(delivery_id, event, repository_id, [issue])
        if stored is None:
            return Outcome.DUPLICATE
        if stored:
            self._on_issues_stored(str(full_name))
        return Outcome.ACCEPTED


def _field(payload: Any, *path: str) -> Any:
    value = payload
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise PayloadError(f"the payload has no {'.'.join(path)}")
        value = value[key]
    return value


def _issue(document: Any) -> Any:
    try:
        return _issue_schema.load(document)
    except ValidationError as error:
        raise PayloadError(f"the payload's issue is not GitHub's shape: {error.messages}") from None
