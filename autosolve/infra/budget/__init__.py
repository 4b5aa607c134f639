"""GitHub's secondary rate limits as one budget: points, writes and concurrency.

:class:`RequestBudget` queues requests until they fit; the window
bookkeeping sits behind :class:`Ledger` (:class:`MemoryLedger` for one
daemon, a database-backed one for several sharing a token).
"""

from autosolve.infra.budget.budget import (
    WRITE_POINTS,
    BudgetClosedError,
    BudgetExceededError,
    BudgetStats,
    Permit,
    RequestBudget,
    is_write,
    points_of,
)
from autosolve.infra.budget.ledger import (
    BudgetLimits,
    Ledger,
    MemoryLedger,
    Reservation,
)

__all__ = [
    "WRITE_POINTS",
    "BudgetClosedError",
    "BudgetExceededError",
    "BudgetLimits",
    "BudgetStats",
    "Ledger",
    "MemoryLedger",
    "Permit",
    "RequestBudget",
    "Reservation",
    "is_write",
    "points_of",
]
