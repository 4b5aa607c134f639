"""A throwaway per-repository worker, added the way README "Adding a task" says.

Step one is this domain file: a class whose ``task_spec()`` returns a
:class:`WorkerSpec`. Step two is one line in the repository module's
``workers`` list; :func:`with_noop_worker` makes exactly that one-line change
(the module with one more line) for the duration of a test, so the
daemon-level tests can run with it and prove that nothing else needs to change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from autosolve.daemon import build
from autosolve.domain.spec import RepoTenant, WorkerSpec
from autosolve.runtime import WorkContext
from autosolve.schedule.modules import RepositoryModule

RESOURCE = "noop"


class NoOp:
    """Does nothing, every outbox-relay interval, per repository."""

    def __init__(self, interval: float) -> None:
        self._interval = interval

    def task_spec(self) -> WorkerSpec[RepoTenant]:
        return WorkerSpec(resource=RESOURCE, interval=self._interval, work=self.work)

    def work(self, ctx: WorkContext, tenant: RepoTenant) -> None:
        assert tenant.repository_id is not None  # the Planner resolved it, as for the others


class WithNoOp(RepositoryModule):
    """The repository module with the one line the README's step two adds."""

    def workers(self, deps: Any) -> list[Any]:
        return [*super().workers(deps), NoOp(deps.settings.intervals.outbox_relay)]


@contextmanager
def with_noop_worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The application loads the repository module with the extra line meanwhile."""
    modules = tuple(WithNoOp() if isinstance(m, RepositoryModule) else m for m in build.MODULES)
    with monkeypatch.context() as patch:
        patch.setattr(build, "MODULES", modules)
        yield
