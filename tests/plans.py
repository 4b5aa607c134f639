"""What the daemon plans for given settings, so tests compute unit counts instead of pinning them.

The plan is built the way ``check`` builds it (nothing opened, no request
made): adding a per-repository worker changes these answers, and the tests
that use them follow.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from autosolve.daemon.build import build_scheduler
from autosolve.daemon.dependencies import AppDependencies
from autosolve.schedule.scheduler import GLOBAL, Plan
from autosolve.settings import Settings, load_settings

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["global_units", "plan_of", "planned_units", "repository_units"]


def plan_of(settings: Settings) -> Plan:
    """The plan the daemon makes of ``settings`` at start."""
    return build_scheduler(settings, AppDependencies(settings)).plan()


def repository_units(settings: Settings, repository: str) -> list[str]:
    """The names of one repository's units (preflights first) under ``settings``."""
    github = dataclasses.replace(settings.github, repositories=(repository,))
    return list(plan_of(dataclasses.replace(settings, github=github)).groups[repository])


def global_units(settings: Settings) -> list[str]:
    """The names of the global workers under ``settings``."""
    return list(plan_of(settings).groups.get(GLOBAL, ()))


def planned_units(settings_file: Path) -> int:
    """How many units a daemon started with ``settings_file`` runs at start."""
    return len(plan_of(load_settings(settings_file)).names)
