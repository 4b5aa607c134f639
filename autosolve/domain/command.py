"""Which comments ask for an issue's analysis to be run again (``analysis.command``).

A comment does when its text starts with the command (``/autosolve``, then
the end of the text or white space), it is new (created at or after its
repository's watch start: a first sync never replays history), and its
author may steer autosolve: GitHub calls them ``OWNER``, ``MEMBER`` or
``COLLABORATOR`` of the repository. The same text from anyone else is
ignored (logged at DEBUG, counted).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from autosolve.domain.events import TriageEvent, TriageObserver, notify
from autosolve.infra.timestamps import is_earlier

if TYPE_CHECKING:
    from autosolve.infra.comment import Comment
    from autosolve.infra.store import RepositoryRef

__all__ = ["STEERING_ASSOCIATIONS", "CommandRule"]

logger = logging.getLogger(__name__)

STEERING_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})
"""The ``author_association`` values whose commands are followed."""


@dataclass(frozen=True)
class CommandRule:
    """``analysis.command`` applied to comments (``""`` = off)."""

    command: str = "/autosolve"
    observer: TriageObserver | None = None
    """Told of each new command comment, followed or ignored."""

    def requested(self, repository: RepositoryRef, comments: Iterable[Comment]) -> set[int]:
        """GitHub ids of the ``comments`` whose command is followed."""
        return {
            comment.github_id
            for comment in comments
            if self._asks(comment) and _new(repository, comment) and _may_steer(comment)
        }

    def report(
        self, repository: RepositoryRef, comments: Iterable[Comment], new: Iterable[int]
    ) -> None:
        """Log and count the commands among the comments just mirrored (``new``: their ids)."""
        fresh = set(new)
        for comment in comments:
            if comment.github_id in fresh and self._asks(comment) and _new(repository, comment):
                self._report(repository, comment)

    def _report(self, repository: RepositoryRef, comment: Comment) -> None:
        where = f"{repository.full_name}#{comment.issue_number}"
        by = f"{comment.author_login} ({comment.author_association})"
        if _may_steer(comment):
            logger.info("%s: analysis requested by %s (comment %d)", where, by,
                        comment.github_id)  # fmt: skip
            notify(self.observer, TriageEvent.COMMAND_ACCEPTED)
            return
        logger.debug(
            "%s: %s in comment %d ignored: %s may not ask; only %s may", where, self.command,
            comment.github_id, by, ", ".join(sorted(STEERING_ASSOCIATIONS)),
        )  # fmt: skip
        notify(self.observer, TriageEvent.COMMAND_IGNORED)

    def _asks(self, comment: Comment) -> bool:
        if not self.command:
            return False
        text = comment.body.lstrip()
        rest = text[len(self.command) :]
        return text.startswith(self.command) and (not rest or rest[0].isspace())


def _new(repository: RepositoryRef, comment: Comment) -> bool:
    """Created at or after the repository's watch start (unknown: not new)."""
    start, created = repository.watch_since, comment.created_at
    return start is not None and created is not None and not is_earlier(created, start)


def _may_steer(comment: Comment) -> bool:
    return comment.author_association.upper() in STEERING_ASSOCIATIONS
