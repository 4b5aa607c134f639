"""The request budget's ledger on PostgreSQL: one budget for every daemon sharing a token.

Implements :class:`autosolve.infra.budget.Ledger` with the same answers as
:class:`~autosolve.infra.budget.MemoryLedger`, entry for entry, but the
entries live in ``budget_entries`` so that several daemons (one GitHub token)
stay together under GitHub's secondary limits.

A reservation is one call of the database function ``budget_reserve``
(cluster migration 2), a settlement one of ``budget_settle``: one round trip,
all or nothing, holding the lock of the ``budget_totals`` row for the
function's run only, so no window is overdrawn however many daemons reserve
at once, and they queue on the lock briefly. The
totals are kept running, so a reservation touches only the entries that left
a window since the previous one; the window is scanned only to say how long
a refused request must wait.

Entries are stamped on the database server's clock, the one clock every
daemon of the cluster shares (the leases use it too): a daemon's own clock,
stepped or set wrong, changes nothing, and the waits a reservation answers
with are durations the daemon measures on its monotonic clock. Tests drive
time by hand instead (``server_clock=False``: the callers' ``at``). An entry
is never stamped earlier than the newest one, so a server clock stepping
back only makes the ledger err on the long side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autosolve.infra.budget import BudgetLimits, Reservation

from .cluster import moment

if TYPE_CHECKING:
    from .connection import PostgresDatabase

__all__ = ["PostgresLedger"]

_MOMENT = moment("%s")
"""The moment of a reservation: the caller's reading, else the server's clock."""


class PostgresLedger:
    """A :class:`~autosolve.infra.budget.Ledger` in the shared database.

    Args:
        database: the open, migrated database (the store's pool).
        limits: the budget; every daemon sharing the database must use the same.
        server_clock: stamp entries on the database server's clock, ignoring
            the ``at`` of each call (production); False: on the callers' ``at``
            (tests that move time by hand).
        credential: whose budget it is (GitHub counts per credential): ``""``
            for the token, ``installation:N`` for a GitHub App's installation.
    """

    def __init__(
        self,
        database: PostgresDatabase,
        limits: BudgetLimits,
        credential: str = "",
        *,
        server_clock: bool = True,
    ) -> None:
        self._database = database
        self.limits = limits
        self.credential = credential
        self._server_clock = server_clock

    def reserve(self, points: int, write: bool, at: float) -> Reservation:
        """Record the request at ``at`` if it fits every window; else how long until it would.

        Raises:
            ValueError: ``points`` can never fit.
            StoreError: the database failed (nothing was recorded).
        """
        limits = self.limits
        if not 1 <= points <= limits.points_per_minute:
            raise ValueError(
                f"a request of {points} points can never fit a budget of "
                f"{limits.points_per_minute} points"
            )
        with self._database.connection() as connection:  # autocommit: one statement
            row = connection.execute(
                "SELECT points_wait, writes_wait, entry "
                f"FROM budget_reserve(%s, %s, %s, {_MOMENT}, %s, %s, %s, %s, %s)",
                (
                    self.credential,
                    points,
                    write,
                    self._reading(at),
                    limits.points_per_minute,
                    limits.writes_per_minute,
                    limits.writes_per_hour,
                    limits.span,
                    limits.long_span,
                ),
            ).fetchone()
        assert row is not None
        points_wait, writes_wait, entry = row
        if entry is None:
            return Reservation(float(points_wait), float(writes_wait))
        return Reservation(0.0, 0.0, entry=(int(entry), points, write))

    def settle(self, entry: Any, at: float) -> None:
        """The request recorded as ``entry`` got its answer at ``at``: count it from then on.

        Raises:
            StoreError: the database failed.
        """
        entry_id, points, write = entry
        with self._database.connection() as connection:  # autocommit: one statement
            connection.execute(
                f"SELECT budget_settle(%s, %s, %s, %s, {_MOMENT})",
                (self.credential, entry_id, points, write, self._reading(at)),
            )

    def _reading(self, at: float) -> float | None:
        """The time to stamp with: ``at``, or None for the server's clock."""
        return None if self._server_clock else at

    def __repr__(self) -> str:
        return f"PostgresLedger({self._database.name}, {self.credential!r}, {self.limits!r})"
