"""Modules: each brings a tenant type, its preflights, its workers and its storage.

A module is the cluster of components around one tenant type (the seed's
"module system"): the repository module (:mod:`.repository`: a repository's
validator, poller and relay, the analysis, the mirror's tables) and the
organisation module (:mod:`.organization`: the repository discoverer of each
organisation and of a GitHub App's installations). The application loads an
explicit list of them (:data:`autosolve.daemon.build.MODULES`); each module's
planner maps the settings to its tenants and its tenants to units, and the
Scheduler runs what they plan, module after module.

Adding a per-repository worker is one domain file and one line in
:meth:`.repository.RepositoryModule.workers`.
"""

from __future__ import annotations

from autosolve.schedule.modules.base import Module
from autosolve.schedule.modules.organization import OrganizationModule
from autosolve.schedule.modules.repository import RepositoryModule

__all__ = ["Module", "OrganizationModule", "RepositoryModule"]
