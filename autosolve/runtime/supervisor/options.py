"""What a supervisor is told besides its units, and how it tells how the run ended."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from autosolve.runtime.policy import Policies

if TYPE_CHECKING:
    from autosolve.runtime.classify import Classifier, Explainer
    from autosolve.runtime.context import Event
    from autosolve.runtime.events import Observer

__all__ = ["Outcome", "RunResult", "SupervisorOptions"]


@dataclass(frozen=True)
class RunResult:
    """How a run ended: ``ok`` after a requested stop, else the reason it failed."""

    ok: bool
    reason: str | None = None


@dataclass(frozen=True)
class SupervisorOptions:
    """Everything about supervision that is not the units themselves."""

    policies: Policies = field(default_factory=Policies)
    classifier: Classifier | None = None
    explainer: Explainer | None = None
    """Puts a failure in words for the restart's log line and a permanent failure's reason."""
    shutdown_timeout: float = 30.0
    """Seconds (real time) a stop waits for children; also how long a cancelled tick may take."""
    tick_deadline: float = 0.0
    """Seconds a tick may run before it is cancelled; 0 = 10 × the interval, at least 60 s."""
    max_restarts: int = 0
    """Give up after more than this many restarts within ``within_seconds``; 0 = never."""
    within_seconds: float = 60.0
    add_concurrency: int = 16
    """Children of added groups that may be starting at once (spawned, first tick not over);
    0 = no limit. A reload adding thousands then does not starve the children running."""
    freeze_collector: bool = True
    """Move the objects alive once children started out of the garbage collector's
    generations (``gc.freeze()``), so no full collection traverses the children
    (seconds at a million); undone when the run ends. A process-wide setting:
    False leaves the collector alone."""
    shutdown_hooks: Sequence[Callable[[], None]] = ()
    """Run once every child stopped or was abandoned, in order, on every way out."""
    observer: Observer | None = None
    rng: random.Random | None = None


class Outcome:
    """Where the supervisor leaves its :class:`RunResult` for whoever waits."""

    def __init__(self, done: Event) -> None:
        self._done = done
        self.result: RunResult | None = None
        self._render_final: Callable[[], dict[str, Any]] | None = None
        self._final: dict[str, Any] | None = None

    @property
    def final_status(self) -> dict[str, Any] | None:
        """The status document as the run ended, for callers who ask afterwards.

        Rendered at the first ask, not as the run ends: a document of a
        million children takes seconds, which a stop need not wait for.
        """
        if self._final is None and self._render_final is not None:
            render, self._render_final = self._render_final, None
            self._final = render()
        return self._final

    def set(self, result: RunResult, final_status: Callable[[], dict[str, Any]]) -> None:
        """The run ended with ``result``; ``final_status`` renders its last document."""
        self._render_final = final_status
        self.result = result
        self._done.set()

    def wait(self, timeout: float | None = None) -> RunResult | None:
        self._done.wait(timeout)
        return self.result
