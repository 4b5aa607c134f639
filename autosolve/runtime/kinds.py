"""The two kinds of unit, in a module of their own.

Units, restart policies and status records all speak of a unit's kind; kept
here, below all three, none of them has to import another to say it.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["UnitKind"]


class UnitKind(StrEnum):
    """The phase a unit runs in, which also picks its restart policies."""

    PREFLIGHT = "preflight"
    WORKER = "worker"
