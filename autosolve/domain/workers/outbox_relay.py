"""Moves a repository's new-issue events into the job queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autosolve.domain.spec import RepoTenant, WorkerSpec
from autosolve.domain.ticks import half_spent
from autosolve.infra.store import DEFAULT_RELAY_BATCH

if TYPE_CHECKING:
    from autosolve.infra.store import Store
    from autosolve.runtime import WorkContext

__all__ = ["OutboxRelay"]


class OutboxRelay:
    """Relays pending outbox events in batches; each batch is one transaction.

    The poller writes events in the same transaction as the issues, so an
    issue is never stored without its event; the relay's enqueue-and-ack in
    one transaction means an event is never lost nor queued twice.
    """

    def __init__(self, store: Store, interval: float) -> None:
        self._store = store
        self._interval = interval

    def task_spec(self) -> WorkerSpec[RepoTenant]:
        return WorkerSpec(resource="outbox-relay", interval=self._interval, work=self.relay)

    def relay(self, ctx: WorkContext, tenant: RepoTenant) -> None:
        repository_id = tenant.repository_id
        assert repository_id is not None, "the Planner resolves the repository id"
        while not ctx.cancelled:
            if self._store.relay_outbox(repository_id, DEFAULT_RELAY_BATCH) < DEFAULT_RELAY_BATCH:
                return
            if half_spent(ctx):
                return  # a long backlog goes on at the next tick
