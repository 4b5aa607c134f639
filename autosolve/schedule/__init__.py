"""The application layer: contracts, Planner, registry and Scheduler (the seed's design)."""

from __future__ import annotations

from autosolve.schedule.classifier import infra_classifier
from autosolve.schedule.contracts import GlobalWorker, Preflight, Worker
from autosolve.schedule.planner import Planner
from autosolve.schedule.scheduler import Plan, Scheduler

__all__ = [
    "GlobalWorker",
    "Plan",
    "Planner",
    "Preflight",
    "Scheduler",
    "Worker",
    "infra_classifier",
]
