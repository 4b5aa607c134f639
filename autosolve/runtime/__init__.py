"""A generic supervised actor runtime on pykka.

It runs named units in two phases (one-shot preflights, then interval
workers), restarts failed children with delays chosen by a classifier and
per-phase policies, and answers control messages. It knows nothing of the
application that uses it.

This package is the runtime's face: code outside it imports from here only,
never from its modules (a test holds the application to that). What is here:

Running
    :func:`start_runtime` starts a supervisor for :class:`Unit` objects (a
    name, a :data:`WorkFunc`, an interval or none for a preflight) and returns
    a :class:`RuntimeHandle`: status, pause/resume/run-now/restart, stop and
    start of single children, adding (:data:`UnitGroup`) and removing units,
    the run's :class:`RunResult`. :class:`SupervisorOptions` holds everything
    else; a request the supervisor refuses raises :class:`ControlError`.
    :class:`Backend` names the two execution backends (threads or greenlets);
    an :class:`ExecutionBackend` is one of them, ready to use, and
    :func:`get_backend` makes one by name (its ``actor_class`` is a plain
    pykka actor class of that backend: pykka has none for gevent).

Work
    A work function gets a :class:`WorkContext` (cancellation, tick facts,
    ``set_interval``, ``set_progress``); :class:`Cancelled` is what
    ``raise_if_cancelled`` raises. :data:`CURRENT_UNIT` and
    :data:`CURRENT_CONTEXT` tell code below a work function which child it
    runs for (log records, an HTTP client telling the status what it waits for).

Failures
    :func:`classify` turns an error into a :class:`Classification` (a
    :class:`Category` and a wait hint), asking an application's
    :data:`Classifier` after the runtime's own transport rules; errors may
    instead declare :class:`WaitHinted`, :class:`ServicePressure`,
    :class:`Retryable` or :class:`Fatal` (a classification may be permanent
    whatever the policy). An application's :data:`Explainer` puts failures
    in its own words in the log and in a run's failure reason.
    :class:`Policies` maps a :class:`UnitKind` and a category to a
    :class:`RestartPolicy` (per phase: :class:`PhasePolicies`).

Watching
    An :data:`Observer` gets every :class:`RuntimeEvent` (an :class:`EventKind`;
    details :class:`Failure`, :class:`GroupChange`, a :class:`Phase`). The
    status document lists one record per child in a :class:`ChildState`;
    :class:`ChildRecord` is such a record before it is rendered. Tick lateness
    is a :class:`FixedHistogram` over :data:`LATENESS_BUCKETS`, read as a
    :data:`LatenessSnapshot`.

Time
    :class:`Clock` is what the runtime reads time from: :class:`SystemClock`,
    or a :class:`ManualClock` that tests move by hand.
"""

from __future__ import annotations

from autosolve.runtime.backends import Backend, ExecutionBackend, get_backend
from autosolve.runtime.capabilities import Fatal, Retryable, ServicePressure, WaitHinted
from autosolve.runtime.classify import Classification, Classifier, Explainer, classify
from autosolve.runtime.clock import Clock, ManualClock, SystemClock
from autosolve.runtime.context import CURRENT_CONTEXT, CURRENT_UNIT, Cancelled, WorkContext
from autosolve.runtime.events import EventKind, Failure, GroupChange, Observer, RuntimeEvent
from autosolve.runtime.handle import ControlError, RuntimeHandle, start_runtime
from autosolve.runtime.kinds import UnitKind
from autosolve.runtime.lateness import LATENESS_BUCKETS, FixedHistogram, LatenessSnapshot
from autosolve.runtime.policy import Category, PhasePolicies, Policies, RestartPolicy
from autosolve.runtime.status import ChildRecord, ChildState, Phase
from autosolve.runtime.supervisor import RunResult, SupervisorOptions
from autosolve.runtime.units import Unit, UnitGroup, WorkFunc

__all__ = [
    "CURRENT_CONTEXT",
    "CURRENT_UNIT",
    "LATENESS_BUCKETS",
    "Backend",
    "Cancelled",
    "Category",
    "ChildRecord",
    "ChildState",
    "Classification",
    "Classifier",
    "Clock",
    "ControlError",
    "EventKind",
    "ExecutionBackend",
    "Explainer",
    "Failure",
    "Fatal",
    "FixedHistogram",
    "GroupChange",
    "LatenessSnapshot",
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
    "UnitGroup",
    "UnitKind",
    "WaitHinted",
    "WorkContext",
    "WorkFunc",
    "classify",
    "get_backend",
    "start_runtime",
]
