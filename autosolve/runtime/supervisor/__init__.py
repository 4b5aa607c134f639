"""The supervisor: one actor, composed of parts with one responsibility each.

See :mod:`.behaviour` for the actor and the list of its parts.
"""

from __future__ import annotations

from autosolve.runtime.supervisor.behaviour import SupervisorBehaviour, supervisor_actor_class
from autosolve.runtime.supervisor.options import Outcome, RunResult, SupervisorOptions

__all__ = [
    "Outcome",
    "RunResult",
    "SupervisorBehaviour",
    "SupervisorOptions",
    "supervisor_actor_class",
]
