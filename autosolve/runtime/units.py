"""What the supervisor runs: named units of work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autosolve.runtime.context import WorkContext

__all__ = ["Unit", "WorkFunc"]

WorkFunc = Callable[["WorkContext"], None]
"""A unit's work: called with a context; raising means the run failed."""


@dataclass(frozen=True)
class Unit:
    """A named piece of work: one-shot when ``interval`` is None, else periodic."""

    name: str
    work: WorkFunc
    interval: float | None = None
    """Seconds between tick starts (fixed rate); None for a one-shot preflight."""

    @property
    def kind(self) -> str:
        return "preflight" if self.interval is None else "worker"

    def __post_init__(self) -> None:
        if self.interval is not None and self.interval <= 0:
            raise ValueError(f"{self.name}: `interval` must be greater than 0")
