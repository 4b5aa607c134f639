"""Errors that only the PostgreSQL store raises; all are :class:`StoreError`.

Messages name the database by a redacted URL (never its password) and say
what to do about the problem.
"""

from __future__ import annotations

from autosolve.infra.store.errors import StoreError

__all__ = ["DatabaseUnavailableError", "LeaseLostError"]


class DatabaseUnavailableError(StoreError):
    """The server cannot be reached or refused the connection for now.

    Declares itself retryable (see :mod:`autosolve.runtime.capabilities`): a
    restarting or overloaded database server comes back, so the failing unit
    is retried with the *service* policy instead of being degraded.
    """

    def is_retryable(self) -> bool:
        return True


class LeaseLostError(StoreError):
    """A write for a repository this node no longer holds the lease of: fenced off.

    The write was rolled back. Another node took the repository over (this
    node was paused or cut off past its lease), so the unit must stop; the
    lease keeper does that on its next heartbeat.
    """

    def __init__(self, repository: str, node: str) -> None:
        super().__init__(
            f"write for repository {repository} refused: node {node} does not hold its lease "
            "(it expired or another node took it over); nothing was written"
        )
        self.repository = repository
        """``owner/name`` (or ``id N``) of the repository the write was for."""
        self.node = node
        """The node that attempted the write."""
