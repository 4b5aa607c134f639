"""A generic supervised actor runtime on pykka.

It runs named units in two phases (one-shot preflights, then interval
workers), restarts failed children with delays chosen by a classifier and
per-phase policies, and answers control messages. It knows nothing of the
application that uses it.
"""

from __future__ import annotations

from autosolve.runtime.capabilities import Retryable, ServicePressure, WaitHinted
from autosolve.runtime.classify import Classification, Classifier, classify
from autosolve.runtime.clock import Clock, ManualClock, SystemClock
from autosolve.runtime.context import Cancelled, WorkContext
from autosolve.runtime.handle import ControlError, RuntimeHandle, start_runtime
from autosolve.runtime.policy import Category, PhasePolicies, Policies, RestartPolicy
from autosolve.runtime.supervisor import RunResult, RuntimeEvent, SupervisorOptions
from autosolve.runtime.units import Unit, WorkFunc

__all__ = [
    "Cancelled",
    "Category",
    "Classification",
    "Classifier",
    "Clock",
    "ControlError",
    "ManualClock",
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
    "WaitHinted",
    "WorkContext",
    "WorkFunc",
    "classify",
    "start_runtime",
]
