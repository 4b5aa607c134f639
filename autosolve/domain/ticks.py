"""How a task that loops over many items shares its tick with its deadline.

A tick cancelled at its deadline counts as a failure (the runtime's guard
against hung work), so a long catch-up must not run into it: the poller and
the relay stop taking new items once half their tick's allowance is spent,
and go on from where they stopped at their next tick. The other half is the
margin for the item in progress (a page with its budget wait).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autosolve.runtime import WorkContext

__all__ = ["half_spent"]


def half_spent(ctx: WorkContext) -> bool:
    """True once less than half of the tick's allowance is left."""
    allowance = ctx.allowance
    return allowance is not None and ctx.time_left() < allowance / 2
