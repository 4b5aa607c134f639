"""A generic supervised actor runtime on pykka.

It runs named units in two phases (one-shot preflights, then interval
workers), restarts failed children with delays chosen by a classifier and
per-phase policies, and answers control messages. It knows nothing of the
application that uses it.
"""

from __future__ import annotations

from autosolve.runtime.backends.names import Backend
from autosolve.runtime.capabilities import Retryable, ServicePressure, WaitHinted
from autosolve.runtime.classify import Classification, Classifier, classify
from autosolve.runtime.clock import Clock, ManualClock, SystemClock
from autosolve.runtime.context import Cancelled, WorkContext
from autosolve.runtime.events import EventKind, Failure, Observer, RuntimeEvent
from autosolve.runtime.handle import ControlError, RuntimeHandle, start_runtime
from autosolve.runtime.lateness import LATENESS_BUCKETS
from autosolve.runtime.policy import Category, PhasePolicies, Policies, RestartPolicy
from autosolve.runtime.status import ChildState, Phase
from autosolve.runtime.supervisor import RunResult, SupervisorOptions
from autosolve.runtime.units import Unit, UnitKind, WorkFunc

__all__ = [
    "LATENESS_BUCKETS",
    "Backend",
    "Cancelled",
    "Category",
    "ChildState",
    "Classification",
    "Classifier",
    "Clock",
    "ControlError",
    "EventKind",
    "Failure",
    "ManualClock",
    "Observer",
    "Phase",
    "PhasePolicies",
    "Policies",
    "RestartPolicy",
    "Retryable",
    "RunResult",
    "RuntimeEvent",
    "RuntimeHandle",
    "ServicePressure",
    "SupervisorOptions",
    "SystemClock",
    "Unit",
    "UnitKind",
    "WaitHinted",
    "WorkContext",
    "WorkFunc",
    "classify",
    "start_runtime",
]
