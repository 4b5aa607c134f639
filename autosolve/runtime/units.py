"""What the supervisor runs: named units of work."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from autosolve.runtime.kinds import UnitKind

if TYPE_CHECKING:
    from autosolve.runtime.context import WorkContext

__all__ = ["Unit", "UnitGroup", "WorkFunc", "checked_groups", "tick_allowance"]

WorkFunc = Callable[["WorkContext"], None]
"""A unit's work: called with a context; raising means the run failed."""


@dataclass(frozen=True, slots=True)
class Unit:
    """A named piece of work: one-shot when ``interval`` is None, else periodic.

    Slotted: a million units cost 72 bytes each instead of 250 (no ``__dict__``).
    """

    name: str
    work: WorkFunc
    interval: float | None = None
    """Seconds between tick starts (fixed rate); None for a one-shot preflight."""
    deadline: float | None = None
    """Seconds a tick may run before it is cancelled; None = ``runtime.tick_deadline``."""

    @property
    def kind(self) -> UnitKind:
        return _PREFLIGHT if self.interval is None else _WORKER

    def __post_init__(self) -> None:
        for field in ("interval", "deadline"):
            value = getattr(self, field)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"{self.name}: `{field}` must be finite and greater than 0")


_PREFLIGHT, _WORKER = UnitKind.PREFLIGHT, UnitKind.WORKER
"""Read once: an enum member costs a quarter of a microsecond per lookup."""

UnitGroup = tuple[Sequence[Unit], Sequence[Unit]]
"""``(preflights, workers)`` of one group to add (see :meth:`RuntimeHandle.add_groups`)."""


def checked_groups(
    groups: Sequence[UnitGroup],
) -> list[tuple[tuple[Unit, ...], tuple[Unit, ...]]]:
    """``groups`` as tuples, once each group's preflights are seen to be one-shot units and
    its workers interval ones.

    Raises:
        TypeError: one is not a :class:`Unit`.
        ValueError: one is of the other kind.
    """
    checked = [(tuple(preflights), tuple(workers)) for preflights, workers in groups]
    for preflights, workers in checked:
        for unit, kind in [*((p, _PREFLIGHT) for p in preflights),
                           *((w, _WORKER) for w in workers)]:  # fmt: skip
            if not isinstance(unit, Unit):
                raise TypeError(f"not a Unit: {unit!r}")
            if unit.kind is not kind:
                raise ValueError(f"{unit.name}: a {unit.kind} given as a {kind}")
    return checked


def tick_allowance(deadline: float | None, tick_deadline: float, interval: float | None) -> float:
    """Seconds one tick may run: the unit's own ``deadline``, else ``tick_deadline``
    (``runtime.tick_deadline``) when set, else 10 × the interval, at least 60 s (a
    preflight, without interval: 60 s)."""
    if deadline is not None:
        return deadline
    if tick_deadline > 0:
        return tick_deadline
    return 60.0 if interval is None else max(60.0, 10.0 * interval)
