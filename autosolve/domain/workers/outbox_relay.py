"""Moves a repository's new-issue events into the job queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from autosolve.domain.spec import RepoTenant, WorkerSpec
from autosolve.domain.ticks import half_spent
from autosolve.infra.store import DEFAULT_RELAY_BATCH

if TYPE_CHECKING:
    from autosolve.infra.store import Store
    from autosolve.runtime import WorkContext

__all__ = ["RESOURCE", "OutboxRelay"]

RESOURCE = "outbox-relay"


class OutboxRelay:
    """Relays pending outbox events in batches; each batch is one transaction.

    The poller writes events in the same transaction as the issues, so an
    issue is never stored without its event; the relay's enqueue-and-ack in
    one transaction means an event is never lost nor queued twice.
    ``on_relayed`` is told how many events a tick moved (the daemon asks the
    explainer to run now instead of at its next interval).
    """

    def __init__(
        self, store: Store, interval: float, on_relayed: Callable[[int], None] | None = None
    ) -> None:
        self._store = store
        self._interval = interval
        self._on_relayed = on_relayed

    def task_spec(self) -> WorkerSpec[RepoTenant]:
        return WorkerSpec(resource=RESOURCE, interval=self._interval, work=self.relay)

    def relay(self, ctx: WorkContext, tenant: RepoTenant) -> None:
        repository_id = tenant.repository_id
        assert repository_id is not None, "the Planner resolves the repository id"
        moved = 0
        while not ctx.cancelled:
            batch = self._store.relay_outbox(repository_id, DEFAULT_RELAY_BATCH)
            moved += batch
            if batch < DEFAULT_RELAY_BATCH or half_spent(ctx):
                break  # done, or a long backlog goes on at the next tick
        if moved and self._on_relayed is not None:
            self._on_relayed(moved)
