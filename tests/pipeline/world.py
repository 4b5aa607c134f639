"""The analysis side of the pipeline without the runtime: real clients, store and fakes.

Tests build an :class:`Analyst`, an :class:`IssueExplainer` or
:class:`Operations` exactly as the registry does, over the loopback fakes and
a real SQLite file, and drive them by calling them: no actor, no timing.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autosolve.domain.analysis import Result
from autosolve.domain.workers import IssueExplainer, IssuePoller, OutboxRelay
from autosolve.infra.github import GitHubClient
from autosolve.infra.ollama import OllamaClient
from autosolve.infra.store import SQLiteStore
from autosolve.runtime import SystemClock, WorkContext
from autosolve.schedule import registry
from autosolve.settings import Settings, settings_from_mapping
from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama
from tests.pipeline.daemon import TOKEN, merge

__all__ = ["World", "context"]


def context(name: str = "worker:test") -> WorkContext:
    """A work context nobody cancels."""
    return WorkContext(name, threading.Event(), SystemClock())


@dataclass
class World:
    """Fakes, a store and the settings; the tasks are built from them on demand."""

    github: FakeGitHub
    ollama: FakeOllama
    db: Path
    overrides: dict[str, Any] = field(default_factory=dict)
    outcomes: list[Result] = field(default_factory=list)
    """What the explainer's observer was told, in order."""

    def __post_init__(self) -> None:
        self.clock = WallClock()
        """The store's clock: leases and retry delays pass when a test says so."""
        self.store = SQLiteStore(self.db, now=self.clock)
        self.store.migrate()
        self.github_client = GitHubClient(self.github.url, TOKEN, timeout=5)
        self.ollama_client = OllamaClient(self.ollama.url, "qwen2.5-coder:7b", timeout=10)

    # -- what the registry reads ---------------------------------------------------------

    @property
    def settings(self) -> Settings:
        data: dict[str, Any] = {"queue": {"visibility_timeout": 60.0, "max_attempts": 3}}
        merge(data, self.overrides)
        return settings_from_mapping(data)

    def analysis_observer(self, result: Result) -> None:
        self.outcomes.append(result)

    # -- building and running the tasks -----------------------------------------------------

    def configure(self, **sections: Any) -> World:
        merge(self.overrides, sections)
        return self

    def explainer(self) -> IssueExplainer:
        return registry.new_explainer(_Deps(self))

    def operations(self) -> Any:
        return registry.new_operations(_Deps(self))

    def validate(self, owner: str = "octo", name: str = "hello") -> int:
        """What the repository validator does: record the repository (and its watch start)."""
        return self.store.upsert_repository(self.github.repo(owner, name).github_id, owner, name)

    def sync(self, owner: str = "octo", name: str = "hello") -> None:
        """Mirror the repository and queue its issues, as the poller and the relay would."""
        from autosolve.domain.spec import RepoTenant

        tenant = RepoTenant(owner, name, self.store.repository_id(owner, name))
        IssuePoller(self.github_client, self.store, 1.0).poll(context(), tenant)
        OutboxRelay(self.store, 1.0).relay(context(), tenant)

    def close(self) -> None:
        self.store.close()


class WallClock:
    """Epoch seconds from the real clock, plus whatever the test skipped ahead."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.time() + self.skipped

    def advance(self, seconds: float) -> None:
        self.skipped += seconds


class _Deps:
    """The registry's view of a :class:`World` (see ``schedule.dependencies``)."""

    def __init__(self, world: World) -> None:
        self.settings = world.settings
        self.github = world.github_client
        self.model = world.ollama_client
        self.store = world.store
        self.analysis_observer = world.analysis_observer
