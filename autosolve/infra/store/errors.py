"""Errors raised by the store.

Every message names the thing that is wrong (the database file, the repository,
the issue number) so an operator can act on it without reading a traceback.
None of these declare retry capabilities: a broken database is not something
a retry fixes, so the classifier treats them as unknown errors. One declares
more: :class:`DatabaseReplacedError` is *fatal* (``is_fatal()``), and the
daemon stops rather than go on without its data.
"""

from __future__ import annotations

import os

__all__ = [
    "DatabaseInUseError",
    "DatabaseReplacedError",
    "InvalidIssueError",
    "SchemaVersionError",
    "StoreClosedError",
    "StoreError",
    "UnknownIssueError",
    "UnknownJobError",
    "UnknownRepositoryError",
]


class StoreError(Exception):
    """Base class of every error the store raises on purpose."""


class UnknownRepositoryError(StoreError, LookupError):
    """A repository that was never upserted was asked for.

    Usually the repository-validator preflight has not run for it yet, or the
    configured name does not match the one stored.
    """

    def __init__(self, repository: str) -> None:
        super().__init__(
            f"unknown repository {repository}: it is not in the store "
            "(repositories are stored when they are validated at start-up)"
        )
        self.repository = repository
        """``owner/name`` or ``id N``: how the caller referred to the repository."""


class UnknownIssueError(StoreError, LookupError):
    """An issue that is not in the local mirror was asked for."""

    def __init__(self, repository: str, number: int) -> None:
        super().__init__(
            f"issue {repository}#{number} is not in the local mirror: check the number, or "
            "wait for the issue poller to fetch it"
        )
        self.repository = repository
        """``owner/name`` of the repository."""
        self.number = number


class UnknownJobError(StoreError, LookupError):
    """A dead job that does not exist was asked for."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"no dead job with id {job_id} (`ctl jobs` lists them)")
        self.job_id = job_id


class InvalidIssueError(StoreError, ValueError):
    """An issue of a page could not be stored; nothing of the page was written."""

    def __init__(self, repository: str, number: object, reason: str) -> None:
        super().__init__(
            f"cannot store issue #{number} of {repository}: {reason}; "
            "the whole page and its cursor were rolled back"
        )
        self.repository = repository
        """``owner/name`` of the repository the page belongs to."""
        self.number = number
        """The offending issue's number, as given."""


class SchemaVersionError(StoreError):
    """The database was migrated by a newer autosolve than this one."""


class StoreClosedError(StoreError):
    """The store was used after :meth:`Store.close`."""


class DatabaseInUseError(StoreError):
    """Another autosolve daemon holds the single-instance lock of the database."""

    def __init__(self, path: str | os.PathLike[str], pid: int | None) -> None:
        if pid is None:
            holder = "pid unknown"
        elif pid == os.getpid():
            holder = f"pid {pid}, this very process"
        else:
            holder = f"pid {pid}"
        super().__init__(
            f"database {os.fspath(path)} is already used by another autosolve daemon ({holder})"
        )
        self.path = os.fspath(path)
        """The database file whose lock is held."""
        self.pid = pid
        """Process id written by the holder, or ``None`` when it could not be read."""


class DatabaseReplacedError(StoreError):
    """The database file was deleted or replaced while the store had it open.

    Whatever the store wrote from then on would go into a file nobody can
    open again (an unlinked inode), and what it reads is no longer what is
    on disk: no retry can help, so the error declares itself fatal and the
    daemon stops (exit 1) instead of running on without its history.
    """

    def __init__(self, path: str) -> None:
        super().__init__(
            f"database file {path} was removed or replaced while autosolve had it open; "
            "stopping so that nothing is written into a file that is gone (restore the file, "
            "or start again to begin a new database)"
        )
        self.path = path
        """The database file, as configured."""

    def is_fatal(self) -> bool:
        """Always: a restart of the failing task would meet the same missing file."""
        return True
