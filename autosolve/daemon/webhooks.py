"""The daemon's side of webhook deliveries: which repositories count, and what runs next.

:class:`~autosolve.domain.webhooks.WebhookHandler` applies a delivery in one
transaction; this module gives it the daemon's answers (is the repository
watched, and its local id) and turns what it reports into requests to the
runtime, sent from a thread of their own so the HTTP answer never waits on
the supervisor: the repository's relay runs now, and the explainer as soon as
a relay queued jobs (the new issue is analysed without waiting for their
intervals, and without a poll),
the discoverers list again when repositories changed, and the pollers only
reconcile while deliveries arrive.
"""

from __future__ import annotations

import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from autosolve.domain.webhooks import WebhookHandler
from autosolve.domain.workers.issue_explainer import RESOURCE as EXPLAINER
from autosolve.domain.workers.outbox_relay import RESOURCE as RELAY
from autosolve.domain.workers.repository_discoverer import RESOURCE as DISCOVERER
from autosolve.infra.store import StoreError
from autosolve.runtime import ControlError
from autosolve.schedule.modules.organization import discovered_repositories

if TYPE_CHECKING:
    from autosolve.daemon.app import App

__all__ = ["Deliveries"]

logger = logging.getLogger("autosolve")


class Deliveries:
    """Webhook deliveries for one running :class:`~autosolve.daemon.app.App`."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._runs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autosolve-webhooks")
        self.handler = WebhookHandler(
            app.deps.store,
            watched=self._watched,
            on_issues_stored=lambda repository: self._run_now(f"worker:{RELAY}:{repository}"),
            on_repositories_changed=lambda: self._run_now(f"worker:{DISCOVERER}:*"),
            on_delivery=self._delivered,
        )

    def relayed(self, moved: int) -> None:
        """A relay queued jobs: the explainer runs now rather than at its next interval."""
        self._run_now(f"worker:{EXPLAINER}")

    def deliver(self, event: str, delivery_id: str, payload: Any) -> str:
        """Apply one signed delivery; its outcome's name (see :class:`Outcome`)."""
        return self.handler.handle(event, delivery_id, payload).value

    def close(self) -> None:
        """Send nothing more to the runtime (it is stopping)."""
        self._runs.shutdown(wait=False, cancel_futures=True)

    def _watched(self, full_name: str) -> int | None:
        deps = self._app.deps
        wanted = full_name.lower()
        match = [r for r in discovered_repositories(deps) if r.lower() == wanted]
        if not match:
            return None
        owner, name = match[0].split("/", 1)
        try:
            return deps.store.repository_id(owner, name)
        except StoreError:  # not validated yet: its first poll will read the issue
            return None

    def _delivered(self) -> None:
        settings = self._app.settings
        self._app.deps.pacer.delivered(
            time.monotonic(), settings.github.webhooks.reconcile_interval
        )

    def _run_now(self, *patterns: str) -> None:
        def run() -> None:
            for pattern in patterns:
                try:
                    self._app.handle.run_now(pattern)
                except ControlError as error:  # e.g. no discoverer: nothing to list again
                    logger.debug("webhook: run-now %s: %s", pattern, error)

        with contextlib.suppress(RuntimeError):  # shut down: the run is stopping
            self._runs.submit(run)
